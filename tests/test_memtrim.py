"""memtrim.py: the heap is trimmed once per TRIM_EVERY_BYTES built, and only then."""

import pytest

from conftest import wait_for

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


@pytest.mark.skipif(memtrim._malloc_trim is None, reason="no glibc malloc_trim here")
def test_settled_deliveries_trim_at_the_lower_threshold_and_only_when_settled():
    trimmer = memtrim.Trimmer(every=1000, settled_every=100)
    trimmer.delivered(150)               # more waits: not yet
    assert trimmer.trims == 0
    trimmer.delivered(0, settled=True)   # the storm is over: its buffers go back
    assert trimmer.trims == 1
    trimmer.delivered(99, settled=True)  # a trickle pays a trim only per settled_every
    assert trimmer.trims == 1
    trimmer.delivered(1, settled=True)
    assert trimmer.trims == 2


def test_a_crowd_that_joined_and_went_quiet_leaves_the_heap_trimmed(make_server, make_client):
    server = make_server()
    trimmer = server.room._trimmer
    trimmer.settled_every = 1  # any settled delivery trims, so the test is quick
    trimmer.every = 1 << 40
    clients = [make_client(server.address) for _ in range(5)]
    for number, client in enumerate(clients):
        client.hello(f"m{number}")
    if memtrim._malloc_trim is None:
        assert trimmer.trims == 0
    else:  # the trim follows the sends of the batch that welcomed the last one
        wait_for(lambda: trimmer.trims >= 1, what="a trim once the joins settled")
