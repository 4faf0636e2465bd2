"""The loop's pace: how long ``App.step`` sleeps, and when a turn has nothing to do.

Rules:
- 8 ms between looks at input and the network for ``IDLE_AFTER`` seconds after
  either had something, then 40 ms; never past the moment a clock of the screen
  (a cursor blink, a countdown, a typing name expiring) or the next ping falls due,
  which the loop tells ``plan`` after each full turn.
- Idle (nothing for ``IDLE_AFTER`` seconds) and before that moment, a turn in which
  nothing came in may stop after looking: the rest of it would change nothing. On a
  CPU just woken from sleep each Python call is slow (a full idle turn cost ~0.6 ms
  on the 2-core VM, the look alone ~0.1 ms), so that is most of an idle window's CPU.
"""

from __future__ import annotations

POLL_ACTIVE = 0.008   # sleep between looks at input/network just after activity
POLL_IDLE = 0.04      # ... and after IDLE_AFTER seconds without any
IDLE_AFTER = 2.0


class Pace:
    """When the loop last had something to do, and when a clock next needs a turn."""

    __slots__ = ("last_activity", "due")

    def __init__(self, now: float):
        self.last_activity = now
        self.due = now

    def active(self, now: float) -> None:
        """Input or a network event came in."""
        self.last_activity = now

    def poll(self, now: float) -> float:
        """Seconds to sleep before looking at input and the network again."""
        wait = POLL_ACTIVE if now - self.last_activity < IDLE_AFTER else POLL_IDLE
        return min(wait, self.due - now)

    def plan(self, now: float, wake_in: float) -> None:
        """After a full turn: the next clock falls due ``wake_in`` seconds from now."""
        self.due = now + max(0.0, wake_in)

    def idle(self, now: float) -> bool:
        """Idle and nothing due: a turn where nothing came in may stop after looking."""
        return now < self.due and now - self.last_activity >= IDLE_AFTER
