"""Joining (PROTOCOL.md sections 2-4): the welcome, names, hello rules."""

import time

import pytest

import protocol
from conftest import wait_for
from serverhelpers import (alive, error_of, join, next_frame,
                           say)


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
