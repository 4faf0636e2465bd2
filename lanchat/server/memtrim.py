"""Give memory back to the operating system after a burst of deliveries (glibc).

A crowd joining at once makes big short-lived buffers: a welcome that lists
everyone for each newcomer, a batch's frames for all. glibc keeps the memory they
used for later, so after such a storm the server's resident size would stay near
its peak: 5,000 joins left about 60 KiB per connection where about 30 KiB is
live. ``malloc_trim`` hands the free pages back. Where there is no glibc (macOS,
Windows, musl without it) this does nothing.

It trims every ``TRIM_EVERY_BYTES`` of buffers, and also once the deliveries settle
(nothing more waits to be delivered) after ``SETTLED_TRIM_BYTES``: otherwise up to
the last ``TRIM_EVERY_BYTES`` of a join storm stay resident with the idle crowd,
KiB per connection (bench/README.md, "Memory per connection"). A trim takes a few
ms with thousands of connections, so a steady trickle of lines pays it at most once
per ``SETTLED_TRIM_BYTES`` delivered (a line's shared buffer counts once, however
many get it: ~50,000 lines).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
from typing import Callable, Optional

log = logging.getLogger("chat.memtrim")

# Bytes of delivery buffers built between two trims: what may stay resident after a
# storm (freed, not yet handed back): 16 MiB is ~3 KiB a connection after 5,000
# joins. At most one trim a batch, a few ms each; 5,000 joins in a crowded #lobby
# build ~220 MB of buffers (the welcomes' name lists, mostly).
TRIM_EVERY_BYTES = 16 * 1024 * 1024
SETTLED_TRIM_BYTES = 8 * 1024 * 1024  # and before a trim when the deliveries settle


def _load_malloc_trim() -> Optional[Callable[[int], int]]:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError, TypeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


_malloc_trim = _load_malloc_trim()


class Trimmer:
    """Counts the bytes of the buffers deliveries built; past ``every`` of them, or
    past ``settled_every`` when nothing more waits, trims the heap once.

    ctypes releases the GIL for the call, so the other threads run meanwhile.
    """

    def __init__(self, every: int = TRIM_EVERY_BYTES, settled_every: int = SETTLED_TRIM_BYTES):
        self.every = every
        self.settled_every = settled_every
        self.trims = 0
        self._since = 0

    def delivered(self, nbytes: int, settled: bool = False) -> None:
        """``nbytes`` of buffers were built; ``settled``: no more deliveries wait."""
        self._since += nbytes
        due = self.settled_every if settled else self.every
        if self._since >= due and _malloc_trim is not None:
            self._since = 0
            self.trims += 1
            try:
                _malloc_trim(0)
            except OSError as exc:  # not expected; never worth failing a delivery for
                log.debug("malloc_trim failed: %s", exc)
