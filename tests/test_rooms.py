"""Rooms (PROTOCOL.md section 8): /join, /part, /rooms, a say's room, hello's rooms,
per-room history, topics, ops and moderation, plain clients' current room, limits."""

import pytest

import protocol
from serverhelpers import error_of, join, marker, next_frame, plain_client, say


def enter(client, room, msg_id="j"):
    """/join ROOM: the joiner's ``joined`` (room object), its history, then the ack."""
    client.send(type="say", text=f"/join {room}", id=msg_id)
    joined = next_frame(client, type="joined")
    history = []
    while True:
        frame = client.recv()
        if frame["type"] == "ack":
            assert frame["id"] == msg_id
            return joined, history
        history.append(frame)


def say_in(client, room, text, msg_id) -> dict:
    client.send(type="say", text=text, id=msg_id, room=room)
    return next_frame(client, type="ack", id=msg_id)


def refused(client, text, msg_id, code, room=None):
    client.send(type="say", text=text, id=msg_id, **({"room": room} if room else {}))
    error = error_of(client)
    assert (error["code"], error.get("id")) == (code, msg_id), error
    return error


def test_join_makes_a_room_whose_maker_is_its_op(chat_server, make_client):
    alice, bob = join(chat_server, make_client, "alice", "bob")
    joined, history = enter(alice, "#Games")
    assert joined["seq"] > 0 and history == []
    room = joined["room"]
    assert (room["room"], room["users"], room["ops"], room["topic"], room["slow"],
            room["muted"]) == ("#Games", ["alice"], ["alice"], "", 0, False)
    marker(alice, [bob])  # bob, only in #lobby, heard nothing of it
    joined, _ = enter(bob, "#games")  # any case: the same room
    assert joined["room"]["users"] == ["alice", "bob"] and joined["room"]["ops"] == ["alice"]
    event = next_frame(alice, type="join", name="bob")
    assert event["room"] == "#Games" and event["seq"] == joined["seq"]


def test_a_line_in_a_room_reaches_its_members_only(chat_server, make_client):
    alice, bob, carol = join(chat_server, make_client, "alice", "bob", "carol")
    enter(alice, "#games")
    enter(bob, "#games")
    next_frame(alice, type="join", name="bob")
    ack = say_in(alice, "#games", "gg", "g1")
    message = next_frame(bob, type="message", text="gg")
    assert (message["room"], message["seq"]) == ("#games", ack["seq"])
    lobby = say(alice, "in the lobby", "l1")
    assert next_frame(carol, type="message")["seq"] == lobby["seq"]  # nothing from #games
    assert next_frame(bob, type="message", text="in the lobby")["room"] == "#lobby"


def test_part_tells_the_room_then_nothing_more_and_the_last_one_ends_it(chat_server, make_client):
    alice, bob = join(chat_server, make_client, "alice", "bob")
    enter(alice, "#games")
    enter(bob, "#games")
    next_frame(alice, type="join", name="bob")
    bob.send(type="say", text="/part #games gotta go", id="p")
    for client in (alice, bob):
        part = next_frame(client, type="part", name="bob")
        assert (part["room"], part["reason"]) == ("#games", "gotta go")
    next_frame(bob, type="ack", id="p")
    say_in(alice, "#games", "still here?", "s")
    marker(alice, [bob])  # bob got nothing from #games
    alice.send(type="say", text="/part", id="p2", room="#games")  # the say's room
    next_frame(alice, type="part", name="alice")
    next_frame(alice, type="ack", id="p2")
    alice.send(type="say", text="/rooms", id="r")
    rooms = next_frame(alice, type="rooms")["rooms"]
    assert [r["room"] for r in rooms] == ["#lobby"]


def test_a_room_made_again_brings_its_history_back(chat_server, make_client):
    (alice,) = join(chat_server, make_client, "alice")
    enter(alice, "#book-club")
    say_in(alice, "#book-club", "chapter one was slow", "c1")
    alice.send(type="say", text="/part #book-club", id="p")
    next_frame(alice, type="part")
    next_frame(alice, type="ack", id="p")
    joined, history = enter(alice, "#book-club", "j2")
    assert [(h["text"], h["replay"], h["room"]) for h in history] == \
        [("chapter one was slow", True, "#book-club")]


@pytest.mark.parametrize("text, room, code", [
    ("hello", "#nowhere", "no_such_room"),
    ("hello", "games", "bad_room"),
    ("/part #lobby", None, "cannot_part_lobby"),
    ("/part #nowhere", None, "not_in_room"),
    ("/join games", None, "bad_room"),
    ("/join #" + "x" * 33, None, "bad_room"),
    ("/join", None, "bad_argument"),
])
def test_room_mistakes_get_their_error_and_the_connection_stays(chat_server, make_client,
                                                                 text, room, code):
    alice, bob = join(chat_server, make_client, "alice", "bob")
    refused(alice, text, "x", code, room)
    marker(alice, [bob])


def test_a_line_to_a_room_you_are_not_in_is_not_in_room(chat_server, make_client):
    alice, bob = join(chat_server, make_client, "alice", "bob")
    enter(alice, "#games")
    refused(bob, "let me in", "x", "not_in_room", "#games")


def test_hello_names_rooms_and_a_resume_returns_to_them(chat_server, make_client):
    (alice,) = join(chat_server, make_client, "alice")
    enter(alice, "#games")
    bob = make_client(chat_server.address)
    welcome = bob.hello("bob", rooms=["#games", "#new", "bad name"])
    assert [r["room"] for r in welcome["rooms"]] == ["#lobby"]
    got = [bob.recv() for _ in range(3)]
    assert [(g["type"], (g.get("room") or {}).get("room") if g["type"] == "joined"
             else g.get("code")) for g in got] == \
        [("joined", "#games"), ("joined", "#new"), ("error", "bad_room")]
    token = welcome["session"]
    bob.close()
    alice.expect("leave", name="bob")
    again = make_client(chat_server.address)
    assert again.hello("bob", resume=token)["name"] == "bob"
    rooms = [again.recv()["room"]["room"] for _ in range(2)]
    assert rooms == ["#games", "#new"]


def test_rooms_lists_every_room_with_topic_and_head_count(chat_server, make_client):
    alice, bob = join(chat_server, make_client, "alice", "bob")
    enter(alice, "#games")
    enter(alice, "#art")
    alice.send(type="say", text="/topic drawing night", id="t", room="#art")
    next_frame(alice, type="topic")
    next_frame(alice, type="ack", id="t")
    bob.send(type="say", text="/list", id="r")
    rooms = next_frame(bob, type="rooms")["rooms"]
    assert rooms == [{"room": "#art", "topic": "drawing night", "users": 1},
                     {"room": "#games", "topic": "", "users": 1},
                     {"room": "#lobby", "topic": "", "users": 2}]


def test_ops_and_moderation_are_per_room(chat_server, make_client):
    alice, bob, carol = join(chat_server, make_client, "alice", "bob", "carol")
    enter(alice, "#games")
    enter(bob, "#games")
    next_frame(alice, type="join", name="bob")
    refused(bob, "/kick alice", "k", "not_op", "#games")  # not an op there
    refused(alice, "/kick bob", "k", "not_op")           # nor in #lobby
    alice.send(type="say", text="/kick bob too loud", id="k2", room="#games")
    for client in (alice, bob):
        kick = next_frame(client, type="kick", name="bob")
        assert (kick["room"], kick["by"], kick["reason"]) == ("#games", "alice", "too loud")
    next_frame(alice, type="ack", id="k2")
    assert say(bob, "still connected", "s")["seq"]  # out of #games, not disconnected
    next_frame(alice, type="message", text="still connected")
    next_frame(carol, type="message", text="still connected")
    refused(bob, "back?", "b", "not_in_room", "#games")
    alice.send(type="say", text="/ban bob", id="b2", room="#games")
    next_frame(alice, type="mode", change="+ban")
    next_frame(alice, type="ack", id="b2")
    refused(bob, "/join #games", "j", "banned")
    enter(carol, "#games")
    alice.send(type="say", text="/mute carol", id="m", room="#games")
    next_frame(alice, type="join", name="carol")
    next_frame(alice, type="mode", change="+mute")
    next_frame(alice, type="ack", id="m")
    next_frame(carol, type="mode", change="+mute")
    refused(carol, "hello games", "x", "muted", "#games")
    assert say(carol, "the lobby still hears me", "y")["seq"]


def test_plain_clients_have_one_current_room_besides_the_lobby(chat_server, make_client):
    (alice,) = join(chat_server, make_client, "alice")
    enter(alice, "#games")
    tutor = plain_client(chat_server, make_client, "tutor")
    alice.expect("nick", new="tutor")
    tutor.send_text("/join #games")
    assert tutor.recv_line().startswith("* you joined #games")
    next_frame(alice, type="join", name="tutor")
    tutor.send_text("hi games")
    assert tutor.recv_line() == "Msg received"
    assert next_frame(alice, type="message", text="hi games")["room"] == "#games"
    tutor.send_text("/join #art")  # the one other room: #games is left first
    assert tutor.recv_line() == "* tutor left #games (joined another room)"
    assert tutor.recv_line().startswith("* you joined #art")
    assert next_frame(alice, type="part", name="tutor")["room"] == "#games"
    tutor.send_text("/part")
    assert tutor.recv_line() == "* tutor left #art"
    tutor.send_text("back in the lobby")
    assert tutor.recv_line() == "Msg received"
    assert next_frame(alice, type="message", text="back in the lobby")["room"] == "#lobby"


def test_room_limits_are_clear_errors(make_server, make_client):
    srv = make_server(rate=0, max_rooms=3, max_rooms_per_user=2)
    alice, bob = join(srv, make_client, "alice", "bob")
    enter(alice, "#a", "1")
    enter(alice, "#b", "2")
    assert "2 rooms" in refused(alice, "/join #c", "3", "too_many_rooms")["message"]
    enter(bob, "#c", "4")
    assert "3 rooms" in refused(bob, "/join #d", "5", "too_many_rooms")["message"]
    enter(bob, "#a", "6")  # an existing room is always fine (within one's own limit)


def test_two_hundred_rooms_from_one_client_stop_at_the_limit(chat_server, make_client):
    (alice,) = join(chat_server, make_client, "alice")
    frames = b"".join(protocol.message_frame({"type": "say", "text": f"/join #r{n}",
                                              "id": f"j{n}"}) for n in range(200))
    alice.send_raw(frames)
    errors = joined = 0
    while joined + errors < 200:
        frame = alice.recv()
        joined += frame["type"] == "joined"
        errors += frame["type"] == "error" and frame["code"] == "too_many_rooms"
    assert joined == 20 and errors == 180


def test_typing_in_a_room_reaches_its_members_only(chat_server, make_client):
    alice, bob, carol = join(chat_server, make_client, "alice", "bob", "carol")
    enter(alice, "#games")
    enter(bob, "#games")
    next_frame(alice, type="join", name="bob")
    alice.send(type="typing", state="active", room="#games")
    assert next_frame(bob, type="typing", name="alice")["room"] == "#games"
    marker(alice, [bob, carol])


def test_history_command_in_a_room_shows_that_room(chat_server, make_client):
    (alice,) = join(chat_server, make_client, "alice")
    say(alice, "lobby line", "l")
    enter(alice, "#games")
    say_in(alice, "#games", "games line", "g")
    alice.send(type="say", text="/history", id="h", room="#games")
    text = next_frame(alice, type="system")["text"]
    assert "games line" in text and "lobby line" not in text


def test_the_terminal_in_a_room_against_the_real_server(chat_server, make_client):
    import subprocess
    import sys
    from conftest import ROOT
    (alice,) = join(chat_server, make_client, "alice")
    enter(alice, "#games")
    done = subprocess.run(
        [sys.executable, "client.py", "--cli", "--host", chat_server.host, "--port",
         str(chat_server.port), "--name", "dave", "--room", "games"], cwd=ROOT,
        input="hello games\n/join #art\nhello art\n", capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    message = alice.expect("message", text="hello games")
    assert message["room"] == "#games"
    assert "* you joined #art" in done.stdout
    # "hello art" went to #art, where alice is not: she sees dave leave, not that line.
    alice.expect("leave", name="dave")
    assert not [b for b in alice.bodies if b'hello art' in b]


def test_the_window_in_rooms_against_the_real_server(chat_server, make_client):
    """A real window (headless) joins #games, talks there and switches back."""
    import headless  # noqa: F401  (pygame without a screen)
    from test_ui_app import post_text, press_enter, run_until
    from lanchat.client import options
    from ui import app as ui_app
    (alice,) = join(chat_server, make_client, "alice")
    enter(alice, "#games")
    args = options.build_parser().parse_args(
        ["--host", chat_server.host, "--port", str(chat_server.port), "--name", "gui"])
    app = ui_app.App(args, size=(900, 600), clipboard=lambda: "")
    try:
        run_until(app, lambda: app.log.status.state == "connected", "the app to connect")
        alice.expect("join", name="gui")
        post_text("/join #games")
        press_enter()
        run_until(app, lambda: app.log.rooms.current == "#games", "#games to be current")
        post_text("hi from the window")
        press_enter()
        run_until(app, lambda: any(e.text == "hi from the window" and e.state == "sent"
                                   for e in app.log.entries), "the line to be acked")
        message = alice.expect("message", text="hi from the window")
        assert message["room"] == "#games"
        alice.send(type="say", text="welcome, gui", id="w", room="#games")
        alice.expect("ack", id="w")
        run_until(app, lambda: any(e.text == "welcome, gui" for e in app.chat.feed.entries),
                  "the line in the #games view")
    finally:
        app.quit()


def test_since_brings_back_every_event_of_each_room_missed(chat_server, make_client):
    alice, bob = join(chat_server, make_client, "alice", "bob")
    enter(alice, "#games")
    enter(bob, "#games")
    next_frame(alice, type="join", name="bob")
    seen = say_in(bob, "#games", "before the drop", "b0")["seq"]
    next_frame(alice, type="message", text="before the drop")
    bob.close()
    alice.expect("leave", name="bob")
    for n in range(3):
        say_in(alice, "#games", f"missed {n}", f"m{n}")
    back = make_client(chat_server.address)
    back.hello("bob", since=seen, rooms=["#games"])
    frames = []
    while not frames or frames[-1]["type"] != "joined":
        frames.append(back.recv())  # the #lobby replay (bob's leave), then joined
    history = [back.recv() for _ in range(3)]
    assert [(h["text"], h["room"], h["replay"]) for h in history] == \
        [(f"missed {n}", "#games", True) for n in range(3)]


def test_joined_says_who_in_the_room_is_away(chat_server, make_client):
    alice, bob = join(chat_server, make_client, "alice", "bob")
    enter(alice, "#games")
    alice.send(type="say", text="/away lunch", id="a")
    next_frame(alice, type="presence")
    next_frame(alice, type="ack", id="a")
    next_frame(bob, type="presence", name="alice")
    joined, _ = enter(bob, "#games")
    assert joined["away"] == {"alice": "lunch"}

