"""Rooms in the client library (PROTOCOL.md sections 3-5, 8): which rooms the client
is in, and the frames ``join``, ``part`` and ``say(room=)`` send."""

from __future__ import annotations

import socket

import pytest
from test_connection import FakeServer, collect_until, connected_to_fake as connected, next_event, next_frame

import protocol
from lanchat.client.connection import ChatConnection
from lanchat.client.rooms import RoomTracker


def room(name, **extra):
    return {"room": name, "topic": "", "users": ["me"], "ops": [], "slow": 0, "muted": False,
            **extra}


# ---------------------------------------------------------------- the tracker (pure)

def test_the_lobby_and_the_wanted_rooms_are_asked_for_before_any_welcome():
    assert RoomTracker().names() == ["#lobby"]
    assert RoomTracker(["#games", "#lobby", "#GAMES"]).names() == ["#lobby", "#games"]


def test_the_welcome_is_the_truth():
    rooms = RoomTracker(["#games"])
    rooms.welcome({"type": "welcome", "rooms": [room("#lobby"), room("#art")]})
    assert rooms.names() == ["#lobby", "#art"]
    rooms.welcome({"type": "welcome"})  # a server without rooms: #lobby only
    assert rooms.names() == ["#lobby"]


def test_joined_adds_and_a_live_part_of_me_removes():
    rooms = RoomTracker()
    rooms.apply({"type": "joined", "seq": 5, "room": room("#games")}, "me")
    rooms.apply({"type": "joined", "seq": 6, "room": room("#Art")}, "me")
    assert rooms.names() == ["#lobby", "#games", "#Art"]
    rooms.apply({"type": "part", "seq": 7, "name": "bob", "room": "#games"}, "me")
    rooms.apply({"type": "part", "seq": 8, "name": "me", "room": "#art", "replay": True}, "me")
    assert rooms.names() == ["#lobby", "#games", "#Art"]
    rooms.apply({"type": "part", "seq": 9, "name": "me", "room": "#ART"}, "me")
    assert rooms.names() == ["#lobby", "#games"]


def test_a_kick_of_me_leaves_that_room_but_never_the_lobby():
    rooms = RoomTracker(["#games"])
    rooms.apply({"type": "kick", "seq": 3, "name": "me", "by": "op", "room": "#lobby"}, "me")
    rooms.apply({"type": "kick", "seq": 4, "name": "bob", "by": "op", "room": "#games"}, "me")
    assert rooms.names() == ["#lobby", "#games"]
    rooms.apply({"type": "kick", "seq": 5, "name": "me", "by": "op", "room": "#games"}, "me")
    assert rooms.names() == ["#lobby"]


def test_junk_room_objects_change_nothing():
    rooms = RoomTracker()
    for junk in (None, "#games", {"room": 7}, {"topic": "x"}):
        rooms.apply({"type": "joined", "seq": 1, "room": junk}, "me")
    rooms.welcome({"type": "welcome", "rooms": ["#x", None, room("#ok")]})
    assert rooms.names() == ["#lobby", "#ok"]


# ---------------------------------------------------------------- against a fake server

def test_join_part_and_say_send_exactly_these_frames():
    fake, conn = connected(rooms=[room("#lobby")])
    try:
        ids = [conn.join("#games"), conn.say("hi", room="#games"), conn.say("lobby line"),
               conn.say("also lobby", room="#lobby"), conn.part("#games"),
               conn.part("#art", reason="see you")]
        frames = [next_frame(fake) for _ in ids]
        assert frames == [
            {"type": "say", "text": "/join #games", "id": ids[0]},
            {"type": "say", "text": "hi", "room": "#games", "id": ids[1]},
            {"type": "say", "text": "lobby line", "id": ids[2]},
            {"type": "say", "text": "also lobby", "id": ids[3]},
            {"type": "say", "text": "/part #games", "room": "#games", "id": ids[4]},
            {"type": "say", "text": "/part #art see you", "room": "#art", "id": ids[5]}]
        with pytest.raises(ValueError):
            conn.join("#two words")
    finally:
        fake.close()
        conn.close(timeout=1.0)


def test_inbound_room_events_update_rooms_and_reach_the_queue_once():
    fake, conn = connected(rooms=[room("#lobby")])
    try:
        frames = [{"type": "joined", "seq": 2, "room": room("#games")},
                  {"type": "joined", "seq": 2, "room": room("#games")},   # a duplicate
                  {"type": "topic", "seq": 3, "ts": 1.0, "room": "#games", "topic": "t", "by": "me"},
                  {"type": "rooms", "rooms": [{"room": "#games", "topic": "t", "users": 1}]},
                  {"type": "part", "seq": 4, "ts": 1.0, "name": "me", "room": "#games", "reason": None},
                  {"type": "system", "text": "marker"}]
        for frame in frames:
            fake.conn.sendall(protocol.message_frame(frame))
        got = collect_until(conn, lambda ev: ev[-1]["type"] == "system", "the marker")
        kinds = [e["type"] for e in got if e["type"] in ("joined", "topic", "rooms", "part")]
        assert kinds == ["joined", "topic", "rooms", "part"]
        assert conn.rooms == ["#lobby"] and conn.last_seq == 4
    finally:
        fake.close()
        conn.close(timeout=1.0)


def test_a_kick_from_another_room_does_not_end_the_session():
    fake, conn = connected(rooms=[room("#lobby"), room("#games")])
    try:
        assert conn.rooms == ["#lobby", "#games"]
        fake.conn.sendall(protocol.message_frame(
            {"type": "kick", "seq": 2, "ts": 1.0, "room": "#games", "name": "me", "by": "op",
             "reason": "out"}))
        assert next_event(conn, "kick")["room"] == "#games"
        assert conn.rooms == ["#lobby"]
        conn.say("still here")
        assert next_frame(fake)["text"] == "still here"
    finally:
        fake.close()
        conn.close(timeout=1.0)


def test_a_reconnect_asks_for_the_same_rooms_and_resends_lines_to_their_room():
    fake = FakeServer()
    conn = ChatConnection("127.0.0.1", fake.port, "me", rooms=["#start"]).start()
    try:
        fake.accept_and_welcome(rooms=[room("#lobby"), room("#start")])
        assert fake.hello["rooms"] == ["#lobby", "#start"]
        next_event(conn, "connected")
        fake.conn.sendall(protocol.message_frame({"type": "joined", "seq": 2, "room": room("#games")}))
        next_event(conn, "joined")
        line = conn.say("unacked", room="#games")
        assert next_frame(fake)["room"] == "#games"
        fake.conn.shutdown(socket.SHUT_RDWR)
        fake.conn.close()
        fake.hello, fake.conn = None, None
        fake.accept_and_welcome(rooms=[room("#lobby"), room("#start"), room("#games")])
        assert fake.hello["rooms"] == ["#lobby", "#start", "#games"]
        assert fake.hello["resume"] == "s"
        assert next_frame(fake) == {"type": "say", "text": "unacked", "room": "#games", "id": line}
    finally:
        fake.close()
        conn.close(timeout=1.0)
