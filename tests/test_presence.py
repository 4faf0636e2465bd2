"""Presence (PROTOCOL.md section 9): typing relayed without a seq, never counted
against the rate, at most 2 a second; /away and /back as presence events, and who is
away in welcome and users (in #lobby, where everyone is; rooms: test_rooms.py)."""

import pytest

import protocol
from serverhelpers import error_of, join, marker, next_frame, plain_client, say


def command(client, text, msg_id) -> dict:
    """Send /away or /back: the sender's own presence comes first, then its ack."""
    client.send(type="say", text=text, id=msg_id)
    presence = next_frame(client, type="presence")
    assert next_frame(client, type="ack", id=msg_id)["seq"] is None
    return presence


def typing(client, state="active", **target):
    client.send(type="typing", state=state, **(target or {"room": "#lobby"}))


def test_typing_goes_to_the_others_without_a_seq(chat_server, make_client):
    alice, bob, carol = join(chat_server, make_client, "alice", "bob", "carol")
    typing(alice)
    for other in (bob, carol):
        event = next_frame(other, type="typing", name="alice", state="active", room="#lobby")
        assert "seq" not in event
    marker(bob, [alice, carol])  # alice got nothing for her own typing


@pytest.mark.parametrize("state", ["active", "paused", "done"])
def test_every_typing_state_is_relayed(chat_server, make_client, state):
    alice, bob = join(chat_server, make_client, "alice", "bob")
    typing(alice, state)
    next_frame(bob, type="typing", name="alice", state=state)


def test_typing_to_a_person_reaches_only_them(chat_server, make_client):
    alice, bob, carol = join(chat_server, make_client, "alice", "bob", "carol")
    typing(alice, to="Carol")
    event = next_frame(carol, type="typing", name="alice", state="active", to="carol")
    assert "room" not in event
    marker(alice, [bob, carol])  # bob saw nothing


def test_typing_to_nobody_or_to_yourself_is_dropped(chat_server, make_client):
    alice, bob = join(chat_server, make_client, "alice", "bob")
    typing(alice, to="nobody")
    typing(alice, to="alice")
    marker(alice, [bob])


def test_typing_is_not_counted_against_the_rate(make_server, make_client):
    srv = make_server(rate=0.5, burst=2)
    alice, bob = join(srv, make_client, "alice", "bob")
    for _ in range(2):
        typing(alice)
        next_frame(bob, type="typing", name="alice")
        # Spaced by a line of bob's, so the typing limit (2 a second) is not hit.
        marker(bob, [alice], text=f"tick {_}")
    say(alice, "one", "1")
    say(alice, "two", "2")  # both lines pass: the burst is intact


def test_a_typing_flood_is_cut_to_two_a_second_silently(chat_server, make_client):
    alice, bob = join(chat_server, make_client, "alice", "bob")
    for _ in range(200):
        typing(alice)
    ack = say(alice, "after the flood", "f")
    relayed = 0
    while True:
        event = bob.recv()
        if event["type"] == "message":
            assert event["seq"] == ack["seq"]
            break
        assert event["type"] == "typing"
        relayed += 1
    # The burst (2), plus what the allowance refilled while the 200 were read.
    assert 1 <= relayed <= 4
    assert alice.bodies == []  # no errors for the dropped ones


@pytest.mark.parametrize("frame, code", [
    ({"type": "typing", "state": "dancing", "room": "#lobby"}, "bad_json"),
    ({"type": "typing", "room": "#lobby"}, "bad_json"),
    ({"type": "typing", "state": "active", "room": 5}, "bad_json"),
    ({"type": "typing", "state": "active", "room": "#lobby", "to": "bob"}, "bad_json"),
    ({"type": "typing", "state": "active", "room": "#nowhere"}, "no_such_room"),
    ({"type": "typing", "state": "active", "room": "lobby"}, "bad_room"),
])
def test_a_bad_typing_frame_gets_its_error_and_the_connection_stays(chat_server, make_client,
                                                                     frame, code):
    alice, bob = join(chat_server, make_client, "alice", "bob")
    alice.send(**frame)
    assert error_of(alice)["code"] == code
    marker(alice, [bob])


def test_plain_clients_get_no_typing_frames(chat_server, make_client):
    (alice,) = join(chat_server, make_client, "alice")
    plain = plain_client(chat_server, make_client, "tutor")
    alice.expect("nick", new="tutor")
    typing(alice)
    say(alice, "hello tutor", "h")
    assert plain.recv_line() == "alice: hello tutor"


def test_away_and_back_are_presence_events_for_everyone(chat_server, make_client):
    alice, bob = join(chat_server, make_client, "alice", "bob")
    mine = command(alice, "/away lunch, back at 1", "a")
    for event in (mine, next_frame(bob, type="presence")):
        assert event == {"type": "presence", "name": "alice", "away": "lunch, back at 1"}
    assert command(alice, "/back", "b")["away"] is None
    next_frame(bob, type="presence", name="alice", away=None)
    say(alice, "/back", "b2")  # back already: only the ack
    marker(alice, [bob])


def test_away_without_a_message_says_away(chat_server, make_client):
    alice, bob = join(chat_server, make_client, "alice", "bob")
    command(alice, "/away", "a")
    next_frame(bob, type="presence", name="alice", away="away")


def test_who_is_away_is_in_users_and_in_the_welcome(chat_server, make_client):
    alice, bob = join(chat_server, make_client, "alice", "bob")
    command(alice, "/away  in a meeting\x07 ", "a")
    next_frame(bob, type="presence", name="alice", away="in a meeting")
    bob.send(type="say", text="/who", id="w")
    users = next_frame(bob, type="users")
    assert users["away"] == {"alice": "in a meeting"}
    carol = make_client(chat_server.address)
    assert carol.hello("carol")["away"] == {"alice": "in a meeting"}
    alice.expect("join", name="carol")
    alice.send(type="say", text="/nick alicia", id="n")
    bob.expect("nick", new="alicia")
    bob.send(type="say", text="/who", id="w2")
    assert bob.expect("users")["away"] == {"alicia": "in a meeting"}


def test_nobody_away_is_an_empty_object(chat_server, make_client):
    alice = make_client(chat_server.address)
    assert alice.hello("alice")["away"] == {}
    alice.send(type="say", text="/who", id="w")
    assert alice.expect("users")["away"] == {}


def test_leaving_ends_away(chat_server, make_client):
    alice, bob = join(chat_server, make_client, "alice", "bob")
    command(alice, "/away", "a")
    next_frame(bob, type="presence", name="alice")
    alice.close()
    bob.expect("leave", name="alice")
    assert make_client(chat_server.address).hello("carol")["away"] == {}


def test_plain_clients_read_presence_as_a_line(chat_server, make_client):
    (alice,) = join(chat_server, make_client, "alice")
    plain = plain_client(chat_server, make_client, "tutor")
    alice.expect("nick", new="tutor")
    command(alice, "/away lunch", "a")
    assert plain.recv_line() == "* alice is away: lunch"
    command(alice, "/back", "b")
    assert plain.recv_line() == "* alice is back"
    plain.send_text("/away")
    assert plain.recv_line() == "* tutor is away: away"
    next_frame(alice, type="presence", name="tutor", away="away")


def test_the_away_message_is_bounded(chat_server, make_client):
    alice, bob = join(chat_server, make_client, "alice", "bob")
    command(alice, "/away " + "z" * 5000, "a")
    event = next_frame(bob, type="presence", name="alice")
    assert len(event["away"]) == 200
