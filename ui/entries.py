"""What the message view shows: entries, their kinds and states, the status line.

Plain data, no pygame and no rules: ``ui.chatlog`` decides what goes in, and
``parse_own_line`` is the one piece of client-side command parsing the window keeps.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Optional, Tuple

# Entry kinds.
CHAT, ACTION, PRIVATE, NOTICE, SYSTEM, ERROR, DIVIDER = (
    "chat", "action", "private", "notice", "system", "error", "divider")
# Entry states (own lines).
SENT, PENDING, FAILED = "sent", "pending", "failed"


@dataclass(eq=False)
class Entry:
    """One item of the message view."""

    kind: str
    text: str
    sender: Optional[str] = None
    to: Optional[str] = None          # the other party of a private message
    ts: float = field(default_factory=time.time)
    seq: Optional[int] = None
    mine: bool = False
    state: str = SENT
    reason: Optional[str] = None      # why a line failed
    msg_id: Optional[str] = None
    grouped: bool = False             # continues the previous entry's sender group
    replay: bool = False
    version: int = 0                  # bumped on every in-place change
    key: Optional[Tuple[int, float]] = None  # (history epoch, seq) place; None: pending, last
    room: Optional[str] = None        # its room or "@peer" (ui/rooms.py); None: every room


@dataclass
class Status:
    """What the status bar shows."""

    state: str = "idle"               # idle, connecting, connected, reconnecting, disconnected, failed
    host: str = ""
    port: int = 0
    name: str = ""
    reason: str = ""
    rtt: Optional[float] = None
    server: str = ""
    retry_in: Optional[float] = None  # seconds to the next attempt, when reconnecting
    retry_at: Optional[float] = None  # ... and when that is (time.monotonic())
    attempt: Optional[int] = None


def parse_own_line(text: str):
    """How an outgoing line will come back: (kind, shown text, private peer) or None.

    The one prediction the window cannot avoid: the server answers your own line
    with an ``ack`` (id and seq) only, so showing it at once needs its kind. Only
    the lines that become messages are recognised (plain text, ``//``, ``/me``,
    ``/msg``/``/w``, as the server parses them); every other command returns
    ``None`` and is never predicted: its outcome (``nick``, ``system``, ``users``,
    ``error``) comes from the server.
    """
    if text.startswith("//"):
        return CHAT, text[1:], None
    if not text.startswith("/"):
        return CHAT, text, None
    command, _, rest = text.partition(" ")
    command = command.lower()
    rest = rest.strip()  # as the server does
    if command == "/me" and rest:
        return ACTION, rest, None
    if command in ("/msg", "/w"):
        peer, _, body = rest.partition(" ")
        if peer and body.strip():
            return PRIVATE, body, peer
    return None


GROUP_SECONDS = 5 * 60  # a pause longer than this starts a new header


def continues_group(previous: Optional[Entry], entry: Entry) -> bool:
    """True if ``entry`` continues ``previous``'s group: chat lines of one sender,
    minutes apart at most, share one header."""
    return bool(previous is not None and entry.kind == CHAT and previous.kind == CHAT
                and previous.sender == entry.sender
                and abs(entry.ts - previous.ts) < GROUP_SECONDS)
