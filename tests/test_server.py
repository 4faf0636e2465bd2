"""The server against real sockets: PROTOCOL.md sections 2, 3, 4 and 6, plus the
guarantees of issue 2 (one order for everyone, no blocking broadcast, error
isolation, graceful shutdown, the CLI). Commands (section 5) are in test_commands.py.

"Nothing else arrived" is checked with a marker, never with a sleep: events reach
each client in seq order, so when a later event arrives, anything an earlier event
would have sent has already arrived.
"""

import logging
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

import protocol
from lanchat.netaddr import lan_addresses
from lanchat.server import config as server_config
from lanchat.server import handler
from conftest import ROOT, WAIT, RawClient, wait_for

MiB = 1024 * 1024


# ----------------------------------------------------------------------- helpers

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


# ------------------------------------------------------------ joining (section 2-4)

def test_welcome_has_every_field(chat_server, make_client):
    alice = make_client(chat_server.address)
    before = time.time()
    welcome = alice.hello("alice", client="tests/1")
    assert set(welcome) >= {"type", "name", "users", "server", "max_text", "max_frame",
                            "seq", "session"}
    assert welcome["name"] == "alice"
    assert welcome["users"] == ["alice"]
    assert isinstance(welcome["server"], str) and welcome["server"]
    assert welcome["max_text"] == 4000 and welcome["max_frame"] == 65536
    assert isinstance(welcome["seq"], int) and welcome["seq"] >= 1
    assert isinstance(welcome["session"], str) and len(welcome["session"]) >= 16

    bob = make_client(chat_server.address)
    bob_welcome = bob.hello("bob")
    assert sorted(bob_welcome["users"]) == ["alice", "bob"]
    assert bob_welcome["session"] != welcome["session"]
    join_event = next_frame(alice, type="join", name="bob")
    assert join_event["seq"] == bob_welcome["seq"] > welcome["seq"]
    assert before - 1 <= join_event["ts"] <= time.time() + 1
    assert isinstance(join_event["ts"], float)


def test_welcome_announces_the_configured_limits(make_server, make_client):
    srv = make_server(rate=0, max_text=10, max_frame_bytes=300)
    welcome = make_client(srv.address).hello("alice")
    assert (welcome["max_text"], welcome["max_frame"]) == (10, 300)


def test_keepalive_before_hello_does_not_make_a_plain_connection(chat_server, make_client):
    alice = make_client(chat_server.address)
    alice.send_raw(protocol.KEEPALIVE * 2)
    assert alice.hello("alice")["name"] == "alice"


def test_welcome_comes_first_even_when_frames_are_pipelined_after_hello(make_server, make_client):
    srv = make_server(rate=0, history=0)
    (alice,) = join(srv, make_client, "alice")
    for n in range(10):
        client = make_client(srv.address)
        client.send_raw(b"".join(protocol.message_frame(m) for m in (
            {"type": "hello", "name": f"pipe{n}"}, {"type": "ping", "id": n},
            {"type": "say", "text": " ", "id": "empty"}, {"type": "say", "text": "/who", "id": "w"},
            {"type": "say", "text": "hi", "id": "hi"})))
        assert next_frame(client)["type"] == "welcome"
        assert next_frame(client) == {"type": "pong", "id": n}
        assert error_of(client)["code"] == "empty_text"
        assert next_frame(client, type="users")
        assert next_frame(client, type="ack", id="w")
        assert next_frame(client, type="ack", id="hi")
        next_frame(alice, type="join", name=f"pipe{n}")
        next_frame(alice, type="message", text="hi")


def test_a_taken_name_gets_the_first_free_number(chat_server, make_client):
    make_client(chat_server.address).hello("alice")
    assert make_client(chat_server.address).hello("alice")["name"] == "alice_2"
    assert make_client(chat_server.address).hello("ALICE")["name"] == "ALICE_3"
    welcome = make_client(chat_server.address).hello("Alice")
    assert welcome["name"] == "Alice_4"
    assert sorted(welcome["users"]) == ["ALICE_3", "Alice_4", "alice", "alice_2"]


def test_a_freed_number_is_given_again(chat_server, make_client):
    make_client(chat_server.address).hello("bob")
    second = make_client(chat_server.address)
    assert second.hello("bob")["name"] == "bob_2"
    make_client(chat_server.address).hello("bob")  # bob_3
    second.send(type="bye")
    wait_for(lambda: "bob_2" not in chat_server.room.members, what="bob_2 gone")
    assert make_client(chat_server.address).hello("bob")["name"] == "bob_2"


def test_numbered_name_is_shortened_to_fit_24(chat_server, make_client):
    long = "abcdefghijklmnopqrstuvwx"
    assert make_client(chat_server.address).hello(long)["name"] == long
    assert make_client(chat_server.address).hello(long)["name"] == long[:22] + "_2"
    assert make_client(chat_server.address).hello(long.upper())["name"] == long.upper()[:22] + "_3"


def test_names_are_unique_ignoring_case_the_unicode_way(chat_server, make_client):
    make_client(chat_server.address).hello("Straße")
    assert make_client(chat_server.address).hello("STRASSE")["name"] == "STRASSE_2"
    assert make_client(chat_server.address).hello("ΣΊΣΥΦΟΣ")["name"] == "ΣΊΣΥΦΟΣ"
    assert make_client(chat_server.address).hello("σίσυφος")["name"] == "σίσυφος_2"


def test_names_are_unique_ignoring_case_also_for_numbered_names(chat_server, make_client):
    make_client(chat_server.address).hello("eve")
    make_client(chat_server.address).hello("EVE_2")   # free: nobody holds eve_2
    assert make_client(chat_server.address).hello("Eve")["name"] == "Eve_3"


@pytest.mark.parametrize("name", ["", "x" * 25, "two words", "/slash", "#chan", "*star",
                                  "@at", "tab\t", "esc\x1b", "nb\u00a0sp"])
def test_bad_name_keeps_the_connection_for_another_hello(chat_server, make_client, name):
    client = make_client(chat_server.address)
    client.send(type="hello", name=name)
    assert error_of(client)["code"] == "bad_name"
    assert client.hello("fine")["name"] == "fine"
    assert "fine" in chat_server.room.members


def test_not_welcome_until_a_hello_succeeds(chat_server, make_client):
    (alice,) = join(chat_server, make_client, "alice")
    client = make_client(chat_server.address)
    client.send(type="hello", name="@bad")
    assert error_of(client)["code"] == "bad_name"
    for message in ({"type": "say", "text": "hi", "id": "s1"}, {"type": "ping", "id": 1},
                    {"type": "bye"}, {"type": "say", "text": "/who"}):
        client.send(**message)
        assert error_of(client)["code"] == "not_welcome"
    client.send(type="hello")  # no name: bad_json, still not welcome
    assert error_of(client)["code"] == "bad_json"
    client.send(type="say", text="hi")
    assert error_of(client)["code"] == "not_welcome"
    assert client.hello("carol")["name"] == "carol"
    next_frame(alice, type="join", name="carol")   # nothing of the refused lines leaked
    say(client, "now I can", "c1")
    next_frame(alice, type="message", text="now I can")


def test_a_second_hello_is_refused_and_the_name_is_kept(chat_server, make_client):
    (alice,) = join(chat_server, make_client, "alice")
    alice.send(type="hello", name="other")
    assert error_of(alice)["code"] == "unknown_type"
    assert list(chat_server.room.members) == ["alice"]
    alive(alice)


def test_hello_with_a_lone_surrogate_is_bad_json_and_the_server_lives(chat_server, make_client):
    (alice,) = join(chat_server, make_client, "alice")
    evil = make_client(chat_server.address)
    evil.send_raw(protocol.encode_frame(b'{"type":"hello","name":"x\\udc00"}'))
    assert error_of(evil)["code"] == "bad_json"
    evil.hello("evil")
    evil.send_raw(protocol.encode_frame(b'{"type":"say","text":"a\\ud800","id":"e1"}'))
    assert error_of(evil)["code"] == "bad_json"
    # The journal (which stores then delivers every event) is still running.
    say(evil, "after", "e2")
    next_frame(alice, type="join", name="evil")
    next_frame(alice, type="message", text="after")


# ------------------------------------------------------------- chatting (section 4)

def test_broadcast_goes_to_the_others_and_the_sender_gets_ack(chat_server, make_client):
    alice, bob, carol = join(chat_server, make_client, "alice", "bob", "carol")
    ack = say(alice, "hello all", "a1")
    assert ack == {"type": "ack", "id": "a1", "seq": ack["seq"]}
    for receiver in (bob, carol):
        message = next_frame(receiver, type="message")
        assert message["seq"] == ack["seq"]
        assert (message["from"], message["text"], message["kind"]) == ("alice", "hello all", "chat")
        assert "to" not in message and not message.get("replay")
        assert abs(message["ts"] - time.time()) < 5
    # Alice's next frame is bob's line: her own never came back to her.
    marker(bob, [alice, carol], "from bob")


def test_say_without_id_is_acked_with_null_id(chat_server, make_client):
    alice, bob = join(chat_server, make_client, "alice", "bob")
    alice.send(type="say", text="no id")
    ack = next_frame(alice, type="ack")
    assert ack["id"] is None and isinstance(ack["seq"], int)
    assert next_frame(bob, type="message")["seq"] == ack["seq"]


def test_from_is_set_by_the_server(chat_server, make_client):
    alice, bob = join(chat_server, make_client, "alice", "bob")
    alice.send(type="say", text="I am bob", id="spoof", **{"from": "bob"}, kind="private",
               to="alice", seq=1, ts=0, replay=True)
    ack = next_frame(alice, type="ack", id="spoof")
    message = next_frame(bob, type="message", text="I am bob")
    assert message["from"] == "alice" and message["kind"] == "chat"
    assert message["seq"] == ack["seq"] != 1 and message["ts"] > 0
    assert "to" not in message and not message.get("replay")


def test_unknown_fields_are_ignored(chat_server, make_client):
    alice, bob = join(chat_server, make_client, "alice", "bob")
    alice.send(type="say", text="hi", id="u1", colour="red", future={"x": [1]})
    next_frame(alice, type="ack", id="u1")
    next_frame(bob, type="message", text="hi")


def test_resent_id_is_acked_again_with_the_same_seq_and_broadcast_once(chat_server, make_client):
    alice, bob = join(chat_server, make_client, "alice", "bob")
    first = say(alice, "once", "same-id")
    again = say(alice, "once", "same-id")
    changed = say(alice, "different text, same id", "same-id")
    assert first == again == changed
    next_frame(bob, type="message", text="once")
    marker(alice, [bob], "next")
    # Ids belong to the sender: bob may use the same id for his own line.
    bobs = say(bob, "bob's line", "same-id")
    assert bobs["seq"] > first["seq"]
    next_frame(alice, type="message", text="bob's line")


def test_ping_is_answered_with_the_same_id(chat_server, make_client):
    (alice,) = join(chat_server, make_client, "alice")
    for ping_id in ("p-1", 42, 1.5, None):
        message = {"type": "ping"} if ping_id is None else {"type": "ping", "id": ping_id}
        alice.send(**message)
        assert next_frame(alice) == {"type": "pong", "id": ping_id}


def test_keepalive_gets_no_answer(chat_server, make_client):
    (alice,) = join(chat_server, make_client, "alice")
    alice.send_raw(protocol.KEEPALIVE * 3)
    alice.send(type="ping", id="after")
    assert next_frame(alice) == {"type": "pong", "id": "after"}


def test_bye_tells_the_others_with_the_reason_and_closes(chat_server, make_client):
    alice, bob, carol = join(chat_server, make_client, "alice", "bob", "carol")
    bob.send(type="bye", reason="lunch")
    assert bob.wait_closed()
    for other in (alice, carol):
        leave = next_frame(other, type="leave", name="bob", reason="lunch")
        assert isinstance(leave["seq"], int) and isinstance(leave["ts"], float)
    carol.send(type="bye")
    assert carol.wait_closed()
    next_frame(alice, type="leave", name="carol", reason="bye")
    assert list(chat_server.room.members) == ["alice"]


@pytest.mark.parametrize("how", ["bye", "quit"])
def test_a_leave_reason_is_cleaned_and_bounded(chat_server, make_client, how):
    # The reason goes to everyone (plain clients print it raw): same hygiene as text.
    alice, bob = join(chat_server, make_client, "alice", "bob")
    tut = plain_client(chat_server, make_client, "tut")
    for c in (alice, bob):
        c.expect("nick", new="tut")
    reason = "\x1b[2J\x1b]0;pwned\x07gone " + "z" * 10_000
    if how == "bye":
        bob.send(type="bye", reason=reason)
    else:
        bob.send(type="say", text="/quit " + reason, id="q")
    leave = alice.expect("leave", name="bob")
    assert leave["reason"].startswith("[2J]0;pwnedgone zzz")
    assert len(leave["reason"]) <= 200
    line = tut.recv_line()
    assert line.startswith("* bob left ([2J]0;pwnedgone zzz") and "\x1b" not in line


def test_bye_flushes_the_acks_before_closing(chat_server, make_client):
    alice, bob = join(chat_server, make_client, "alice", "bob")
    for n in range(20):
        alice.send(type="say", text=f"line {n}", id=f"l{n}")
    alice.send(type="bye")
    assert alice.wait_closed()
    acks = [protocol.decode_message(b) for b in alice.bodies]
    assert [a["id"] for a in acks] == [f"l{n}" for n in range(20)]
    assert [bob.recv()["text"] for _ in range(20)] == [f"line {n}" for n in range(20)]
    next_frame(bob, type="leave", name="alice", reason="bye")


def test_half_close_still_gets_the_acks_of_what_was_sent(chat_server, make_client):
    # What ChatConnection.close does: bye, then shutdown(SHUT_WR), then read to the end.
    alice, bob = join(chat_server, make_client, "alice", "bob")
    alice.send_raw(b"".join(protocol.message_frame({"type": "say", "text": f"t{n}", "id": f"t{n}"})
                            for n in range(30)))
    alice.sock.shutdown(socket.SHUT_WR)
    assert alice.wait_closed()
    assert [protocol.decode_message(b)["id"] for b in alice.bodies] == [f"t{n}" for n in range(30)]
    assert [bob.recv()["text"] for _ in range(30)] == [f"t{n}" for n in range(30)]
    assert next_frame(bob, type="leave", name="alice")["reason"] == "connection closed"


def test_hanging_up_is_a_leave(chat_server, make_client):
    alice, bob = join(chat_server, make_client, "alice", "bob")
    bob.close()
    leave = next_frame(alice, type="leave", name="bob")
    assert leave["reason"] == "connection closed"


# --------------------------------------------------------- message errors (section 6)

@pytest.mark.parametrize("body", [
    b"not json", b"{", b"[1, 2]", b'"say"', b"3", b"null", b'{"text":"hi"}',
    b'{"type":5}', b'{"type":null}', b'{"type":"say"}', b'{"type":"say","text":5}',
    b'{"type":"say","text":"hi","id":7}', b'{"type":"say","text":"hi","id":"' + b"i" * 65 + b'"}',
    b'{"type":"ping","id":{}}', b'{"type":"bye","reason":false}',
])
def test_bad_json_answers_and_keeps_the_connection(chat_server, make_client, body):
    alice, bob = join(chat_server, make_client, "alice", "bob")
    alice.send_raw(protocol.encode_frame(body))
    assert error_of(alice)["code"] == "bad_json"
    alive(alice)
    marker(alice, [bob])   # and it broadcast nothing


def test_bad_utf8_answers_and_keeps_the_connection(chat_server, make_client):
    alice, bob = join(chat_server, make_client, "alice", "bob")
    alice.send_raw(protocol.encode_frame(b'{"type":"say","text":"\xff\xfe"}'))
    assert error_of(alice)["code"] == "bad_utf8"
    marker(alice, [bob])


@pytest.mark.parametrize("kind", ["dance", "welcome", "message", "SAY"])
def test_unknown_type_answers_and_keeps_the_connection(chat_server, make_client, kind):
    (alice,) = join(chat_server, make_client, "alice")
    alice.send(type=kind, text="x")
    assert error_of(alice)["code"] == "unknown_type"
    alive(alice)


@pytest.mark.parametrize("text", ["", " ", "\t\n ", "\x00\x07", "\u200b"])
def test_empty_text(chat_server, make_client, text):
    alice, bob = join(chat_server, make_client, "alice", "bob")
    alice.send(type="say", text=text, id="e")
    error = error_of(alice)
    assert (error["code"], error["id"]) == ("empty_text", "e")
    marker(alice, [bob])


def test_text_too_long_counts_code_points(make_server, make_client):
    srv = make_server(rate=0, max_text=10)
    alice, bob = join(srv, make_client, "alice", "bob")
    say(alice, "é" * 10, "fits")           # 20 bytes, 10 characters
    next_frame(bob, type="message", text="é" * 10)
    alice.send(type="say", text="x" * 11, id="long")
    error = error_of(alice)
    assert (error["code"], error["id"]) == ("text_too_long", "long")
    alice.send(type="say", text="/me " + "y" * 11, id="long-me")
    assert error_of(alice)["code"] == "text_too_long"
    marker(alice, [bob], "ok")


def test_too_large_is_discarded_and_the_next_frame_works(make_server, make_client):
    srv = make_server(rate=0, max_frame_bytes=200)
    alice, bob = join(srv, make_client, "alice", "bob")
    big = protocol.message_frame({"type": "say", "text": "z" * 300, "id": "big"})
    ok = protocol.message_frame({"type": "say", "text": "small", "id": "small"})
    alice.send_raw(big + ok)   # in one write: the skip must end exactly at the boundary
    error = error_of(alice)
    assert error["code"] == "too_large"
    next_frame(alice, type="ack", id="small")
    next_frame(bob, type="message", text="small")


def test_too_large_just_under_1_mib_keeps_the_connection(chat_server, make_client):
    alice, bob = join(chat_server, make_client, "alice", "bob")
    alice.send_raw(header(str(MiB)) + b"{" * MiB)
    assert error_of(alice)["code"] == "too_large"
    marker(alice, [bob])


def test_too_large_as_the_first_frame_is_a_json_error(chat_server, make_client):
    client = make_client(chat_server.address)
    client.send_raw(protocol.encode_frame(b"q" * 70000))
    assert error_of(client)["code"] == "too_large"
    assert client.hello("late")["name"] == "late"


def test_over_1_mib_answers_too_large_and_closes(chat_server, make_client):
    alice, bob = join(chat_server, make_client, "alice", "bob")
    alice.send_raw(header(str(MiB + 1)))
    assert error_of(alice)["code"] == "too_large"
    assert alice.wait_closed()
    leave = next_frame(bob, type="leave", name="alice")
    assert leave["reason"]


@pytest.mark.parametrize("bad", [b"abc", b"+5", b"1_0", b"-1", b" 1 2", b"5\t", "١".encode(), b""])
def test_bad_header_sends_bad_header_then_closes(chat_server, make_client, bad):
    alice, bob = join(chat_server, make_client, "alice", "bob")
    alice.send_raw(bad.ljust(64) + b"hello")
    error = error_of(alice)
    assert error["code"] == "bad_header"
    assert alice.wait_closed()
    next_frame(bob, type="leave", name="alice")


def test_bad_header_as_the_first_frame_is_a_json_error_then_close(chat_server, make_client):
    client = make_client(chat_server.address)
    client.send_raw(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".ljust(64))
    assert error_of(client)["code"] == "bad_header"
    assert client.wait_closed()
    assert chat_server.room.members == {}


def test_someone_typing_into_telnet_gets_bad_header_at_once(chat_server, make_client):
    client = make_client(chat_server.address)
    client.send_raw(b"hello?\r\n")          # far less than a 64-byte header
    assert error_of(client)["code"] == "bad_header"   # well before the frame timeout
    assert client.wait_closed()


def test_frame_split_into_single_bytes_is_one_frame(chat_server, make_client):
    alice, bob = join(chat_server, make_client, "alice", "bob")
    frame = protocol.message_frame({"type": "say", "text": "slow ✓", "id": "s"})
    for i in range(len(frame)):
        alice.send_raw(frame[i:i + 1])
    next_frame(alice, type="ack", id="s")
    next_frame(bob, type="message", text="slow ✓")


def test_many_frames_in_one_write(chat_server, make_client):
    alice, bob = join(chat_server, make_client, "alice", "bob")
    alice.send_raw(b"".join(protocol.message_frame({"type": "say", "text": f"m{n}", "id": f"m{n}"})
                            + protocol.KEEPALIVE for n in range(50)))
    assert [alice.recv()["id"] for _ in range(50)] == [f"m{n}" for n in range(50)]
    assert [bob.recv()["text"] for _ in range(50)] == [f"m{n}" for n in range(50)]


# ------------------------------------------------------------------- plain clients

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


def test_tutorial_client_works_unchanged(chat_server, make_client):
    (alice,) = join(chat_server, make_client, "alice")
    sock = socket.create_connection(chat_server.address, timeout=WAIT)
    try:
        received = b""
        received += tutorial_send(sock, "Hello World!")
        received += tutorial_send(sock, "Hello Everyone!")
        received += tutorial_send(sock, "Hello Tim!")
        received += tutorial_send(sock, "!DISCONNECT")
        while True:   # whatever is left until the server closes (bounded by the timeout)
            data = sock.recv(2048)
            if not data:
                break
            received += data
    finally:
        sock.close()
    decoder = protocol.FrameDecoder()
    decoder.feed(received)
    lines = [body.decode() for body in decoder.events()]
    assert lines == ["Msg received"] * 3 + ["Goodbye"]
    join_event = next_frame(alice, type="join")
    guest = join_event["name"]
    assert re.fullmatch(r"guest-\d+", guest)
    for text in ("Hello World!", "Hello Everyone!", "Hello Tim!"):
        message = next_frame(alice, type="message", text=text)
        assert (message["from"], message["kind"]) == (guest, "chat")
    next_frame(alice, type="leave", name=guest, reason="quit")


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


# ------------------------------------------------------------------- one order

def test_total_order_with_five_concurrent_senders(chat_server, make_client):
    senders = join(chat_server, make_client, *[f"s{n}" for n in range(5)])
    observer = make_client(chat_server.address)
    observer.hello("observer")
    for s in senders:
        s.expect("join", name="observer")
    lines = 200
    total = len(senders) * lines
    received = {}
    errors = []
    start = threading.Barrier(len(senders))

    def run(index, client):
        try:
            start.wait()
            for n in range(lines):
                client.send(type="say", text=f"s{index} {n}", id=f"{n}")
            received[index] = [client.recv(timeout=20) for _ in range(total)]
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(senders)]
    for t in threads:
        t.start()
    seen = [observer.recv(timeout=20) for _ in range(total)]
    for t in threads:
        t.join(30)
    assert not errors, errors
    assert [m["type"] for m in seen] == ["message"] * total
    order = [m["seq"] for m in seen]
    assert order == sorted(order) and len(set(order)) == total
    texts_by_seq = {m["seq"]: (m["from"], m["text"]) for m in seen}
    for index, stream in received.items():
        seqs = [m["seq"] for m in stream]
        assert seqs == sorted(seqs) and len(set(seqs)) == total, f"s{index} out of order"
        for m in stream:
            if m["type"] == "ack":
                # the ack's seq is the one everyone else saw for that line
                assert texts_by_seq[m["seq"]] == (f"s{index}", f"s{index} {m['id']}")
            else:
                assert m["type"] == "message" and m["from"] != f"s{index}"
                assert texts_by_seq[m["seq"]] == (m["from"], m["text"])
    for index in range(len(senders)):
        mine = [int(t.split()[1]) for f, t in (texts_by_seq[s] for s in order) if f == f"s{index}"]
        assert mine == list(range(lines))  # each sender's lines in the order sent


def test_one_order_over_every_kind_of_event(make_server, make_client):
    srv = make_server(rate=0, history=0)
    senders = join(srv, make_client, "s0", "s1", "s2")
    observer = make_client(srv.address)
    observer.hello("observer")
    for s in senders:
        s.expect("join", name="observer")
    errors = []

    def talk(index, client):
        try:
            for n in range(100):
                text = f"/msg observer p{n}" if n % 10 == 0 else f"/me m{n}" if n % 7 == 0 else f"m{n}"
                client.send(type="say", text=text, id=str(n))
                if n % 25 == 0:
                    client.send(type="say", text=f"/nick s{index}x{n}", id=f"nick{n}")
        except BaseException as exc:
            errors.append(exc)

    def churn():
        try:
            for n in range(15):
                visitor = RawClient(srv.address)
                visitor.hello(f"visitor{n}")
                visitor.send(type="bye", reason=f"visit {n} over")
                visitor.wait_closed()
                visitor.close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=talk, args=(i, c)) for i, c in enumerate(senders)]
    threads.append(threading.Thread(target=churn))
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert not errors, errors
    kinds = {"message": 0, "join": 0, "leave": 0, "nick": 0}
    seqs = []
    while kinds["message"] < 300 or kinds["leave"] < 15:
        event = observer.recv(timeout=10)
        kinds[event["type"]] += 1
        seqs.append(event["seq"])
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert kinds == {"message": 300, "join": 15, "leave": 15, "nick": 12}


def test_200_clients_in_one_room(chat_server, make_client):
    clients = []
    for n in range(200):
        client = make_client(chat_server.address)
        client.send(type="hello", name=f"user{n}")
        clients.append(client)
    for n, client in enumerate(clients):
        assert client.expect("welcome")["name"] == f"user{n}"
    wait_for(lambda: len(chat_server.room.members) == 200, what="200 members")
    clients[0].send(type="say", text="hello 200", id="x")
    ack = clients[0].expect("ack", id="x", timeout=10)   # after the 199 joins it saw
    for client in clients[1:]:
        message = client.expect("message", timeout=10)
        assert (message["text"], message["seq"], message["from"]) == ("hello 200", ack["seq"], "user0")
    last = clients[-1]
    last.send(type="say", text="/who", id="who")
    users = last.expect("users")["users"]
    assert sorted(users) == sorted(f"user{n}" for n in range(200))


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
    stalled.hello("stalled")
    for client in others:
        client.expect("join", name="stalled")
    # And a small send buffer on the server's side of it (autotuning would take MBs).
    stalled_queue = srv.room.members["stalled"].out.out
    stalled_queue._sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8192)
    return stalled, stalled_queue


def test_a_client_that_stops_reading_does_not_delay_the_others(make_server, make_client, request):
    srv = make_server(rate=0, max_send_queue=64 * MiB)
    alice, bob = join(srv, make_client, "alice", "bob")
    stalled, stalled_queue = stalled_client(srv, request, [alice, bob])
    count, text = 800, "w" * 4000   # 3.2 MB of chat
    frames = b"".join(protocol.message_frame({"type": "say", "text": text, "id": str(n)})
                      for n in range(count))
    started = time.monotonic()
    sender = threading.Thread(target=alice.send_raw, args=(frames,))
    sender.start()
    for n in range(count):
        assert bob.recv(timeout=10)["type"] == "message"
    elapsed = time.monotonic() - started
    sender.join(WAIT)
    assert [alice.recv()["id"] for _ in range(count)] == [str(n) for n in range(count)]
    assert stalled_queue.queued_bytes > 2 * MiB, "the stalled reader's frames were queued"
    assert "stalled" in srv.room.members
    assert elapsed < 10
    # It lost nothing: once it reads again, every line is there, in order.
    got = [stalled.recv(timeout=10) for _ in range(count)]
    assert [m["seq"] for m in got] == sorted(m["seq"] for m in got)
    assert {m["text"] for m in got} == {text}


def test_an_exception_in_one_connection_spares_the_others(chat_server, make_client,
                                                          monkeypatch, caplog):
    original = handler.said

    def said(room, member, items):
        if member.name == "mallory":
            raise RuntimeError("bug triggered by mallory")
        return original(room, member, items)

    monkeypatch.setattr(handler, "said", said)
    caplog.set_level(logging.ERROR, logger="chat.server")
    alice, bob, mallory = join(chat_server, make_client, "alice", "bob", "mallory")
    mallory.send(type="say", text="boom", id="m")
    assert mallory.wait_closed()
    next_frame(alice, type="leave", name="mallory")
    next_frame(bob, type="leave", name="mallory")
    marker(alice, [bob], "still fine")
    port = mallory.sock.getsockname()[1]
    wait_for(lambda: any(f"127.0.0.1:{port}" in r.getMessage() and r.exc_info
                         for r in caplog.records), what="the error logged with the peer")
    assert make_client(chat_server.address).hello("newcomer")["name"] == "newcomer"


def test_a_failing_delivery_to_one_member_spares_the_others(chat_server, make_client, caplog):
    alice, mallory, bob = join(chat_server, make_client, "alice", "mallory", "bob")
    member = chat_server.room.members["mallory"]

    class Broken:
        """mallory's outbound path has a bug (not an OSError: a bug)."""

        def __init__(self, real):
            self.real = real

        def __getattr__(self, name):
            return getattr(self.real, name)

        def send(self, data):
            raise RuntimeError("bug in mallory's send path")

    member.out = Broken(member.out)
    caplog.set_level(logging.ERROR)
    ack = say(alice, "for everyone", "a")
    assert next_frame(bob, type="message", text="for everyone")["seq"] == ack["seq"]
    # mallory is dropped rather than left half-working
    for other in (alice, bob):
        assert next_frame(other, type="leave", name="mallory")["reason"] == "internal error"
    assert mallory.wait_closed()
    marker(bob, [alice], "later")
    peer = "127.0.0.1:%d" % mallory.sock.getsockname()[1]
    assert any(peer in r.getMessage() and r.exc_info for r in caplog.records)


# ------------------------------------------------------------------- shutdown

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


# ------------------------------------------------------------------- the CLI

class ServerProcess:
    """``python server.py`` as a subprocess, with its output read on a thread."""

    def __init__(self, *args):
        self.proc = subprocess.Popen(
            [sys.executable, "server.py", "--host", "127.0.0.1", "--db", ":memory:",
             "--log-level", "WARNING", *args],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines = queue.Queue()
        self.output = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.output.append(line)
            self.lines.put(line)

    def wait_line(self, pattern, timeout=WAIT):
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no line matching {pattern!r}; got {self.output}") from None
            match = re.search(pattern, line)
            if match:
                return match
            if time.monotonic() > deadline:
                raise AssertionError(f"no line matching {pattern!r}; got {self.output}")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(WAIT)
        self.proc.stdout.close()
        self.proc.stderr.close()


@pytest.fixture
def server_process():
    started = []

    def factory(*args):
        process = ServerProcess(*args)
        started.append(process)
        return process

    yield factory
    for process in started:
        process.stop()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_server_cli_prints_how_to_connect_and_stops_cleanly(server_process, sig):
    srv = server_process("--port", "0")
    match = srv.wait_line(r"clients can connect with: python client\.py --host (\S+) --port (\d+)")
    assert match.group(1) == "127.0.0.1"
    address = ("127.0.0.1", int(match.group(2)))
    alice = RawClient(address)
    tut = RawClient(address)
    try:
        assert alice.hello("alice")["name"] == "alice"
        tut.send_text("hello from the tutorial")
        assert tut.recv_line() == "Msg received"
        srv.proc.send_signal(sig)
        alice.expect("error", code="shutting_down")
        assert alice.wait_closed()
        assert tut.recv_line() == "error: the server is shutting down"
        assert srv.proc.wait(WAIT + 5) == 0
    finally:
        alice.close()
        tut.close()


def test_server_cli_port_in_use_is_a_readable_error(chat_server, server_process):
    srv = server_process("--port", str(chat_server.port))
    assert srv.proc.wait(WAIT + 5) == 1
    err = srv.proc.stderr.read()
    assert f"cannot listen on 127.0.0.1:{chat_server.port}" in err
    assert "--port" in err


def test_server_cli_options():
    args = server_config.build_parser().parse_args(
        ["--host", "127.0.0.1", "--port", "6000", "--max-frame-bytes", "1000",
         "--max-text", "50", "--log-level", "DEBUG", "--db", "x.db"])
    config = server_config.config_from_args(args)
    assert (config.host, config.port, config.max_frame_bytes, config.max_text, config.db) == \
        ("127.0.0.1", 6000, 1000, 50, "x.db")
    defaults = server_config.config_from_args(server_config.build_parser().parse_args([]))
    assert (defaults.host, defaults.port, defaults.max_frame_bytes, defaults.max_text) == \
        ("0.0.0.0", 5050, 65536, 4000)


def test_lan_addresses_are_ipv4_and_not_loopback_unless_alone():
    import ipaddress
    addresses = lan_addresses()
    assert addresses
    parsed = [ipaddress.IPv4Address(a) for a in addresses]
    assert addresses == ["127.0.0.1"] or not any(p.is_loopback for p in parsed)


def test_a_pong_does_not_overtake_the_welcome_in_a_slow_room(make_server, make_client):
    # The welcome goes out in the journal's send loop, after the others' shares; in
    # a big room that takes a while. A bystander whose sends are slow stands in for
    # thousands of members: the joiner's ping, sent while the loop is still sending,
    # must be answered after its welcome, not before.
    srv = make_server(rate=0)
    bystander = make_client(srv.address)
    bystander.hello("bystander")
    queue = srv.room.members["bystander"].out
    real_send = queue.send
    sending = threading.Event()

    def slow_send(data):
        sending.set()
        time.sleep(0.3)  # the other members' sends, before the joiner's welcome
        return real_send(data)

    queue.send = slow_send
    joiner = make_client(srv.address)
    joiner.send(type="hello", name="joiner")
    assert sending.wait(WAIT), "the join's batch never reached the send loop"
    joiner.send(type="ping", id="p1")
    assert joiner.recv()["type"] == "welcome"
    assert joiner.expect("pong")["id"] == "p1"
