"""sendqueue.py on a real socket pair: order, bounds, and a stream that stays framed
when a reader that stopped reading is dropped."""

from __future__ import annotations

import socket
import time

import pytest

import protocol
from lanchat.server.sendqueue import SendQueue

pytestmark = pytest.mark.live  # real sockets or processes

FAREWELL = protocol.encode_frame("dropped")


def small_pair():
    """A connected pair whose kernel buffers are small, so sends fill them quickly."""
    a, b = socket.socketpair()
    for sock in (a, b):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    return a, b


def read_all(sock: socket.socket, timeout: float = 10.0) -> bytes:
    sock.settimeout(timeout)
    chunks = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            data = sock.recv(65536)
        except socket.timeout:
            break
        if not data:
            break
        chunks.append(data)
    return b"".join(chunks)


def frames_of(stream: bytes) -> list:
    decoder = protocol.FrameDecoder(max_body=1 << 22)
    decoder.feed(stream)
    bodies = list(decoder.events())
    assert not decoder.in_frame, "the stream ends inside a frame"
    return bodies


def test_everything_sent_arrives_in_order():
    a, b = small_pair()
    queue = SendQueue(a, max_bytes=1 << 22, name="t")
    sent = [protocol.encode_frame(f"line {n} " + "x" * (n % 300)) for n in range(2000)]
    for frame in sent:
        assert queue.send(frame)
    expected = b"".join(sent)
    received = bytearray()
    b.settimeout(10)
    while len(received) < len(expected):
        data = b.recv(65536)
        assert data, "closed early"
        received += data
    assert queue.flush(10)
    assert bytes(received) == expected
    queue.close()


def test_a_dropped_reader_gets_whole_frames_then_the_farewell():
    # The reader takes nothing: the first big send goes out only in part (the kernel
    # buffer is small), the rest waits in the queue, and a later send overflows it.
    # What reached the wire must stay framed: the half-sent frame is finished, then
    # comes the farewell, and nothing after it.
    for size in (3000, 20000, 70000):
        a, b = small_pair()
        queue = SendQueue(a, max_bytes=100_000, name="t")
        queue.farewell = FAREWELL
        big = protocol.encode_frame(b"y" * size)
        accepted = 0
        while queue.send(big):
            accepted += 1
            assert accepted < 100, "the queue never overflowed"
        assert queue.overflowed
        bodies = frames_of(read_all(b))
        assert bodies[-1] == b"dropped"
        assert all(body == b"y" * size for body in bodies[:-1])
        queue.close()
        a.close()
        b.close()
