"""Last-used connect values (host, port, name; TLS and CA file) in the config directory.

A small JSON file, ``$XDG_CONFIG_HOME/lanchat/client.json`` (``~/.config`` when the
variable is unset; ``%APPDATA%`` on Windows, ``~/Library/Application Support`` on
macOS). The password is never stored; ``tls`` and ``cafile`` are stored only when set.
A missing, unreadable or corrupt file simply
means "no remembered values": the connect screen must always open.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from typing import Dict

log = logging.getLogger("chat.ui.settings")

APP_DIR = "lanchat"
FILE_NAME = "client.json"
REMEMBERED = ("host", "port", "name", "tls", "cafile")


def config_path() -> str:
    """Where the settings file lives (the directory may not exist yet)."""
    base = os.environ.get("XDG_CONFIG_HOME")
    if not base:
        if sys.platform == "win32":
            base = os.environ.get("APPDATA") or os.path.expanduser("~")
        elif sys.platform == "darwin":
            base = os.path.expanduser("~/Library/Application Support")
        else:
            base = os.path.expanduser("~/.config")
    return os.path.join(base, APP_DIR, FILE_NAME)


def load() -> Dict[str, object]:
    """The remembered values (only known keys, right types); {} if none."""
    try:
        with open(config_path(), encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError) as exc:
        log.debug("no settings loaded: %s", exc)
        return {}
    if not isinstance(data, dict):
        return {}
    values: Dict[str, object] = {}
    if isinstance(data.get("host"), str):
        values["host"] = data["host"]
    if isinstance(data.get("port"), int) and 0 < data["port"] < 65536:
        values["port"] = data["port"]
    if isinstance(data.get("name"), str):
        values["name"] = data["name"]
    if data.get("tls") is True:
        values["tls"] = True
    if isinstance(data.get("cafile"), str) and data["cafile"]:
        values["cafile"] = data["cafile"]
    return values


def save(host: str, port: int, name: str, tls: bool = False, cafile: str = "") -> bool:
    """Remember the values; returns False (and logs) if the file cannot be written."""
    path = config_path()
    values: Dict[str, object] = {"host": host, "port": port, "name": name}
    if tls:
        values["tls"] = True
    if cafile:
        values["cafile"] = cafile
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(values, fh)
        os.replace(tmp, path)
        return True
    except OSError as exc:
        log.warning("could not save settings to %s: %s", path, exc)
        return False
