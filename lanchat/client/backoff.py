"""How long the client waits before trying a server again.

Exponential, so a server that is down for a while is not hammered, with jitter, so
the clients of a restarted server do not all come back in the same instant. Capped at
a few seconds: on a LAN a restarted server is back in seconds, and a user waiting half
a minute for the client to notice thinks it is broken (issue 10).
"""

from __future__ import annotations

import random

BACKOFF_FIRST = 0.5   # seconds before the first retry
BACKOFF_MAX = 3.0     # the longest wait: seconds, not minutes, on a LAN


def backoff_delay(attempt: int) -> float:
    """Seconds to wait before connection attempt ``attempt`` (1, 2, ...).

    The ceiling doubles from ``BACKOFF_FIRST`` up to ``BACKOFF_MAX``; the delay is
    drawn at random from the upper half of it (jitter).
    """
    ceiling = min(BACKOFF_MAX, BACKOFF_FIRST * (2 ** (max(attempt, 1) - 1)))
    return random.uniform(ceiling / 2, ceiling)
