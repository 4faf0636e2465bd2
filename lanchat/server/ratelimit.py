"""Token bucket: how many lines a connection may send per second, with bursts.

A bucket holds up to ``burst`` tokens and refills at ``rate`` per second; each line
takes one. A person typing never notices it; a script flooding the room gets
``rate_limited`` for the excess instead of drowning everyone else.
"""

from __future__ import annotations

import time
from typing import Callable


class TokenBucket:
    """Args: rate (tokens per second, 0 disables limiting), burst (bucket size)."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic):
        self.rate = rate
        self.burst = max(1, burst)
        self._clock = clock
        self._tokens = float(self.burst)
        self._stamp = clock()

    def take(self) -> bool:
        """Take one token if there is one; True if the action may go ahead."""
        if self.rate <= 0:
            return True
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now
        if self._tokens >= 1:
            self._tokens -= 1
            return True
        return False

    def retry_after(self) -> float:
        """Seconds until the next token (0 if there is one): a refused line's wait."""
        if self.rate <= 0:
            return 0.0
        tokens = min(self.burst, self._tokens + (self._clock() - self._stamp) * self.rate)
        return max(0.0, (1 - tokens) / self.rate)
