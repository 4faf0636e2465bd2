"""Names and chat text: which names are valid, when two are the same, what text is sent.

The rules of PROTOCOL.md section 4, shared by the server (which enforces them) and
the clients (which check before sending): names are 1-24 characters with no
whitespace or control characters, unique ignoring case (``name_key``), ``name_2`` for
a taken one; chat text is sent without control characters other than newline and tab
(``clean_text``, built on ``is_control``). What the window and the terminal must not
show as it is, whatever a peer sent, is ``is_unprintable``: both replace what it
matches, each in its own way.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Optional

MAX_NAME = 24
MAX_AWAY = 200  # characters of an away message (everyone sees it)
_ROOM_RE = re.compile(r"#[A-Za-z0-9_-]{1,32}")
_CONTROL_CATEGORIES = ("Cc", "Cf")


def is_control(ch: str) -> bool:
    """True for a control or format character (Cc, Cf) other than the zero-width
    joiner, which emoji sequences need."""
    return unicodedata.category(ch) in _CONTROL_CATEGORIES and ch != "\u200d"


def is_unprintable(ch: str) -> bool:
    """A C0 or C1 control character, DEL, or a lone surrogate: what a window or a
    terminal must never show as it is (the window draws U+FFFD, the terminal ``\\xNN``)."""
    code = ord(ch)
    return code < 0x20 or code == 0x7F or 0x80 <= code < 0xA0 or 0xD800 <= code < 0xE000


def clean_text(text: str) -> str:
    """Remove control characters other than newline and tab (and NUL, always)."""
    # isprintable() is False for every Cc/Cf character (and for \n, \t and ZWJ, which
    # are kept), so printable text is already clean: a C-speed check first instead of
    # a Python loop over the characters (6 us for a short line, 0.5 ms for 4000).
    if text.isprintable():
        return text
    return "".join(ch for ch in text if ch in "\n\t" or not is_control(ch))


def name_problem(name: str) -> Optional[str]:
    """Return why ``name`` is not a valid name, or None if it is."""
    if not 1 <= len(name) <= MAX_NAME:
        return f"a name is 1 to {MAX_NAME} characters"
    if name[0] in "/#*@":
        return "a name cannot start with /, #, * or @"
    for ch in name:
        if ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp", "Zs"):
            return "a name cannot contain spaces or control characters"
    return None


def name_key(name: str) -> str:
    """The key names are unique by (case is ignored)."""
    return name.casefold()


def numbered_name(base: str, number: int) -> str:
    """``base_number``, with ``base`` shortened so the result fits ``MAX_NAME``."""
    suffix = f"_{number}"
    return base[:MAX_NAME - len(suffix)] + suffix


def room_problem(room: str) -> Optional[str]:
    """Return why ``room`` is not a valid room name, or None if it is."""
    if not _ROOM_RE.fullmatch(room):
        return "a room name is # and then 1 to 32 letters, digits, - or _"
    return None


def one_line(text: str, limit: int) -> str:
    """``text`` cleaned, on one line, its spaces collapsed, cut to ``limit`` characters
    (a reason or an away message: the user's words, shown to everyone)."""
    return " ".join(clean_text(text).split())[:limit]

