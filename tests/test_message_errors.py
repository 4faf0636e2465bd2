"""Frame and message errors (PROTOCOL.md sections 1 and 6): answered, and the
connection kept or closed as the contract says."""


import pytest

import protocol
from serverhelpers import (MiB, alive, error_of, header, join, marker, next_frame,
                           say)


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


def test_an_http_request_as_the_first_bytes_gets_a_400_then_close(chat_server, make_client):
    client = make_client(chat_server.address, bare=True)
    client.send_raw(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".ljust(64))
    assert client.wait_closed()
    assert bytes(client.received).startswith(b"HTTP/1.0 400 ")
    assert chat_server.room.members == {}


def test_someone_typing_into_telnet_chats_in_lines(chat_server, make_client):
    (alice,) = join(chat_server, make_client, "alice")
    client = make_client(chat_server.address, bare=True)
    client.send_raw(b"hello?\r\n")  # the line dialect (v2), not a bad header
    guest = next_frame(alice, type="join")["name"]
    assert next_frame(alice, type="message", text="hello?")["from"] == guest
    client.send_raw(b"+5 and 1_0 are fine in a line\r\n")
    next_frame(alice, type="message", text="+5 and 1_0 are fine in a line")


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
