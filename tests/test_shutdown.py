"""Graceful shutdown: everyone is told, the flush is bounded."""

import time

import pytest

import protocol
from conftest import RawClient, wait_for
from serverhelpers import (MiB, join, plain_client, stalled_client)


def test_graceful_shutdown_tells_everyone_and_closes(make_server, make_client):
    srv = make_server(rate=0)
    alice, bob = join(srv, make_client, "alice", "bob")
    tut = plain_client(srv, make_client, "tut")
    for c in (alice, bob):
        c.expect("nick", new="tut")
    srv.stop()
    for client in (alice, bob):
        error = client.expect("error")
        assert error["code"] == "shutting_down"
        assert client.wait_closed()
    assert tut.recv_line() == "error: the server is shutting down"
    assert tut.wait_closed()
    with pytest.raises(OSError):
        RawClient(srv.address, timeout=1)


def test_shutdown_flush_is_bounded_when_a_client_does_not_read(make_server, make_client, request):
    srv = make_server(rate=0, max_send_queue=64 * MiB)
    (alice,) = join(srv, make_client, "alice")
    stalled, stalled_queue = stalled_client(srv, request, [alice])
    alice.send_raw(b"".join(protocol.message_frame({"type": "say", "text": "v" * 4000, "id": str(n)})
                            for n in range(300)))
    wait_for(lambda: stalled_queue.queued_bytes > 512 * 1024, what="a backlog for the stalled client")
    started = time.monotonic()
    srv.server.close_gracefully(flush_seconds=0.5)
    assert time.monotonic() - started < 4.0
    alice.expect("error", code="shutting_down")
    assert alice.wait_closed()
    assert srv.server.connection_count() == 0
