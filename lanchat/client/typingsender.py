"""When to tell the server that the user is typing (PROTOCOL.md section 9, IRCv3 +typing).

A pure state machine, no sockets and no clock of its own: the caller passes ``now``
(``time.monotonic()``) and sends the ``(target, state)`` pairs it gets back. That keeps
the timing rules testable in microseconds and lets any front end drive it (the window
calls it on every edit of the input box and polls it from its loop).

The rules: ``active`` at most once per 3 s per target while the input holds a
message (re-sent every 3 s while keys keep coming, so receivers, who expire ``active``
after 6 s, keep showing it), ``paused`` after 5 s without keys, ``done`` when the input
is cleared, sent, or turned into something else (a command, a private line to
someone). A target is ``("room", "#lobby")`` or ``("to", NAME)``.

Named ``typingsender`` rather than ``typing`` so it never shadows the standard module.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Tuple

ACTIVE, PAUSED, DONE = "active", "paused", "done"
STATES = (ACTIVE, PAUSED, DONE)
ACTIVE_EVERY = 3.0   # IRCv3: at most one active per 3 s per target
PAUSED_AFTER = 5.0   # IRCv3: paused after 5 s without keys

Target = Tuple[str, str]        # ("room", "#lobby") or ("to", "bob")
Frame = Tuple[Target, str]      # (target, state) to send


class TypingSender:
    """Turns edits of one input box into typing states to send, per the IRCv3 timings."""

    def __init__(self):
        self._target: Optional[Target] = None  # where the input's text would go
        self._state = DONE                     # the last state sent to _target
        self._last_key: Optional[float] = None
        self._owed = False                     # a key came while active was held back
        self._active_at: Dict[Target, float] = {}  # when active last went to each target

    @property
    def state(self) -> str:
        """The last state sent for the current target (``done`` when there is none)."""
        return self._state

    def edited(self, target: Optional[Target], now: float) -> List[Frame]:
        """The input changed.

        Args:
            target: where its text would go, or None when it holds no message (empty,
                blank, or a command).
            now: the current ``time.monotonic()``.
        Returns:
            the (target, state) pairs to send now, in order.
        """
        out: List[Frame] = []
        if target != self._target:
            if self._target is not None and self._state != DONE:
                out.append((self._target, DONE))
            self._target, self._state, self._owed = target, DONE, False
        if target is None:
            return out
        self._last_key = now
        self._owed = True
        return out + self.poll(now)

    def finished(self, now: float) -> List[Frame]:
        """The input was cleared or its line sent: ``done`` if anything else was sent."""
        return self.edited(None, now)

    def poll(self, now: float) -> List[Frame]:
        """What became due since the last call (an owed ``active``, a ``paused``)."""
        target = self._target
        if target is None or self._last_key is None:
            return []
        out: List[Frame] = []
        still_typing = now - self._last_key < PAUSED_AFTER
        if self._owed:
            last = self._active_at.get(target)
            if not still_typing:
                self._owed = False
            elif last is None or now - last >= ACTIVE_EVERY:
                self._owed = False
                self._active_at[target] = now
                self._state = ACTIVE
                out.append((target, ACTIVE))
        if self._state == ACTIVE and not still_typing:
            self._state = PAUSED
            out.append((target, PAUSED))
        self._forget_old(now)
        return out

    def next_due(self, now: float) -> Optional[float]:
        """Seconds until ``poll`` may have something to send, or None if nothing is due."""
        if self._target is None or self._last_key is None:
            return None
        times = []
        pause_at = self._last_key + PAUSED_AFTER
        if self._owed:
            last = self._active_at.get(self._target)
            times.append(now if last is None else min(last + ACTIVE_EVERY, pause_at))
        if self._state == ACTIVE or self._owed:
            times.append(pause_at)
        if not times:
            return None
        return max(0.0, min(times) - now)

    def _forget_old(self, now: float) -> None:
        """Keep ``_active_at`` bounded: entries past their 3 s hold no longer matter."""
        if len(self._active_at) > 8:
            self._active_at = {t: at for t, at in self._active_at.items()
                               if now - at < ACTIVE_EVERY or t == self._target}
