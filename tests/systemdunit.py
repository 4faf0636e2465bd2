"""Reading a systemd unit file the way systemd does, for the deploy/ tests.

Only what our unit uses: ``[Section]`` headers, ``Key=value`` lines, ``#`` and ``;``
comments, a trailing backslash continuing a line, and a key given more than once
(``SystemCallFilter=`` twice adds; an empty value resets, as for ``ExecStart=``).
"""

from __future__ import annotations

import shlex


def read_unit(path: str) -> dict:
    """``{(section, key): [values in order]}`` of the unit at ``path``; an empty value
    empties the list, as systemd resets a list setting."""
    settings: dict = {}
    section = None
    pending = ""
    with open(path, encoding="utf-8") as unit:
        for raw in unit:
            line = pending + raw.strip()
            pending = ""
            if line.endswith("\\"):
                pending = line[:-1] + " "
                continue
            if not line or line[0] in "#;":
                continue
            if line.startswith("[") and line.endswith("]"):
                section = line[1:-1]
                continue
            key, sep, value = line.partition("=")
            if not sep or section is None:
                raise ValueError(f"{path}: not a setting: {line!r}")
            values = settings.setdefault((section, key.strip()), [])
            if value.strip():
                values.append(value.strip())
            else:
                values.clear()
    return settings


def one(settings: dict, section: str, key: str) -> str:
    """The single value of ``key`` in ``section`` (an error if it is missing or repeated)."""
    values = settings.get((section, key), [])
    if len(values) != 1:
        raise AssertionError(f"[{section}] {key}= should be given once, is {values}")
    return values[0]


def command_line(value: str, specifiers: dict) -> list:
    """An ``ExecStart=`` value as the argv systemd runs: quotes as in a shell,
    ``%X`` specifiers replaced from ``specifiers`` (``%%`` is a percent sign)."""
    words = shlex.split(value)
    out = []
    for word in words:
        expanded, i = "", 0
        while i < len(word):
            if word[i] == "%" and i + 1 < len(word):
                code = word[i + 1]
                expanded += "%" if code == "%" else specifiers[code]
                i += 2
            else:
                expanded += word[i]
                i += 1
        out.append(expanded)
    return out


def read_environment_file(path: str) -> dict:
    """``KEY=value`` lines of a systemd ``EnvironmentFile`` (comments and blanks skipped)."""
    found = {}
    with open(path, encoding="utf-8") as env:
        for raw in env:
            line = raw.strip()
            if not line or line[0] in "#;":
                continue
            key, sep, value = line.partition("=")
            if not sep:
                raise ValueError(f"{path}: not KEY=value: {line!r}")
            found[key.strip()] = value.strip()
    return found
