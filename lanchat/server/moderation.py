"""Who may do what in a room, and its topic: ops, bans, mutes, slow mode (section 8).

``RoomModes`` is one room's state; the room's lock guards it. Every change is a stored
``mode`` event, and the state is rebuilt from those events when the server starts
(``apply``), so bans, mutes and slow mode survive a restart without a table of their
own; a ban's address, which the event must not show, is kept in the event row's
``recipient`` column. Limits end on time: each check compares with ``time.time()``
(wall-clock time, as stored), and an ended one is forgotten when it is next looked at.

Ops are sessions (so an op stays one across a rename or a resume) and live as long as
the server process; admins (``/admin``) are ops in every room and cannot be acted on.
In a group (``--redis``) the ops connected to other servers are name keys
(``remote_ops``): their sessions are not known here.
"""

from __future__ import annotations

import time
from typing import Optional

from lanchat.netaddr import is_loopback

FOREVER = 0.0  # an "until" of a limit that lasts until it is lifted


def _until(event: dict) -> float:
    seconds = event.get("seconds") or 0
    return event["ts"] + seconds if seconds else FOREVER


def _active(until: float, now: float) -> bool:
    return until == FOREVER or until > now


class RoomModes:
    """One room's ops, bans, mutes and slow mode.

    Args:
        room: the room's name (``#lobby``).
    """

    def __init__(self, room: str):
        self.room = room
        self.ops: set = set()            # session tokens
        self.remote_ops: set = set()     # name keys of ops on the group's other servers
        self.bans: dict = {}             # name key -> (until, address or None)
        self.mutes: dict = {}            # name key -> until
        self.slow = 0                    # seconds between a non-op's lines; 0 = off
        self.topic = ""
        self._last_line: dict = {}       # session token -> when its last line was taken

    def apply(self, event: dict, address: Optional[str] = None) -> None:
        """Take a stored ``mode`` or ``topic`` event into the state (live, or from
        history at start).

        ``+op``/``-op`` are not kept across a restart, so history ignores them; the
        op commands change ``ops`` themselves.
        """
        if event.get("type") == "topic":
            self.topic = str(event.get("topic") or "")
            return
        change, target = event.get("change"), event.get("target")
        key = target.casefold() if isinstance(target, str) else None
        if change == "+ban" and key:
            # A ban again (longer, shorter) keeps the address the first one recorded.
            self.bans[key] = (_until(event), address or self.bans.get(key, (0, None))[1])
        elif change == "-ban" and key:
            self.bans.pop(key, None)
        elif change == "+mute" and key:
            self.mutes[key] = _until(event)
        elif change == "-mute" and key:
            self.mutes.pop(key, None)
        elif change == "+slow":
            self.slow = int(event.get("seconds") or 0)
        elif change == "-slow":
            self.slow = 0

    def clear_ops(self) -> None:
        """The room ended: its ops, here and elsewhere, are ops no more."""
        self.ops.clear()
        self.remote_ops.clear()

    def ban_of(self, key: str, address: Optional[str]) -> Optional[float]:
        """When the ban on this name or (non-loopback) address ends (``FOREVER``), or
        None if there is none."""
        now = time.time()
        found = None
        for name, (until, banned_address) in list(self.bans.items()):
            if not _active(until, now):
                del self.bans[name]
            elif name == key or (address is not None and address == banned_address
                                 and not is_loopback(address)):
                found = until if found is None or until == FOREVER else max(found, until)
                if found == FOREVER:
                    break
        return found

    def ban_ends(self, key: str, address: Optional[str]) -> Optional[str]:
        """``ban_of`` in words ("until 14:30", "until an op lifts it"), or None."""
        until = self.ban_of(key, address)
        if until is None:
            return None
        return "until an op lifts it" if until == FOREVER else \
            "until " + time.strftime("%H:%M", time.localtime(until))

    def is_banned(self, key: str) -> bool:
        return self.ban_of(key, None) is not None

    def muted(self, key: str) -> bool:
        """True while the name is muted here."""
        until = self.mutes.get(key)
        if until is None:
            return False
        if _active(until, time.time()):
            return True
        del self.mutes[key]
        return False

    def renamed(self, old_key: str, new_key: str) -> None:
        """A muted member took another name: the mute goes with them."""
        if old_key in self.mutes:
            self.mutes[new_key] = self.mutes.pop(old_key)

    def slow_wait(self, session: str, now: float) -> float:
        """Seconds a non-op must still wait for a line under slow mode (0: it may send
        now; ``note_line`` once the line is taken starts the next wait)."""
        if not self.slow:
            return 0.0
        last = self._last_line.get(session)
        if last is not None and now - last < self.slow:
            return self.slow - (now - last)
        return 0.0

    def note_line(self, session: str, now: float) -> None:
        """A line of this session was taken: under slow mode its next wait starts."""
        if self.slow:
            self._last_line[session] = now

    def room_object(self, users: list, ops: list, me_key: str) -> dict:
        """The contract's room object for a member called ``me_key`` (its name key)."""
        return {"room": self.room, "topic": self.topic, "users": users, "ops": ops,
                "slow": self.slow, "muted": self.muted(me_key)}
