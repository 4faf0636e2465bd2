"""The seqs the client has already shown, to drop the duplicates a resume may bring.

After a reconnect the server replays everything after ``since``; an event can still
arrive twice (a replay racing a live broadcast). Remembering a bounded window of recent
seqs drops those without growing for ever.
"""

from __future__ import annotations

import collections

SEEN_SEQS = 20000  # how many recent seqs we remember to drop duplicates


class SeenSeqs:
    """A bounded set of recent seqs, forgetting the oldest first."""

    def __init__(self, size: int = SEEN_SEQS):
        self._order: "collections.deque[int]" = collections.deque(maxlen=size)
        self._set: set = set()

    def seen_before(self, seq) -> bool:
        """Record ``seq``; True if it was already recorded. Non-int seqs never repeat."""
        if not isinstance(seq, int):
            return False
        if seq in self._set:
            return True
        if len(self._order) == self._order.maxlen:
            self._set.discard(self._order[0])
        self._order.append(seq)
        self._set.add(seq)
        return False

    def clear(self) -> None:
        """Forget everything (the server's history started again)."""
        self._order.clear()
        self._set.clear()
