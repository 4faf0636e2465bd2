"""Chatting (PROTOCOL.md section 4): broadcast and acks, ids, ping, bye and leaving."""

import socket
import time

import pytest

import protocol
from serverhelpers import (join, marker, next_frame,
                           plain_client, say)


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
