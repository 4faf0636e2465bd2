"""What the window tells the server about you: that you are typing, and auto-away.

The chat screen reports every change of the input box (``edited``), every key or
click (``input_activity``) and every line sent (``submitted``); ``update`` runs once a
frame and ``next_wake_in`` tells the loop when something falls due, so nothing here
needs a timer or a thread. No pygame: the clock and the two ways out (``send`` for
lines, ``typing`` for typing frames) are passed in, and tests drive it directly.

* Typing follows ``lanchat.client.typingsender`` (the IRCv3 timings). The target is
  what the line would become (``entries.parse_own_line``): a message or ``/me`` goes to
  the room, ``/msg NAME text`` privately to NAME, and any other command announces
  nothing (someone typing ``/nick`` is not writing to anyone).
* Auto-away: after ``AUTO_AWAY_AFTER`` (10 minutes) without a key or a click while
  connected and not already away, the window says ``/away idle``; the next key says
  ``/back``. Only then: an away the user set (``/away lunch``) is theirs to end. Both
  lines' ids go into the log's ``quiet_ids``, so an old server's refusal of a command
  the user never typed is not shown as an error.
"""

from __future__ import annotations

import math
from typing import Callable, List, Optional

from lanchat.client.typingsender import Frame, Target, TypingSender
from ui.chatlog import ChatLog
from ui.roles import LOBBY
from ui.entries import PRIVATE, parse_own_line

AUTO_AWAY_AFTER = 10 * 60.0   # seconds without input before the window sets you away
AUTO_AWAY_MESSAGE = "idle"    # reads well in "* alice is away: idle" and in the list


def typing_target(text: str, room: str = LOBBY) -> Optional[Target]:
    """Where the input's text would go when typed in ``room`` (the current room, or an
    ``@peer`` conversation): ("room", ROOM), ("to", NAME), or None (empty, blank, or
    a command that is not a message)."""
    if not text.strip():
        return None
    parsed = parse_own_line(text)
    if parsed is None:
        return None
    kind, _, peer = parsed
    if kind == PRIVATE and peer:
        return ("to", peer)
    return ("to", room[1:]) if room.startswith("@") else ("room", room)


class PresenceSender:
    """Typing frames and auto-away for one chat screen.

    Args:
        log: the view model (your name, the connection state, who is away).
        send: ``send(text) -> id``: a line to the server (``ChatConnection.say``).
        typing: ``typing(state, room=..., to=...)`` (``ChatConnection.typing``), or
            None for a connection without it (then no typing frames are sent).
        clock: the log's clock (``time.monotonic`` unless a test gave its own).
        idle_after: seconds without input before auto-away.
    """

    def __init__(self, log: ChatLog, send: Callable[[str], str],
                 typing: Optional[Callable[..., None]] = None,
                 clock: Optional[Callable[[], float]] = None,
                 idle_after: float = AUTO_AWAY_AFTER):
        self.log = log
        self.send = send
        self.typing = typing
        self.clock = clock or log.clock
        self.idle_after = idle_after
        self.sender = TypingSender()
        self.last_input = self.clock()
        self.auto_away = False   # the window set you away, and may set you back

    def edited(self, text: str) -> None:
        """The input box now holds ``text`` (after a key, a paste, a send, a clear)."""
        self._typing(self.sender.edited(typing_target(text, self.log.rooms.current),
                                         self.clock()))

    def input_activity(self, key: bool) -> None:
        """A key (``key``) or a click: not idle; a key ends an auto-away."""
        self.last_input = self.clock()
        if key and self.auto_away:
            self.auto_away = False
            self._say("/back")

    def submitted(self, text: str) -> None:
        """A line the user sent: their own ``/away`` or ``/back`` takes over from auto-away."""
        if text.strip().split(" ", 1)[0].lower() in ("/away", "/back"):
            self.auto_away = False

    def update(self) -> None:
        """Once a frame: send what fell due (an ``active`` refresh, ``paused``, auto-away)."""
        now = self.clock()
        self._typing(self.sender.poll(now))
        if self._may_go_away() and now - self.last_input >= self.idle_after:
            self.auto_away = True
            self._say(f"/away {AUTO_AWAY_MESSAGE}")

    def next_wake_in(self) -> float:
        """Seconds until ``update`` has something to do (``math.inf`` if nothing)."""
        now = self.clock()
        due = self.sender.next_due(now)
        waits = [math.inf if due is None else due]
        if self._may_go_away():
            waits.append(max(0.0, self.last_input + self.idle_after - now))
        return min(waits)

    def _may_go_away(self) -> bool:
        log = self.log
        return (not self.auto_away and log.status.state == "connected"
                and log.me not in log.presence.away)

    def _say(self, text: str) -> None:
        self.log.quiet_ids.add(self.send(text))

    def _typing(self, frames: List[Frame]) -> None:
        if self.typing is None:
            return
        for (kind, name), state in frames:
            if kind == "to":
                self.typing(state, to=name)
            else:
                self.typing(state, room=name)
