"""The chat window's view model: what to show, with no pygame in it.

Every connection event goes through ``ChatLog.apply``, which turns it into entries
(one per message or notice), keeps the user list and the connection status, and says
whether anything visible changed. The rules that decide what a user sees live here
and are unit-tested without a window:

* your own line appears at once as *pending* (``add_own``), turns normal on its
  ``ack`` (taking the ack's seq) and is marked *failed* with the server's reason on an
  ``error`` with its id;
* events replayed from history come under an "earlier messages" divider, live ones
  after a "now" divider, and an event whose seq is already shown is dropped;
* consecutive chat lines of one sender within a few minutes form a group, so the
  view prints the name and avatar once.

Entries are only ever appended (and changed in place: pending to sent or failed),
so the message view can cache their layouts by identity and ``version``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional

GROUP_SECONDS = 5 * 60  # a pause longer than this starts a new header

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


def parse_own_line(text: str):
    """How an outgoing line will come back: (kind, shown text, private peer) or None.

    ``None`` means a command with no line of its own (``/nick``, ``/who``, ``/help``...).
    """
    if text.startswith("//"):
        return CHAT, text[1:], None
    if not text.startswith("/"):
        return CHAT, text, None
    command, _, rest = text.partition(" ")
    command = command.lower()
    if command == "/me" and rest.strip():
        return ACTION, rest, None
    if command in ("/msg", "/w"):
        peer, _, body = rest.lstrip(" ").partition(" ")
        if peer and body.strip():
            return PRIVATE, body, peer
    return None


class ChatLog:
    """Entries, users and status, updated from connection events.

    Args:
        me: your name (updated from ``connected`` and your own ``nick``).
    """

    def __init__(self, me: str = ""):
        self.me = me
        self.entries: List[Entry] = []
        self.users: List[str] = []
        self.status = Status(name=me)
        self.max_text: Optional[int] = None
        self.appended = 0                 # entries ever appended (the view counts new ones)
        self.unread = 0                   # messages from others since reset_unread()
        self.users_version = 0
        self.status_version = 0
        self._seqs: set = set()
        self._own: Dict[str, Entry] = {}  # pending own lines by say id
        self._commands: set = set()       # ids of own commands without a line
        self._in_replay = False
        self._dropped = False             # a drop was announced; say when it is over

    # ------------------------------------------------------------------ own lines

    def add_own(self, msg_id: str, text: str) -> Optional[Entry]:
        """Show a line you just sent as pending; returns its entry (None for commands)."""
        parsed = parse_own_line(text)
        if parsed is None:
            self._commands.add(msg_id)
            return None
        kind, shown, peer = parsed
        self._end_replay()
        entry = Entry(kind=kind, text=shown, sender=self.me, to=peer, mine=True,
                      state=PENDING, msg_id=msg_id)
        self._own[msg_id] = entry
        self._append(entry)
        return entry

    def reset_unread(self) -> None:
        """The user has seen everything (window focused)."""
        self.unread = 0

    # ------------------------------------------------------------------ events

    def apply(self, event: dict) -> bool:
        """Apply one connection event; return True if anything visible changed."""
        handler = getattr(self, "_on_" + str(event.get("type")), None)
        if handler is None:
            return False
        return bool(handler(event))

    def _on_connecting(self, event):
        self._set_status(state="connecting", host=event.get("host", ""),
                         port=event.get("port", 0), reason="")
        return True

    def _on_connected(self, event):
        self.me = event.get("name", self.me)
        self.max_text = event.get("max_text", self.max_text)
        self._set_users(event.get("users") or [])
        self._set_status(state="connected", host=event.get("host", self.status.host),
                         port=event.get("port", self.status.port), name=self.me,
                         reason="", server=event.get("server", ""))
        if isinstance(event.get("seq"), int):
            self._seqs.add(event["seq"])
        self._in_replay = False
        if self._dropped:
            self._append(Entry(kind=NOTICE, text=f"Reconnected as {self.me}"))
            self._dropped = False
        return True

    def _on_disconnected(self, event):
        was_connected = self.status.state == "connected"
        self._set_status(state="disconnected", reason=event.get("reason", ""))
        if was_connected:
            # once per drop, in full (the status bar may have to cut it short)
            retry = " Reconnecting\u2026" if event.get("will_retry") else ""
            self._end_replay()
            self._append(Entry(kind=NOTICE, text=f"Disconnected: {event.get('reason', '')}.{retry}"))
            self._dropped = True
        return True

    def _on_reconnecting(self, event):
        delay = event.get("delay")
        reason = event.get("reason", "")
        if delay is not None:  # the delay first: the status bar may cut the end off
            attempt = event.get("attempt")
            reason = ((f"(attempt {attempt}) " if attempt else "")
                      + f"in {max(1, round(delay))} s" + (f": {reason}" if reason else ""))
        self._set_status(state="reconnecting", reason=reason)
        return True

    def _on_connect_failed(self, event):
        self._set_status(state="failed", reason=event.get("reason", ""))
        return True

    def _on_closed(self, event):
        if self.status.state == "connected":
            self._set_status(state="disconnected", reason="closed")
        return True

    def _on_pong(self, event):
        if event.get("rtt") is not None:
            self._set_status(rtt=event["rtt"])
            return True
        return False

    def _on_ack(self, event):
        msg_id = event.get("id")
        seq = event.get("seq")
        if isinstance(seq, int):
            self._seqs.add(seq)
        self._commands.discard(msg_id)
        entry = self._own.pop(msg_id, None)
        if entry is None:
            return False
        entry.state, entry.seq = SENT, seq
        entry.version += 1
        return True

    def _on_error(self, event):
        message = event.get("message") or event.get("code") or "error"
        entry = self._own.pop(event.get("id"), None) if event.get("id") else None
        if entry is not None:
            entry.state, entry.reason = FAILED, message
            entry.version += 1
            return True
        self._commands.discard(event.get("id"))
        self._end_replay()
        self._append(Entry(kind=ERROR, text=message))
        return True

    def _on_system(self, event):
        self._end_replay()
        self._append(Entry(kind=SYSTEM, text=str(event.get("text", ""))))
        return True

    def _on_users(self, event):
        self._set_users(event.get("users") or [])
        users = self.users
        self._end_replay()
        self._append(Entry(kind=SYSTEM, text=f"{len(users)} online: " + ", ".join(users)))
        return True

    def _sequenced(self, event) -> bool:
        """Divider bookkeeping and duplicate check; False if the event is a duplicate."""
        seq = event.get("seq")
        if isinstance(seq, int):
            if seq in self._seqs:
                return False
            self._seqs.add(seq)
        replay = bool(event.get("replay"))
        if replay and not self._in_replay:
            self._append(Entry(kind=DIVIDER, text="earlier messages"))
        elif not replay and self._in_replay:
            self._append(Entry(kind=DIVIDER, text="now"))
        self._in_replay = replay
        return True

    def _on_message(self, event):
        if not self._sequenced(event):
            return False
        kind = {"action": ACTION, "private": PRIVATE}.get(event.get("kind"), CHAT)
        sender = str(event.get("from", "?"))
        mine = sender == self.me
        entry = Entry(kind=kind, text=str(event.get("text", "")), sender=sender,
                      to=event.get("to"), ts=event.get("ts") or time.time(),
                      seq=event.get("seq"), mine=mine, replay=bool(event.get("replay")))
        self._append(entry)
        if not mine and not entry.replay:
            self.unread += 1
        return True

    def _on_join(self, event):
        if not self._sequenced(event):
            return False
        name = str(event.get("name", "?"))
        if not event.get("replay") and name not in self.users:
            self._set_users(self.users + [name])
        self._append(Entry(kind=NOTICE, text=f"{name} joined", sender=name,
                           ts=event.get("ts") or time.time(), seq=event.get("seq")))
        return True

    def _on_leave(self, event):
        if not self._sequenced(event):
            return False
        name = str(event.get("name", "?"))
        if not event.get("replay"):
            self._set_users([u for u in self.users if u != name])
        reason = event.get("reason")
        text = f"{name} left" + (f" ({reason})" if reason and reason != "bye" else "")
        self._append(Entry(kind=NOTICE, text=text, sender=name,
                           ts=event.get("ts") or time.time(), seq=event.get("seq")))
        return True

    def _on_nick(self, event):
        if not self._sequenced(event):
            return False
        old, new = str(event.get("old", "?")), str(event.get("new", "?"))
        if old == self.me:
            self.me = new
            self._set_status(name=new)
        if not event.get("replay"):
            self._set_users([new if u == old else u for u in self.users])
        self._append(Entry(kind=NOTICE, text=f"{old} is now known as {new}", sender=new,
                           ts=event.get("ts") or time.time(), seq=event.get("seq")))
        return True

    # ------------------------------------------------------------------ helpers

    def _end_replay(self) -> None:
        """A live entry follows replayed ones: close the replay section first."""
        if self._in_replay:
            self._append(Entry(kind=DIVIDER, text="now"))
            self._in_replay = False

    def _append(self, entry: Entry) -> None:
        previous = self.entries[-1] if self.entries else None
        entry.grouped = bool(
            previous is not None and entry.kind == CHAT and previous.kind == CHAT
            and previous.sender == entry.sender
            and abs(entry.ts - previous.ts) < GROUP_SECONDS)
        self.entries.append(entry)
        self.appended += 1

    def _set_users(self, users: List[str]) -> None:
        others = sorted((u for u in users if u != self.me), key=str.casefold)
        self.users = ([self.me] if self.me in users else []) + others
        self.users_version += 1

    def _set_status(self, **changes) -> None:
        for key, value in changes.items():
            setattr(self.status, key, value)
        self.status_version += 1
