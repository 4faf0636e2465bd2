"""The tutorial dialects against a real server (PROTOCOL.md section 2): bare plain
replies, listeners, the line dialect (nc, one-shot lines, HTTP), the ten-byte dialect,
refusals in each dialect's form, and one room shared by all of them.

Bare text has no boundaries, so these tests read it with ``RawClient.expect_text``
(bytes accumulate until the expected text has come); every wait is bounded.
"""

from __future__ import annotations

import re
import socket
import time

import pytest

import protocol
from conftest import WAIT, RawClient, wait_for
from lanchat.dialects.readers import TenByteDecoder
from lanchat.server import handler as handler_module
from serverhelpers import join, next_frame, say


def tb(text: str) -> bytes:
    """A ten-byte frame as the select-based tutorials write it."""
    body = text.encode()
    return f"{len(body):<10}".encode() + body


class TenByteReader:
    """Reads what the server sends a ten-byte client: (name, text) pairs."""

    def __init__(self, client: RawClient):
        self.client = client
        self.decoder = TenByteDecoder(protocol.HARD_MAX_FRAME)
        self.bodies: list = []

    def pair(self, timeout: float = WAIT) -> tuple:
        deadline = time.monotonic() + timeout
        while len(self.bodies) < 2:
            if self.client.received:
                self.decoder.feed(bytes(self.client.received))
                self.client.received.clear()
                self.bodies += list(self.decoder.events())
            elif not self.client._fill(deadline):
                raise AssertionError(f"no ten-byte pair arrived; have {self.bodies}")
        name, text = self.bodies[:2]
        del self.bodies[:2]
        return name.decode(), text.decode()

    def expect(self, name: str, text: str) -> None:
        seen = []
        while True:
            got = self.pair()
            if got == (name, text):
                return
            seen.append(got)
            assert len(seen) < 20, seen


@pytest.fixture
def bare_server(make_server):
    """A server with the default bare plain replies."""
    return make_server(rate=0, plain_replies="bare")


def bare(srv, **kwargs) -> RawClient:
    return RawClient(srv.address, bare=True, **kwargs)


@pytest.fixture
def clients():
    made = []
    yield made
    for client in made:
        client.close()


# ------------------------------------------------------------- 64-byte plain, bare

def test_plain_replies_are_bare_text(bare_server, make_client, clients):
    (alice,) = join(bare_server, make_client, "alice")
    tut = bare(bare_server)
    clients.append(tut)
    tut.send_text("Hello World!")
    assert tut.expect_text("Msg received") == b"Msg received"  # no header, no terminator
    guest = next_frame(alice, type="join")["name"]
    next_frame(alice, type="message", text="Hello World!")
    say(alice, "hi there", "a1")
    assert tut.expect_text("alice: hi there").lstrip(b"\n") == b"alice: hi there"
    tut.send_text("/nick")
    assert tut.expect_text("error: ").lstrip(b"\n") == b"error: "
    tut.send_text("!DISCONNECT")
    tut.expect_text("Goodbye")
    assert tut.wait_closed()
    next_frame(alice, type="leave", name=guest)


def test_plain_replies_framed_keeps_v1(make_server, make_client):
    srv = make_server(rate=0, plain_replies="framed")
    tut = make_client(srv.address)
    tut.send_text("hi")
    assert tut.recv_line() == "Msg received"


# ------------------------------------------------------------- listening

def test_a_silent_connection_listens_and_then_speaks_plain(bare_server, make_client, clients):
    (alice,) = join(bare_server, make_client, "alice")
    listener = bare(bare_server)
    clients.append(listener)
    guest = alice.expect("join", timeout=3 * handler_module.LISTEN_AFTER + WAIT)["name"]
    assert re.fullmatch(r"guest-\d+", guest)
    say(alice, "anyone there?", "a1")
    assert listener.expect_text("alice: anyone there?").lstrip(b"\n") == b"alice: anyone there?"
    listener.send_text("me!")  # its first frame: a plain line, the same guest
    listener.expect_text("Msg received")
    message = next_frame(alice, type="message", text="me!")
    assert message["from"] == guest


def test_a_listener_that_says_hello_becomes_the_named_user(bare_server, make_client):
    (alice,) = join(bare_server, make_client, "alice")
    late = make_client(bare_server.address)
    guest = alice.expect("join", timeout=3 * handler_module.LISTEN_AFTER + WAIT)["name"]
    assert late.hello("bob")["name"] == "bob"
    next_frame(alice, type="leave", name=guest)
    next_frame(alice, type="join", name="bob")
    say(late, "hi, bob here", "b1")
    assert next_frame(alice, type="message")["from"] == "bob"


def test_no_listeners_with_a_password(make_server, make_client):
    srv = make_server(rate=0, password="sesame")
    alice = make_client(srv.address)
    assert alice.hello("alice", password="sesame")["name"] == "alice"
    quiet = RawClient(srv.address, bare=True)
    try:
        say(alice, "private room", "a1")
        # Nothing reaches it, however long it listens: a marker after the wait.
        wait_for(lambda: srv.server.connection_count() == 2, what="the quiet connection")
        with pytest.raises(AssertionError):
            quiet.expect_text("private", timeout=2 * handler_module.LISTEN_AFTER)
        assert quiet.received == b""
        quiet.send_raw(b"hello?\n")  # speaking gets the password error, in its dialect
        assert quiet.expect_text("\n").startswith(b"error: this server needs a password")
        assert quiet.wait_closed()
    finally:
        quiet.close()


# ------------------------------------------------------------- the line dialect

def test_nc_style_lines_chat_both_ways(bare_server, make_client, clients):
    (alice,) = join(bare_server, make_client, "alice")
    nc = bare(bare_server)
    clients.append(nc)
    nc.send_raw(b"hello from nc\r\n")
    guest = next_frame(alice, type="join")["name"]
    message = next_frame(alice, type="message", text="hello from nc")
    assert message["from"] == guest
    say(alice, "hi nc", "a1")
    assert nc.expect_text("alice: hi nc\n") == b"alice: hi nc\n"  # no ack, a newline each
    nc.send_raw(b"\n/nick netcat\n")  # a blank line is nothing; commands work
    assert nc.expect_text(f"* {guest} is now known as netcat\n".encode())
    next_frame(alice, type="nick", new="netcat")
    nc.send_raw(b"/who\n")
    assert re.match(rb"users \(2\): ", nc.expect_text(b"\n"))
    nc.send_raw(b"\xff\xfe oops\n")
    assert nc.expect_text(b"\n").startswith(b"error: ")
    nc.send_raw(b"/quit bye now\n")
    nc.expect_text("Goodbye\n")
    assert nc.wait_closed()
    next_frame(alice, type="leave", name="netcat", reason="bye now")


@pytest.mark.parametrize("line", [b"build done\n", b"build done"])
def test_one_line_then_close_posts_the_line(bare_server, make_client, line):
    (alice,) = join(bare_server, make_client, "alice")
    # echo "build done" | nc -N host port: connect, send, half-close.
    sock = socket.create_connection(bare_server.address, timeout=WAIT)
    sock.sendall(line)
    sock.shutdown(socket.SHUT_WR)
    guest = next_frame(alice, type="join")["name"]
    assert next_frame(alice, type="message", text="build done")["from"] == guest
    next_frame(alice, type="leave", name=guest)
    sock.close()


def test_one_shot_send_then_close_posts_the_line(bare_server, make_client):
    (alice,) = join(bare_server, make_client, "alice")
    for n in range(3):  # the tutorial's send(): connect, sendall(msg + "\n"), close
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.connect(bare_server.address)
        s.sendall(f"ping {n}\n".encode())
        s.close()
    texts = []
    while len(texts) < 3:
        event = alice.recv()
        if event["type"] == "message":
            texts.append(event["text"])
    assert sorted(texts) == ["ping 0", "ping 1", "ping 2"]


def test_http_request_gets_a_readable_400_and_a_close(bare_server, make_client):
    (alice,) = join(bare_server, make_client, "alice")
    browser = bare(bare_server)
    try:
        browser.send_raw(b"GET / HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\n\r\n")
        assert browser.wait_closed()
        answer = bytes(browser.received)
        assert answer.startswith(b"HTTP/1.0 400 Bad Request\r\n")
        assert b"chat server" in answer and str(bare_server.port).encode() in answer
        # the address the browser reached, so the command in it works as printed
        assert f"--host 127.0.0.1 --port {bare_server.port}".encode() in answer
    finally:
        browser.close()
    say(alice, "nobody joined", "a1")  # the ack is the next frame: no join, no leave


def test_a_line_over_max_text_and_a_line_that_never_ends(make_server, make_client):
    srv = make_server(rate=0, max_text=20, max_frame_bytes=100, frame_timeout=1.0)
    (alice,) = join(srv, make_client, "alice")
    nc = RawClient(srv.address, bare=True)
    try:
        nc.send_raw(b"x" * 21 + b"\n")
        assert nc.expect_text(b"\n").startswith(b"error: message is 21 characters")
        nc.send_raw(b"y" * 150 + b"\nstill here\n")  # over the frame limit: skipped
        assert b"over the limit" in nc.expect_text(b"\n")
        next_frame(alice, type="join")
        assert next_frame(alice, type="message")["text"] == "still here"
        nc.send_raw(b"z" * 5000)  # never ends: not buffered, closed at the frame timeout
        assert nc.wait_closed(timeout=WAIT)
        next_frame(alice, type="leave", reason="frame timeout")
    finally:
        nc.close()


@pytest.mark.parametrize("dialect", ["line", "ten-byte", "plain"])
def test_a_stalled_line_or_frame_is_told_why_before_the_close(make_server, make_client,
                                                              dialect):
    # A learner's send("hello") without "\n" (or a header promising more bytes than
    # came) waits for its reply: at the frame timeout it reads a sentence, then the close.
    srv = make_server(rate=0, plain_replies="bare", frame_timeout=1.0)
    (alice,) = join(srv, make_client, "alice")
    learner = bare(srv)
    try:
        if dialect == "line":
            learner.send_raw(b"hello without a newline")
            expected = b"error: no end of line within 1 s"
        elif dialect == "ten-byte":
            learner.send_raw(tb("learner"))
            next_frame(alice, type="join", name="learner")
            learner.send_raw(b"20        only half")
            expected = b"error: a message did not arrive whole within 1 s"
        else:
            learner.send_raw(protocol.encode_frame("first"))
            learner.expect_text(b"Msg received")
            learner.send_raw(protocol.frame_header(40) + b"only half")
            expected = b"error: a message did not arrive whole within 1 s"
        assert learner.wait_closed(timeout=WAIT)
        assert expected in bytes(learner.received), bytes(learner.received)
        alice.expect("leave", reason="frame timeout")
    finally:
        learner.close()


# ------------------------------------------------------------- the ten-byte dialect

def test_ten_byte_clients_chat_with_structured_ones(bare_server, make_client, clients):
    (alice,) = join(bare_server, make_client, "alice")
    window = bare(bare_server)
    clients.append(window)
    window.send_raw(tb("msg_screen"))
    next_frame(alice, type="join", name="msg_screen")
    typer = bare(bare_server)
    clients.append(typer)
    typer.send_raw(tb("John Smith") + f"{len(b'hello all'): < 10}".encode() + b"hello all")
    next_frame(alice, type="join", name="John_Smith")  # made a valid name
    assert next_frame(alice, type="message", text="hello all")["from"] == "John_Smith"
    reader = TenByteReader(window)
    reader.expect("*", "John_Smith joined")
    reader.expect("John_Smith", "hello all")
    say(alice, "hi both", "a1")
    reader.expect("alice", "hi both")
    typer_reader = TenByteReader(typer)
    typer_reader.expect("*", "you are John_Smith")  # told its name, as it differs
    typer_reader.expect("alice", "hi both")  # its own line never comes back
    typer.send_raw(tb("/nosuch"))
    typer_reader.expect("*", "error: unknown command /nosuch; /help lists the commands")


def test_ten_byte_taken_name_gets_a_number(bare_server, make_client):
    (alice,) = join(bare_server, make_client, "alice")
    other = RawClient(bare_server.address, bare=True)
    try:
        other.send_raw(tb("alice"))
        next_frame(alice, type="join", name="alice_2")
    finally:
        other.close()


def test_ten_byte_header_with_letters_is_an_error_then_close(bare_server, make_client, clients):
    (alice,) = join(bare_server, make_client, "alice")
    bad = bare(bare_server)
    clients.append(bad)
    bad.send_raw(tb("eve") + b"5x        hello")
    next_frame(alice, type="join", name="eve")
    assert bad.wait_closed()
    decoder = TenByteDecoder()
    decoder.feed(bytes(bad.received))
    bodies = list(decoder.events())
    assert bodies[-2] == b"*" and bodies[-1].startswith(b"error: bad frame header")
    next_frame(alice, type="leave", name="eve", reason="protocol error (bad_header)")


def test_half_a_ten_byte_header_then_a_stall_is_closed(make_server, make_client):
    srv = make_server(rate=0, frame_timeout=1.0)
    (alice,) = join(srv, make_client, "alice")
    slow = RawClient(srv.address, bare=True)
    try:
        slow.send_raw(tb("slow") + b"12   ")
        next_frame(alice, type="join", name="slow")
        assert slow.wait_closed()
        next_frame(alice, type="leave", name="slow", reason="frame timeout")
        say(alice, "still fine", "a1")
    finally:
        slow.close()


# ------------------------------------------------------------- refusals in each form

@pytest.mark.parametrize("first, answer", [
    (protocol.message_frame({"type": "hello", "name": "x"}), b'"code":"server_full"'),
    (protocol.encode_frame("hi"), b"error: the server is full"),
    (tb("tenbyte"), b"error: the server is full"),
    (b"hi\n", b"error: the server is full (1 connections)\n"),
    (b"", b"error: the server is full"),  # silent: as a listener would read it
])
def test_server_full_in_the_connection_s_dialect(make_server, make_client, first, answer):
    srv = make_server(rate=0, max_clients=1, plain_replies="bare")
    alice = make_client(srv.address)
    assert alice.hello("alice")["name"] == "alice"
    late = RawClient(srv.address, bare=True)
    try:
        if first:
            late.send_raw(first)
        assert late.wait_closed(timeout=WAIT)
        assert answer in bytes(late.received)
        if first.startswith(b"1 "):
            assert bytes(late.received).startswith(b"1         *")
    finally:
        late.close()
    say(alice, "still here", "a1")


@pytest.mark.parametrize("first, answer", [
    (protocol.encode_frame("hi"), b"error: this server needs a password"),
    (tb("tenbyte"), b"error: this server needs a password"),
    (b"hi\n", b"error: this server needs a password"),
])
def test_password_error_in_each_dialect(make_server, first, answer):
    srv = make_server(rate=0, password="sesame", plain_replies="bare")
    client = RawClient(srv.address, bare=True)
    try:
        client.send_raw(first)
        assert client.wait_closed()
        assert answer in bytes(client.received)
        assert b"sesame" not in bytes(client.received)
    finally:
        client.close()


# ------------------------------------------------------------- one room for all

def test_every_dialect_in_one_room(bare_server, make_client, clients):
    (alice,) = join(bare_server, make_client, "alice")
    plain = bare(bare_server)
    nc = bare(bare_server)
    ten = bare(bare_server)
    clients.extend([plain, nc, ten])
    plain.send_text("/nick tut")
    plain.expect_text("is now known as tut")
    next_frame(alice, type="join")
    next_frame(alice, type="nick", new="tut")
    nc.send_raw(b"/nick nc\n")
    nc.expect_text("is now known as nc\n")
    next_frame(alice, type="join")
    next_frame(alice, type="nick", new="nc")
    ten.send_raw(tb("ten"))
    next_frame(alice, type="join", name="ten")
    ten_reader = TenByteReader(ten)

    say(alice, "from json", "a1")
    plain.expect_text("alice: from json")
    nc.expect_text("alice: from json\n")
    ten_reader.expect("alice", "from json")

    plain.send_text("from plain")
    plain.expect_text("Msg received")
    assert next_frame(alice, type="message")["text"] == "from plain"
    nc.expect_text("tut: from plain\n")
    ten_reader.expect("tut", "from plain")

    nc.send_raw(b"from nc\n")
    assert next_frame(alice, type="message")["text"] == "from nc"
    plain.expect_text("nc: from nc")
    ten_reader.expect("nc", "from nc")

    ten.send_raw(tb("from ten"))
    assert next_frame(alice, type="message")["text"] == "from ten"
    plain.expect_text("ten: from ten")
    nc.expect_text("ten: from ten\n")

    # Rooms: a line client's /join moves its current room, its lines go there.
    nc.send_raw(b"/join #games\n")
    nc.expect_text("* you joined #games")
    nc.send_raw(b"in games\n")
    alice.send(type="say", text="/join #games", id="j")
    alice.expect("ack", id="j")
    nc.send_raw(b"again in games\n")
    message = alice.expect("message", text="again in games")
    assert message["room"] == "#games" and message["from"] == "nc"


def test_a_listener_that_never_reads_is_dropped_at_the_send_queue_limit(make_server, make_client):
    srv = make_server(rate=0, max_text=8000, max_send_queue=256 * 1024, plain_replies="bare")
    (alice,) = join(srv, make_client, "alice")
    deaf = RawClient(srv.address, bare=True)  # connects, listens, never reads
    try:
        guest = alice.expect("join", timeout=3 * handler_module.LISTEN_AFTER + WAIT)["name"]
        text = "s" * 7000
        for sent in range(5000):  # flood until the server gives up on it
            alice.send(type="say", text=text, id=f"s{sent}")
            message = alice.recv()
            while message["type"] not in ("ack", "leave"):
                message = alice.recv()
            if message["type"] == "leave":
                break
        assert (message["name"], message["reason"]) == (guest, "send queue full")
        assert deaf.wait_closed()  # it reads now: the lines, then why, as bare text
        assert bytes(deaf.received).endswith(
            b"error: you were not reading fast enough; the server dropped you")
    finally:
        deaf.close()
    alice.send(type="say", text="still fine", id="a-last")
    alice.expect("ack", id="a-last")


@pytest.mark.parametrize("line, error", [
    (b"too fast\n", b"error: you are sending too fast"),
    (tb("too fast"), b"error: you are sending too fast"),
])
def test_rate_limits_hold_in_the_line_and_ten_byte_dialects(make_server, make_client, line, error):
    srv = make_server(rate=0.5, burst=2, plain_replies="bare")
    (alice,) = join(srv, make_client, "alice")
    client = RawClient(srv.address, bare=True)
    try:
        client.send_raw((tb("speedy") if line.startswith(b"8") else b"") + line * 4)
        client.expect_text(error)
        texts = []
        while len(texts) < 2:
            event = alice.recv()
            if event["type"] == "message":
                texts.append(event["text"])
        assert texts == ["too fast"] * 2  # the burst, then the limit
    finally:
        client.close()
