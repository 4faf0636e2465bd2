"""memtrim.py: the heap is trimmed once per TRIM_EVERY_BYTES built, and only then."""

import pytest

from lanchat.server import memtrim


@pytest.mark.skipif(memtrim._malloc_trim is None, reason="no glibc malloc_trim here")
def test_trims_once_per_threshold_of_bytes_built():
    trimmer = memtrim.Trimmer(every=1000)
    trimmer.delivered(999)
    assert trimmer.trims == 0
    trimmer.delivered(1)
    assert trimmer.trims == 1
    trimmer.delivered(500)
    assert trimmer.trims == 1
    trimmer.delivered(2500)
    assert trimmer.trims == 2


def test_without_glibc_nothing_is_called(monkeypatch):
    monkeypatch.setattr(memtrim, "_malloc_trim", None)
    trimmer = memtrim.Trimmer(every=10)
    trimmer.delivered(100)
    assert trimmer.trims == 0
