"""Token bucket: how many lines a connection may send per second, with bursts.

A bucket holds up to ``burst`` tokens and refills at ``rate`` per second; each line
takes one. A person typing never notices it; a script flooding the room gets
``rate_limited`` for the excess instead of drowning everyone else.

Both sides use it: the server limits each connection (``--rate``, ``--burst``), and
the client paces its outbox with a bucket like the server's, sized by what the
welcome announces, so a script's lines are not refused. Every method takes the time
as ``now`` (tests pass their own); without it the bucket reads its clock.
"""

from __future__ import annotations

import time
from typing import Callable, Optional


class TokenBucket:
    """Args: rate (tokens per second; 0 or less disables limiting), burst (bucket
    size; it starts full), clock, and the starting time ``now`` (default: clock())."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic,
                 now: Optional[float] = None):
        self.rate = rate
        self.burst = max(1, burst)
        self._clock = clock
        self._tokens = float(self.burst)
        self._stamp = clock() if now is None else now

    def _refill(self, now: float) -> None:
        # A time before the last one (a caller's clock) adds nothing.
        self._tokens = min(self.burst, self._tokens + max(0.0, now - self._stamp) * self.rate)
        self._stamp = max(self._stamp, now)

    def take(self, now: Optional[float] = None) -> bool:
        """Take one token if there is one; True if the action may go ahead."""
        if self.rate <= 0:
            return True
        self._refill(self._clock() if now is None else now)
        if self._tokens >= 1:
            self._tokens -= 1
            return True
        return False

    def retry_after(self, now: Optional[float] = None) -> float:
        """Seconds until the next token (0 if there is one): a refused line's wait."""
        if self.rate <= 0:
            return 0.0
        self._refill(self._clock() if now is None else now)
        return max(0.0, (1 - self._tokens) / self.rate)

    def empty(self, now: Optional[float] = None) -> None:
        """Take every token (the other side said its bucket is empty): refill from nothing."""
        self._refill(self._clock() if now is None else now)
        self._tokens = 0.0
