"""Shared fixtures: a real server on 127.0.0.1 with an ephemeral port, and raw clients.

``chat_server`` runs ``ChatServer`` in-process (``serve_forever`` in a thread);
``make_server(**config)`` builds one with other settings. ``RawClient`` speaks the
wire protocol over a real socket with bounded waits, so tests see exactly the bytes an
outside client would. ``wait_for`` polls a condition with a deadline; no test sleeps
to synchronise.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time

import pytest

import protocol
from lanchat.server.config import ServerConfig
from lanchat.server.listener import ChatServer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

WAIT = 5.0  # seconds any single wait may take before the test fails
# A test that uses one of these talks to a real server over real sockets.
LIVE_FIXTURES = frozenset({"make_server", "chat_server", "make_client", "server_process"})


def pytest_collection_modifyitems(config, items):
    """Mark the live-socket tests ``live``, apart from the pure unit tests."""
    for item in items:
        if LIVE_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.live)


def wait_for(condition, timeout: float = WAIT, interval: float = 0.005, what: str = "condition"):
    """Poll ``condition()`` until it is truthy; return its value or fail the test."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


class RunningServer:
    """A ChatServer serving on a thread; ``stop()`` shuts it down gracefully."""

    def __init__(self, **overrides):
        overrides.setdefault("db", ":memory:")
        overrides.setdefault("port", 0)
        # Tests of commands, rooms and moderation read a plain client's replies one
        # frame each (v1's --plain-replies framed): bare text has no boundaries to
        # tell two replies apart by. The bare default has its own tests
        # (test_plain_clients.py, test_dialects_live.py) that pass plain_replies="bare".
        overrides.setdefault("plain_replies", "framed")
        config = ServerConfig(host="127.0.0.1", **overrides)
        self.server = ChatServer(config)
        self.host, self.port = self.server.server_address[:2]
        self.address = (self.host, self.port)
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @property
    def room(self):
        return self.server.room

    def stop(self):
        self.server.close_gracefully(flush_seconds=1.0)
        self.thread.join(WAIT)


class RawClient:
    """A wire-level client: send frames, receive bodies, with bounded waits."""

    def __init__(self, address, timeout: float = WAIT, source_address=None, bare: bool = False):
        self.sock = socket.create_connection(address, timeout=timeout,
                                             source_address=source_address)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.decoder = protocol.FrameDecoder(max_body=protocol.HARD_MAX_FRAME)
        # bare: the server's replies are unframed text (a v2 plain client, a line or
        # ten-byte client): the bytes are kept as they come, for expect_text.
        self.bare = bare
        self.received = bytearray()
        self.bodies = []
        self.timeout = timeout
        self.closed = False

    # sending
    def send_raw(self, data: bytes):
        self.sock.sendall(data)

    def send_text(self, text: str):
        self.send_raw(protocol.encode_frame(text))

    def send(self, **message):
        self.send_raw(protocol.message_frame(message))

    def hello(self, name: str, **extra) -> dict:
        """Send hello and return the welcome (skipping nothing else)."""
        self.send(type="hello", name=name, **extra)
        return self.expect("welcome")

    # receiving
    def _fill(self, deadline: float) -> bool:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        self.sock.settimeout(left)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            return False
        except OSError:
            data = b""
        if not data:
            self.closed = True
            return False
        if self.bare:
            self.received += data
            return True
        self.decoder.feed(data)
        for body in self.decoder.events():
            self.bodies.append(body)
        return True

    def recv_body(self, timeout: float = None) -> bytes:
        deadline = time.monotonic() + (timeout or self.timeout)
        while not self.bodies:
            if not self._fill(deadline):
                raise AssertionError("no frame arrived" + (" (connection closed)" if self.closed else ""))
        return self.bodies.pop(0)

    def recv(self, timeout: float = None) -> dict:
        return json.loads(self.recv_body(timeout))

    def recv_line(self, timeout: float = None) -> str:
        return self.recv_body(timeout).decode("utf-8")

    def expect(self, kind: str, timeout: float = None, **fields) -> dict:
        """Receive until a message of ``kind`` (matching ``fields``); fail on timeout."""
        deadline = time.monotonic() + (timeout or self.timeout)
        seen = []
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {kind} {fields or ''} arrived; got {seen}")
            try:
                message = self.recv(left)
            except AssertionError:
                raise AssertionError(f"no {kind} {fields or ''} arrived; got {seen}") from None
            if message.get("type") == kind and all(message.get(k) == v for k, v in fields.items()):
                return message
            seen.append(message)

    def expect_text(self, text, timeout: float = None) -> bytes:
        """(bare) Read until ``text`` (str or bytes) has arrived; consume and return
        everything up to its end. Fails if it does not come in time."""
        wanted = text.encode("utf-8") if isinstance(text, str) else text
        deadline = time.monotonic() + (timeout or self.timeout)
        while wanted not in self.received:
            if not self._fill(deadline):
                raise AssertionError(f"{wanted!r} did not arrive; got {bytes(self.received)!r}"
                                     + (" (connection closed)" if self.closed else ""))
        end = self.received.index(wanted) + len(wanted)
        got = bytes(self.received[:end])
        del self.received[:end]
        return got

    def wait_closed(self, timeout: float = None) -> bool:
        """Read (and keep) frames until the server closes; True if it did in time."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while not self.closed:
            if not self._fill(deadline) and not self.closed:
                return False
        return True

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


@pytest.fixture
def make_server():
    """Factory: ``make_server(**ServerConfig fields)`` -> RunningServer (stopped after)."""
    started = []

    def factory(**overrides):
        running = RunningServer(**overrides)
        started.append(running)
        return running

    yield factory
    for running in started:
        running.stop()


@pytest.fixture
def chat_server(make_server):
    """A server with default limits (rate limiting off) and an in-memory history."""
    return make_server(rate=0)


@pytest.fixture
def make_client():
    """Factory: ``make_client(address)`` -> RawClient (closed after the test)."""
    clients = []

    def factory(address, **kwargs):
        client = RawClient(address, **kwargs)
        clients.append(client)
        return client

    yield factory
    for client in clients:
        client.close()
