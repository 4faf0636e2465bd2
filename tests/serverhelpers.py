"""Helpers for the server tests (real server, raw clients): join, say, markers.

"Nothing else arrived" is checked with a marker, never with a sleep: events reach
each client in seq order, so when a later event arrives, anything an earlier event
would have sent has already arrived.
"""

import json
import re
import selectors
import socket
import time

import pytest

import protocol
from conftest import WAIT, RawClient

MiB = 1024 * 1024


def join(srv, make_client, *names):
    """Structured clients that joined in order, each having seen the later joins."""
    clients = []
    for name in names:
        client = make_client(srv.address)
        assert client.hello(name)["name"] == name
        for earlier in clients:
            earlier.expect("join", name=name)
        clients.append(client)
    return clients


def next_frame(client, **fields) -> dict:
    """The very next frame, which must have ``fields``."""
    message = client.recv()
    for key, value in fields.items():
        assert message.get(key) == value, (key, message)
    return message


def say(client, text, msg_id) -> dict:
    """Send a line and return its ack (which must be the next frame)."""
    client.send(type="say", text=text, id=msg_id)
    return next_frame(client, type="ack", id=msg_id)


def marker(sender, receivers, text="marker"):
    """A public line from ``sender`` that must be each receiver's next frame."""
    ack = say(sender, text, f"marker-{text}")
    for receiver in receivers:
        message = next_frame(receiver, type="message", text=text)
        assert message["seq"] == ack["seq"]
    return ack


def alive(client, ping_id="alive"):
    """The connection still answers: ping gets the pong with the same id."""
    client.send(type="ping", id=ping_id)
    client.expect("pong", id=ping_id)


def header(text: str) -> bytes:
    return text.encode().ljust(64)


def error_of(client) -> dict:
    message = client.recv()
    assert message["type"] == "error", message
    assert set(message) >= {"code", "message"} and message["message"]
    return message


def plain_client(srv, make_client, nick):
    """A tutorial-style plain client renamed to ``nick`` (its first frame is /nick)."""
    client = make_client(srv.address)
    client.send_text(f"/nick {nick}")
    line = client.recv_line()
    assert re.fullmatch(rf"\* guest-\d+ is now known as {nick}", line), line
    return client


def stalled_client(srv, request, others):
    """A member called "stalled" that will not read, and its server-side SendQueue."""
    # A small receive window set before connecting, so the kernel cannot hide the stall.
    stalled = RawClient.__new__(RawClient)
    stalled.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    request.addfinalizer(stalled.close)
    stalled.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stalled.sock.settimeout(WAIT)
    stalled.sock.connect(srv.address)
    stalled.decoder = protocol.FrameDecoder(max_body=protocol.HARD_MAX_FRAME)
    stalled.bodies, stalled.timeout, stalled.closed = [], WAIT, False
    stalled.bare, stalled.received = False, bytearray()
    stalled.hello("stalled")
    for client in others:
        client.expect("join", name="stalled")
    # And a small send buffer on the server's side of it (autotuning would take MBs).
    stalled_queue = srv.room.members["stalled"].transport.send_queue
    stalled_queue._sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8192)
    return stalled, stalled_queue


def pump(viewers, condition, what: str, timeout: float = WAIT) -> None:
    """Read every viewer's socket (``viewer.sock``, ``viewer.read()``) until
    ``condition()``; bounded."""
    selector = selectors.DefaultSelector()
    for viewer in viewers:
        selector.register(viewer.sock, selectors.EVENT_READ, viewer)
    deadline = time.monotonic() + timeout
    try:
        while not condition():
            if time.monotonic() > deadline:
                pytest.fail(f"timed out after {timeout}s waiting for {what}")
            for key, _ in selector.select(0.05):
                key.data.read()
    finally:
        selector.close()


class FrameReader:
    """A raw structured connection read without blocking (by ``pump``): it sends
    ``hello`` and hands every body it gets, decoded, to ``see``."""

    def __init__(self, address, hello: dict):
        self.sock = socket.create_connection(address, timeout=WAIT)
        self.sock.sendall(protocol.message_frame(hello))
        self.sock.setblocking(False)
        self.decoder = protocol.FrameDecoder(max_body=protocol.HARD_MAX_FRAME)

    def read(self) -> None:
        try:
            data = self.sock.recv(1 << 20)
        except BlockingIOError:
            return
        self.decoder.feed(data)
        for body in self.decoder.events():
            self.see(json.loads(body))

    def see(self, msg: dict) -> None:
        raise NotImplementedError
