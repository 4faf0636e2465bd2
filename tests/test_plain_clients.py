"""Plain (tutorial) clients: 64-byte frames, text lines, the same room as everyone."""

import re
import socket


import protocol
from conftest import WAIT
from serverhelpers import (join, next_frame,
                           plain_client, say)


def tutorial_send(sock, msg: str) -> bytes:
    """The classic tutorial client's send(), unchanged but returning what it printed."""
    HEADER = 64
    FORMAT = "utf-8"
    message = msg.encode(FORMAT)
    msg_length = len(message)
    send_length = str(msg_length).encode(FORMAT)
    send_length += b" " * (HEADER - len(send_length))
    sock.send(send_length)
    sock.send(message)
    return sock.recv(2048)


def test_tutorial_client_works_unchanged(make_server, make_client):
    srv = make_server(rate=0, plain_replies="bare")  # the default: the replies are bare text
    (alice,) = join(srv, make_client, "alice")
    sock = socket.create_connection(srv.address, timeout=WAIT)
    try:
        printed = [tutorial_send(sock, text) for text in
                   ("Hello World!", "Hello Everyone!", "Hello Tim!", "!DISCONNECT")]
        assert sock.recv(2048) == b""  # then the server closes
    finally:
        sock.close()
    assert printed == [b"Msg received"] * 3 + [b"Goodbye"]
    join_event = next_frame(alice, type="join")
    guest = join_event["name"]
    assert re.fullmatch(r"guest-\d+", guest)
    for text in ("Hello World!", "Hello Everyone!", "Hello Tim!"):
        message = next_frame(alice, type="message", text=text)
        assert (message["from"], message["kind"]) == (guest, "chat")
    next_frame(alice, type="leave", name=guest, reason="quit")


def test_plain_replies_framed_is_version_1(make_server, make_client):
    srv = make_server(rate=0, plain_replies="framed")
    sock = socket.create_connection(srv.address, timeout=WAIT)
    try:
        received = tutorial_send(sock, "Hello World!")
        while len(received) < 64 + len("Msg received"):
            received += sock.recv(2048)
    finally:
        sock.close()
    assert received == protocol.encode_frame("Msg received")


def test_plain_guests_get_distinct_numbers(chat_server, make_client):
    (alice,) = join(chat_server, make_client, "alice")
    names = []
    for _ in range(3):
        client = make_client(chat_server.address)
        client.send_text("hi")
        assert client.recv_line() == "Msg received"
        names.append(next_frame(alice, type="join")["name"])
        next_frame(alice, type="message", text="hi")
    assert len(set(names)) == 3 and all(re.fullmatch(r"guest-\d+", n) for n in names)


def test_plain_guest_name_skips_numbers_a_structured_user_took(chat_server, make_client):
    (alice,) = join(chat_server, make_client, "alice")
    squatters = [make_client(chat_server.address) for _ in range(3)]
    for n, squatter in enumerate(squatters, 1):
        squatter.hello(f"GUEST-{n}")
        alice.expect("join", name=f"GUEST-{n}")
    client = make_client(chat_server.address)
    client.send_text("who am I")
    assert client.recv_line() == "Msg received"
    name = next_frame(alice, type="join")["name"]
    assert re.fullmatch(r"guest-\d+", name) and name not in ("guest-1", "guest-2", "guest-3")


def test_plain_and_structured_chat_both_ways(chat_server, make_client):
    alice, = join(chat_server, make_client, "alice")
    tut = plain_client(chat_server, make_client, "tut")
    guest = next_frame(alice, type="join")["name"]
    next_frame(alice, type="nick", old=guest, new="tut")
    # structured -> plain
    say(alice, "hi tut", "a1")
    assert tut.recv_line() == "alice: hi tut"
    alice.send(type="say", text="/me waves", id="a2")
    next_frame(alice, type="ack", id="a2")
    assert tut.recv_line() == "* alice waves"
    alice.send(type="say", text="/msg tut psst", id="a3")
    next_frame(alice, type="ack", id="a3")
    assert tut.recv_line() == "(private) alice: psst"
    # plain -> structured
    tut.send_text("hi alice")
    assert tut.recv_line() == "Msg received"
    message = next_frame(alice, type="message", text="hi alice")
    assert (message["from"], message["kind"]) == ("tut", "chat")
    tut.send_text("/me bows")
    assert tut.recv_line() == "Msg received"
    assert next_frame(alice, type="message", kind="action")["text"] == "bows"
    tut.send_text("/msg alice secret")
    assert tut.recv_line() == "Msg received"
    private = next_frame(alice, type="message", kind="private")
    assert (private["from"], private["to"], private["text"]) == ("tut", "alice", "secret")
    # joins, nicks and leaves are lines too
    bob = make_client(chat_server.address)
    bob.hello("bob")
    assert tut.recv_line() == "* bob joined"
    bob.send(type="say", text="/nick bobby", id="n")
    assert tut.recv_line() == "* bob is now known as bobby"
    bob.send(type="bye", reason="gone fishing")
    assert tut.recv_line() == "* bobby left (gone fishing)"


def test_plain_errors_are_lines_starting_with_error(make_server, make_client):
    srv = make_server(rate=0, max_text=20, max_frame_bytes=100)
    tut = plain_client(srv, make_client, "tut")
    for body in (b"/dance", b"   ", b"\xff\xfe", b"x" * 21, b"/msg nobody hi",
                 b"/nick #bad", b"y" * 101):
        tut.send_raw(protocol.encode_frame(body))
        line = tut.recv_line()
        assert line.startswith("error: ") and len(line) > len("error: "), (body, line)
    tut.send_text("still here")
    assert tut.recv_line() == "Msg received"


def test_plain_keepalive_gets_no_answer(chat_server, make_client):
    tut = plain_client(chat_server, make_client, "tut")
    tut.send_raw(protocol.KEEPALIVE)
    tut.send_text("after")
    assert tut.recv_line() == "Msg received"


def test_plain_bad_header_is_an_error_line_then_close(chat_server, make_client):
    (alice,) = join(chat_server, make_client, "alice")
    tut = plain_client(chat_server, make_client, "tut")
    tut.send_raw(b"x".ljust(64))
    assert tut.recv_line().startswith("error: ")
    assert tut.wait_closed()
    alice.expect("nick", new="tut")
    next_frame(alice, type="leave", name="tut")


def test_plain_first_frame_json_that_is_not_hello_is_a_chat_line(chat_server, make_client):
    (alice,) = join(chat_server, make_client, "alice")
    client = make_client(chat_server.address)
    client.send_text('{"type": "say", "text": "sneaky"}')
    assert client.recv_line() == "Msg received"
    next_frame(alice, type="join")
    assert next_frame(alice, type="message")["text"] == '{"type": "say", "text": "sneaky"}'
