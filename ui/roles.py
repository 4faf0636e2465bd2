"""Ops, admins and your moderation state in one room (#lobby unless told; PROTOCOL.md
sections 4 and 8), for the view model; no pygame. ``ui/rooms.py`` keeps one per room.

``ChatLog`` owns one ``Roles`` and feeds it; the user list reads who is an op, the
input box reads ``hint``. The rules:

* the welcome's room object is the truth at that moment: ``ops`` (connected ops and
  admins), ``muted`` (you), ``slow`` (seconds, 0 = off), and ``admin`` (you). A
  welcome without ``rooms`` (an old server) means no ops, not muted, no slow mode;
* only live ``mode`` events change it (``ChatLog`` never passes a replayed one); a
  leave takes a name out of the ops, a nick renames it;
* ops and admins are never slowed; a ``slow_mode`` error's ``retry_after`` says when
  you may send again, counted down in whole seconds.

Time is passed in (``time.monotonic`` seconds, the log's clock), so the countdown is
tested without waiting.
"""

from __future__ import annotations

import math
from typing import Optional, Set

import protocol

LOBBY = "#lobby"


class Roles:
    """Who is an op; whether you are an admin, muted, or slowed and until when."""

    def __init__(self, room: str = LOBBY):
        self.room = room                      # the room whose events count here
        self.me = ""                          # your name (admin means you)
        self.ops: Set[str] = set()
        self.admin = False
        self.muted = False
        self.slow = 0                         # slow mode's seconds (0 = off)
        self.retry_at: Optional[float] = None  # when a slowed line may be sent again
        self.topic = ""                       # the room's topic (the header shows it)
        self.version = 0                      # bumped when the ops change

    def welcome(self, event: dict) -> None:
        """A ``connected`` event (the welcome): take the room's object as it is."""
        self.me = str(event.get("name") or self.me)
        rooms = event.get("rooms")
        room = next((r for r in rooms if isinstance(r, dict) and r.get("room") == self.room),
                    None) if isinstance(rooms, list) else None
        room = room or {}
        ops = room.get("ops")
        self._set_ops({n for n in ops if isinstance(n, str)} if isinstance(ops, list) else set())
        self.admin = event.get("admin") is True
        self.muted = room.get("muted") is True
        slow = room.get("slow")
        self.slow = slow if isinstance(slow, int) and slow > 0 else 0
        self.retry_at = None
        self.topic = room.get("topic") if isinstance(room.get("topic"), str) else ""

    def apply(self, event: dict) -> bool:
        """A live ``mode`` or ``topic`` event; True if the ops changed."""
        if event.get("room", LOBBY) != self.room:
            return False
        if event.get("type") == "topic":
            self.topic = str(event.get("topic") or "")
            return False
        return self.apply_mode(event) if event.get("type") == "mode" else False

    def apply_mode(self, event: dict) -> bool:
        """A live ``mode`` event in the room; True if the ops changed."""
        if event.get("room", LOBBY) != self.room:
            return False
        change, target = event.get("change"), event.get("target")
        if change in ("+op", "-op") and isinstance(target, str):
            ops = self.ops | {target} if change == "+op" else self.ops - {target}
            return self._set_ops(ops)
        if change in ("+mute", "-mute") and target == self.me:
            self.muted = change == "+mute"
        elif change == "+slow":
            seconds = event.get("seconds")
            self.slow = seconds if isinstance(seconds, int) and seconds > 0 else 0
        elif change == "-slow":
            self.slow, self.retry_at = 0, None
        return False

    def slowed(self, event: dict, now: float) -> None:
        """An ``error``: if it is ``slow_mode``, remember when the next line may go."""
        if event.get("code") != protocol.SLOW_MODE or event.get("room", LOBBY) != self.room:
            return
        retry = event.get("retry_after")
        if isinstance(retry, (int, float)) and retry > 0:
            self.retry_at = now + retry

    def renamed(self, old: str, new: str) -> None:
        """A live ``nick``: an op stays an op under the new name (you stay you)."""
        if old == self.me:
            self.me = new
        if old in self.ops:
            self._set_ops((self.ops - {old}) | {new})

    def gone(self, name: str) -> None:
        """A live ``leave``: not an op here any more."""
        if name in self.ops:
            self._set_ops(self.ops - {name})

    def is_op(self, name: str) -> bool:
        """Whether ``name`` is an op (an admin is one too)."""
        return name in self.ops or (self.admin and name == self.me)

    def hint(self, me: str, now: float) -> str:
        """What the input box says about sending for ``me`` ("" when nothing holds
        you back; an op is neither muted nor slowed)."""
        if self.is_op(me):
            return ""
        if self.muted:
            return f"You are muted in {self.room}"
        if not self.slow:
            return ""
        text = f"Slow mode: one line every {self.slow} s"
        if self.retry_at is not None and self.retry_at > now:
            text += f" (next in {math.ceil(self.retry_at - now)} s)"
        return text

    def next_change_in(self, now: float) -> Optional[float]:
        """Seconds until the countdown's text changes (None when nothing counts down)."""
        if self.retry_at is None or self.retry_at <= now or self.muted or not self.slow:
            return None
        left = self.retry_at - now
        return max(0.0, left - math.floor(left - 1e-9)) or 1.0

    def _set_ops(self, ops: Set[str]) -> bool:
        if ops == self.ops:
            return False
        self.ops = ops
        self.version += 1
        return True
