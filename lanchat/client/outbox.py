"""The lines the user said that the server has not yet answered, and their pacing.

Each line is kept, under its ``id``, from ``say`` until its ``ack`` or a refusal, in
the order it was said: after a reconnect the unanswered ones go again with their
original ids (the server acks a known id again instead of repeating the line), so each
is delivered exactly once.

Lines leave at the pace of a token bucket that mirrors the server's (the welcome
announces ``rate`` and ``burst``), so a script that pipes many lines is not refused for
sending too fast; a line the server refuses with ``rate_limited`` anyway goes back in its
place and everything waits ``retry_after``, so the lines still reach the room in the
order they were said. A server that does not announce its limits may have none (a
test server with ``--rate 0``), so its lines go unpaced until its first refusal proves
a limit; from then on the defaults (``--rate 5 --burst 10``) are assumed.

Not thread-safe: ``ChatConnection`` calls it under its lock. Times are
``time.monotonic()`` seconds passed in by the caller, so tests need no clock.
"""

from __future__ import annotations

import collections
import math
from typing import List, Optional, Tuple

import protocol
from lanchat.ratelimit import TokenBucket

# What a server that does not announce its limits is assumed to allow once it has
# refused a line: the server's defaults (PROTOCOL.md section 7).
ASSUMED_RATE, ASSUMED_BURST = protocol.DEFAULT_RATE, protocol.DEFAULT_BURST
ASSUMED_RETRY_AFTER = 1.0   # seconds, when a refusal does not say
MAX_RETRY_AFTER = 60.0      # a server asking for more is not believed
UNAVAILABLE_HOLD = 1.0      # seconds before a line refused with `unavailable` goes again


class Outbox:
    """Lines awaiting the server's answer, oldest first, and which of them are due."""

    def __init__(self):
        self._lines: "collections.OrderedDict[str, dict]" = collections.OrderedDict()
        self._queue: "collections.deque[str]" = collections.deque()  # not sent this session
        self._live = False
        self._pacer = TokenBucket(0, 1, now=0.0)
        self._pace_known = False
        self._hold_until = 0.0

    def add(self, message: dict) -> None:
        """Keep a ``say`` message (it has an ``id``) until it is answered."""
        self._lines[message["id"]] = message
        self._queue.append(message["id"])

    def pop(self, msg_id) -> Optional[dict]:
        """The line ``msg_id`` was answered (acked or refused): forget it and return it."""
        return self._lines.pop(msg_id, None)

    def pending(self) -> List[Tuple[str, str]]:
        """``(id, text)`` of every line not yet answered, oldest first."""
        return [(msg_id, message["text"]) for msg_id, message in self._lines.items()]

    def drain(self) -> List[dict]:
        """Forget and return every line (the connection is over for good)."""
        lines = list(self._lines.values())
        self._lines.clear()
        self._queue.clear()
        return lines

    def start_session(self, welcome: dict, now: float) -> None:
        """A new session was welcomed: every unanswered line is due again, in order, at
        the pace the welcome announces (``rate`` per second, bursts of ``burst``)."""
        rate, burst = welcome.get("rate"), welcome.get("burst")
        self._pace_known = _is_number(rate) and rate >= 0 and math.isfinite(rate)
        if not (_is_number(burst) and 1 <= burst < 1e9):
            burst = ASSUMED_BURST
        self._live = True
        self._queue = collections.deque(self._lines)
        self._pacer = TokenBucket(rate if self._pace_known else 0, int(burst), now=now)
        self._hold_until = 0.0

    def end_session(self) -> None:
        """The session ended: nothing is due until the next ``start_session``."""
        self._live = False

    def take_due(self, now: float) -> List[dict]:
        """The lines to send now, in order (each is then counted as sent)."""
        due: List[dict] = []
        if not self._live or now < self._hold_until:
            return due
        while self._queue:
            if self._queue[0] not in self._lines:  # answered before it was resent
                self._queue.popleft()
                continue
            if not self._pacer.take(now):
                break
            due.append(self._lines[self._queue.popleft()])
        return due

    def wait_time(self, now: float) -> Optional[float]:
        """Seconds until the next line is due, or None if none is waiting."""
        if not self._live or not self._queue:
            return None
        return max(self._hold_until - now, self._pacer.retry_after(now), 0.0)

    def unavailable(self, msg_id, now: float) -> bool:
        """A group of servers could not store ``msg_id`` now (its Redis is unreachable,
        PROTOCOL.md section 11): it goes back in its place and everything waits
        ``UNAVAILABLE_HOLD`` seconds. False if the line is not ours."""
        if msg_id not in self._lines:
            return False
        self._requeue(msg_id)
        self._hold_until = max(self._hold_until, now + UNAVAILABLE_HOLD)
        return True

    def _requeue(self, msg_id) -> None:
        queued = set(self._queue)
        queued.add(msg_id)
        self._queue = collections.deque(i for i in self._lines if i in queued)

    def rate_limited(self, msg_id, retry_after, now: float) -> bool:
        """The server refused ``msg_id`` for sending too fast: put it back in its place
        and send nothing for ``retry_after`` seconds (the error's field; None or junk
        means 1 s). False if the line is not ours."""
        if msg_id not in self._lines:
            return False
        if not (_is_number(retry_after) and 0 <= retry_after <= MAX_RETRY_AFTER):
            retry_after = ASSUMED_RETRY_AFTER
        if not self._pace_known:  # a limit after all: assume the usual one
            self._pacer = TokenBucket(ASSUMED_RATE, ASSUMED_BURST, now=now)
            self._pace_known = True
        self._requeue(msg_id)
        self._hold_until = max(self._hold_until, now + retry_after)
        # The server's bucket was empty when it refused; it refills during the hold.
        self._pacer.empty(now)
        return True


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
