"""The client's pinned server certificates (trust on first use, like SSH).

The first connection to ``host:port`` records the certificate's SHA-256 fingerprint in
``known_servers.json`` in the user's config directory; a later different fingerprint
refuses to connect with a loud message (``lanchat.tls.clientsocket``). TOFU does not
protect the very first connection; SECURITY.md says so.
"""

from __future__ import annotations

import json
import os
import re
import threading
from typing import Optional

from lanchat.tls.certificates import write_atomically

PINS_DIR = "lanchat"             # subdirectory of the user's config directory
PINS_FILE = "known_servers.json"
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


def fingerprint_hex(fp: Optional[str]) -> Optional[str]:
    """A SHA-256 fingerprint as 64 lowercase hex digits, however it is written.

    Pins are ``SHA256:AB:CD:...`` (OpenSSH style); discovery advertises the bare hex
    (PROTOCOL.md section 10 ``fp``). Both name one certificate, so they are compared in
    this form. Returns None for None, an empty string or anything that is not a
    SHA-256 fingerprint.
    """
    if not fp:
        return None
    text = fp.strip().lower()
    if text.startswith("sha256:"):
        text = text[len("sha256:"):]
    text = text.replace(":", "")
    return text if _SHA256_HEX.fullmatch(text) else None


def pin_form(fp: str) -> str:
    """A fingerprint written as the pin file writes it (``SHA256:AB:CD:...``), for
    showing two side by side; anything that is not one comes back as it was."""
    digits = fingerprint_hex(fp)
    if digits is None:
        return fp
    return "SHA256:" + ":".join(digits[i:i + 2] for i in range(0, 64, 2)).upper()


def same_fingerprint(a: Optional[str], b: Optional[str]) -> bool:
    """Whether two fingerprints (``SHA256:AB:...`` or bare hex) name one certificate."""
    ha = fingerprint_hex(a)
    return ha is not None and ha == fingerprint_hex(b)


def default_pins_path() -> str:
    """``$XDG_CONFIG_HOME/lanchat/known_servers.json`` (``~/.config`` without XDG)."""
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(base, PINS_DIR, PINS_FILE)


def server_key(host: str, port: int) -> str:
    """How a server is named in the pin file: ``host:port`` (``[v6]:port`` for IPv6)."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class PinStore:
    """The ``host:port -> fingerprint`` map in a JSON file, one server per line.

    A person may edit it (the mismatch message says to delete a line), so loading
    forgives a trailing comma left behind. A file that still cannot be read is an
    error, never an empty store: silently forgetting pins would defeat them.
    """

    _lock = threading.Lock()  # one process's windows pin one at a time

    def __init__(self, path: Optional[str] = None):
        self.path = path or default_pins_path()

    def load(self) -> dict:
        """Every pin; raises ``ValueError`` (readable) if the file is corrupt."""
        try:
            with open(self.path, "r", encoding="utf-8") as f:
                text = f.read()
        except FileNotFoundError:
            return {}
        if not text.strip():
            return {}
        try:
            pins = json.loads(re.sub(r",\s*([}\]])", r"\1", text))
        except ValueError as exc:
            raise ValueError(f"the pinned-certificate file {self.path} is damaged ({exc}); "
                             "fix it or delete it (every server is then trusted anew "
                             "on its next connection)") from None
        if not isinstance(pins, dict):
            raise ValueError(f"the pinned-certificate file {self.path} is not a JSON object; "
                             "fix it or delete it")
        return {str(k): str(v) for k, v in pins.items()}

    def get(self, key: str) -> Optional[str]:
        return self.load().get(key)

    def pin(self, key: str, fp: str) -> None:
        """Record (or replace) one pin, atomically."""
        with self._lock:
            pins = self.load()
            pins[key] = fp
            self._save(pins)

    def forget(self, key: str) -> bool:
        """Drop one pin; True if there was one."""
        with self._lock:
            pins = self.load()
            if key not in pins:
                return False
            del pins[key]
            self._save(pins)
            return True

    def _save(self, pins: dict) -> None:
        os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        text = json.dumps(dict(sorted(pins.items())), indent=1) + "\n"
        write_atomically(self.path, text.encode("utf-8"), mode=0o600)
