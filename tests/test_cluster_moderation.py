"""Ops and kicks across the group (PROTOCOL.md sections 8 and 11, issue 15): an op
given on one server counts on the server its target is connected to, every server's
room objects list the group's ops, and a kick on one server reaches a member
connected to another (out of the room; out of the chat from #lobby).

Each test starts its own ``redis-server`` (tests/redisserver.py) and two in-process
``ChatServer``s sharing it, with real sockets, as in test_cluster.py.
"""

from __future__ import annotations

import pytest

from redisserver import group, needs_redis, redis_server  # noqa: F401 (fixtures)

pytestmark = needs_redis


def command(client, text, msg_id, room=None):
    """Send a command; return the ack or the error that answers it."""
    extra = {"room": room} if room else {}
    client.send(type="say", text=text, id=msg_id, **extra)
    while True:
        message = client.recv()
        if message.get("id") == msg_id and message["type"] in ("ack", "error"):
            return message


def in_room(client, name, room):
    """``client`` joins ``room``; returns the room object of its ``joined``."""
    client.send(type="say", text=f"/join {room}", id=f"join-{name}-{room}")
    return client.expect("joined")["room"]


def test_an_op_given_on_one_server_counts_on_the_other(group, make_client):
    a, b = group(2)
    alice = make_client(a.address)
    alice.hello("alice")
    assert in_room(alice, "alice", "#games")["ops"] == ["alice"]  # its maker
    bob = make_client(b.address)
    bob.hello("bob")
    # The maker connected to A is the op in B's room object too.
    assert in_room(bob, "bob", "#games")["ops"] == ["alice"]
    alice.expect("join", name="bob", room="#games")
    assert command(bob, "/topic mine", "t1", "#games")["code"] == "not_op"

    assert command(alice, "/op bob", "op", "#games")["type"] == "ack"
    bob.expect("mode", change="+op", target="bob", room="#games")
    assert command(bob, "/topic chess at noon", "t2", "#games")["type"] == "ack"
    alice.expect("topic", topic="chess at noon", by="bob")
    carol = make_client(a.address)
    carol.hello("carol")
    dave = make_client(b.address)
    dave.hello("dave")
    assert in_room(carol, "carol", "#games")["ops"] == ["alice", "bob"]
    assert in_room(dave, "dave", "#games")["ops"] == ["alice", "bob"]
    # bob, an op on B, may op someone on A.
    assert command(bob, "/op carol", "op2", "#games")["type"] == "ack"
    carol.expect("mode", change="+op", target="carol")
    assert command(carol, "/slow 5", "slow", "#games")["type"] == "ack"

    assert command(alice, "/deop bob", "deop", "#games")["type"] == "ack"
    bob.expect("mode", change="-op", target="bob")
    assert command(bob, "/topic again", "t3", "#games")["code"] == "not_op"
    for name, server in (("erin", a), ("frank", b)):
        late = make_client(server.address)
        late.hello(name)
        assert in_room(late, name, "#games")["ops"] == ["alice", "carol"]


def test_a_kick_on_one_server_takes_a_member_on_another_out_of_the_room(group, make_client):
    a, b = group(2)
    alice = make_client(a.address)
    alice.hello("alice")
    in_room(alice, "alice", "#games")
    bob = make_client(b.address)
    bob.hello("bob")
    carol = make_client(b.address)
    carol.hello("carol")
    in_room(bob, "bob", "#games")
    in_room(carol, "carol", "#games")
    alice.expect("join", name="carol", room="#games")
    bob.expect("join", name="carol", room="#games")

    alice.send(type="say", text="/kick bob too loud", id="k", room="#games")
    for client in (alice, bob, carol):
        kick = client.expect("kick", room="#games")
        assert (kick["name"], kick["by"], kick["reason"]) == ("bob", "alice", "too loud")
    alice.expect("ack", id="k")
    assert command(bob, "still here?", "s", "#games")["code"] == "not_in_room"
    # Out of the room on both servers: the room objects say so.
    dave = make_client(b.address)
    dave.hello("dave")
    assert in_room(dave, "dave", "#games")["users"] == ["alice", "carol", "dave"]
    erin = make_client(a.address)
    erin.hello("erin")
    assert in_room(erin, "erin", "#games")["users"] == ["alice", "carol", "dave", "erin"]
    # Still in the chat, and may come back.
    assert "bob" in in_room(bob, "bob", "#games")["users"]


def test_a_kick_from_the_lobby_on_one_server_disconnects_on_the_other(group, make_client):
    a, b = group(2, admin_password="sesame")
    alice = make_client(a.address)
    alice.hello("alice")
    assert command(alice, "/admin sesame", "adm")["type"] == "ack"
    bob = make_client(b.address)
    bob.hello("bob")
    carol = make_client(b.address)
    carol.hello("carol")
    alice.expect("join", name="carol")
    bob.expect("join", name="carol")

    alice.send(type="say", text="/kick bob spam", id="k")
    assert alice.expect("kick", name="bob", by="alice")["reason"] == "spam"
    alice.expect("ack", id="k")
    kicked = bob.expect("kick")
    assert (kicked["name"], kicked["by"], kicked["reason"]) == ("bob", "alice", "spam")
    assert bob.wait_closed()
    carol.expect("kick", name="bob")
    for client in (alice, carol):
        left = client.expect("leave", name="bob")
        assert left["reason"] == "kicked by alice: spam"
    # The name is free again in the whole group.
    again = make_client(a.address)
    assert again.hello("bob")["name"] == "bob"


def test_an_admin_of_another_server_is_an_ordinary_member_to_an_op_here(group, make_client):
    a, b = group(2, admin_password="sesame")
    alice = make_client(a.address)
    alice.hello("alice")
    in_room(alice, "alice", "#games")
    bob = make_client(b.address)
    bob.hello("bob")
    assert command(bob, "/admin sesame", "adm")["type"] == "ack"
    in_room(bob, "bob", "#games")
    alice.expect("join", name="bob", room="#games")
    # Admins are per server: alice's server does not know bob is one on B.
    alice.send(type="say", text="/ban bob 5", id="ban", room="#games")
    alice.expect("ack", id="ban")
    kick = bob.expect("kick", room="#games")
    assert (kick["name"], kick["reason"]) == ("bob", "banned")
    bob.send(type="say", text="/join #games", id="back")
    assert bob.expect("error", id="back")["code"] == "banned"


def test_a_server_started_later_knows_the_ops_and_a_rename_keeps_them(group, make_client):
    a, b = group(2)
    alice = make_client(a.address)
    alice.hello("alice")
    in_room(alice, "alice", "#games")
    bob = make_client(b.address)
    bob.hello("bob")
    in_room(bob, "bob", "#games")
    alice.expect("join", name="bob", room="#games")
    assert command(alice, "/op bob", "op", "#games")["type"] == "ack"
    bob.expect("mode", change="+op", target="bob")
    # Renamed on B: on A still in the room, and still an op.
    assert command(bob, "/nick robert", "nick")["type"] == "ack"
    alice.expect("nick", old="bob", new="robert")
    carol = make_client(a.address)
    carol.hello("carol")
    room = in_room(carol, "carol", "#games")
    assert (room["users"], room["ops"]) == (["alice", "robert", "carol"], ["alice", "robert"])
    (c,) = group(1)  # learns the rooms and their ops from the log
    dave = make_client(c.address)
    dave.hello("dave")
    room = in_room(dave, "dave", "#games")
    assert room["ops"] == ["alice", "robert"]
