"""Admins, ops and moderation in #lobby (PROTOCOL.md section 8): /admin, /op, /deop,
/kick, /ban, /unban, /mute, /unmute, /slow; every change a stored event with a seq;
bans, mutes and slow mode survive a restart and end on time."""

import time

import pytest

import protocol
from serverhelpers import error_of, join, marker, next_frame, say

ADMIN = "s3cret-admin"


def command(client, text, msg_id, *events) -> list:
    """Send a command; the sender's events of ``events`` types come, then its ack."""
    client.send(type="say", text=text, id=msg_id)
    got = [next_frame(client, type=kind) for kind in events]
    assert next_frame(client, type="ack", id=msg_id)["seq"] is None
    return got


def refused(client, text, msg_id, code) -> dict:
    client.send(type="say", text=text, id=msg_id)
    error = error_of(client)
    assert (error["code"], error.get("id")) == (code, msg_id), error
    return error


@pytest.fixture
def mod_server(make_server):
    return make_server(rate=0, admin_password=ADMIN)


def admin_and_others(srv, make_client, *names):
    clients = join(srv, make_client, "teacher", *names)
    command(clients[0], f"/admin {ADMIN}", "adm", "system")
    return clients


def test_admin_needs_the_password_and_is_never_echoed(mod_server, make_client):
    teacher, bob = join(mod_server, make_client, "teacher", "bob")
    error = refused(teacher, "/admin wrong", "a1", "auth_failed")
    assert "wrong" not in error["message"]
    [system] = command(teacher, f"/admin {ADMIN}", "a2", "system")
    assert ADMIN not in system["text"] and "admin" in system["text"]
    marker(teacher, [bob])  # bob saw nothing of it


def test_admin_tries_are_limited_to_five_a_minute(mod_server, make_client):
    (mallory,) = join(mod_server, make_client, "mallory")
    for n in range(5):
        refused(mallory, f"/admin guess{n}", f"g{n}", "auth_failed")
    error = refused(mallory, f"/admin {ADMIN}", "g5", "auth_failed")  # even the right one
    assert "minute" in error["message"]
    alive = say(mallory, "still connected", "s")
    assert alive["seq"]


def test_no_admin_password_means_no_admins(chat_server, make_client):
    (alice,) = join(chat_server, make_client, "alice")
    assert "admin-password" in refused(alice, "/admin anything", "a", "auth_failed")["message"]


def test_a_non_op_gets_not_op(mod_server, make_client):
    alice, bob = join(mod_server, make_client, "alice", "bob")
    for text in ("/op bob", "/kick bob", "/ban bob", "/mute bob", "/slow 5", "/deop bob",
                 "/unban bob", "/unmute bob"):
        refused(alice, text, "x", "not_op")


def test_op_and_deop_are_mode_events_with_a_seq(mod_server, make_client):
    teacher, alice, bob = admin_and_others(mod_server, make_client, "alice", "bob")
    [mode] = command(teacher, "/op alice", "o", "mode")
    assert (mode["room"], mode["by"], mode["change"], mode["target"]) == \
        ("#lobby", "teacher", "+op", "alice")
    assert mode["seq"] > 0
    for other in (alice, bob):
        assert next_frame(other, type="mode", change="+op", target="alice")["seq"] == mode["seq"]
    # alice, an op now, may op others; then she is deopped and may not.
    command(alice, "/op bob", "o2", "mode")
    next_frame(teacher, type="mode", change="+op", target="bob")
    next_frame(bob, type="mode", change="+op", target="bob")
    command(teacher, "/deop alice", "d", "mode")
    next_frame(alice, type="mode", change="-op", target="alice")
    refused(alice, "/mute bob", "m", "not_op")


def test_the_welcome_says_who_the_ops_are_and_whether_you_are_admin(mod_server, make_client):
    teacher, alice = admin_and_others(mod_server, make_client, "alice")
    command(teacher, "/op alice", "o", "mode")
    late = make_client(mod_server.address)
    welcome = late.hello("late")
    assert welcome["admin"] is False
    [lobby] = welcome["rooms"]
    assert lobby["room"] == "#lobby" and lobby["topic"] == "" and lobby["slow"] == 0
    assert lobby["muted"] is False
    assert set(lobby["ops"]) == {"teacher", "alice"}
    assert lobby["users"] == welcome["users"]


def test_kick_from_the_lobby_disconnects_with_the_reason(mod_server, make_client):
    teacher, alice, bob = admin_and_others(mod_server, make_client, "alice", "bob")
    [kick] = command(teacher, "/kick bob   spamming the room", "k", "kick")
    assert (kick["room"], kick["name"], kick["by"], kick["reason"]) == \
        ("#lobby", "bob", "teacher", "spamming the room")
    next_frame(bob, type="kick", name="bob")
    assert bob.wait_closed()
    leave = alice.expect("leave", name="bob")
    assert leave["reason"] == "kicked by teacher: spamming the room"


def test_ops_cannot_act_on_admins_nor_on_nobody(mod_server, make_client):
    teacher, alice = admin_and_others(mod_server, make_client, "alice")
    command(teacher, "/op alice", "o", "mode")
    next_frame(alice, type="mode")
    refused(alice, "/kick teacher", "k", "not_op")
    refused(alice, "/ban teacher", "b", "not_op")
    refused(alice, "/kick nobody", "k2", "no_such_user")
    refused(alice, "/kick", "k3", "bad_argument")


@pytest.mark.parametrize("text", ["/slow -1", "/slow soon", "/slow", "/mute bob x",
                                  "/ban bob -5", "/ban bob 1e9"])
def test_bad_arguments_are_bad_argument(mod_server, make_client, text):
    teacher, bob = admin_and_others(mod_server, make_client, "bob")
    refused(teacher, text, "x", "bad_argument")


def test_you_cannot_ban_yourself(mod_server, make_client):
    (teacher,) = admin_and_others(mod_server, make_client)
    refused(teacher, "/ban teacher", "b", "bad_argument")


def test_mute_refuses_lines_and_resends_by_id_stay_refused(mod_server, make_client):
    teacher, bob, carol = admin_and_others(mod_server, make_client, "bob", "carol")
    acked = say(bob, "before the mute", "before")
    next_frame(teacher, type="message")
    next_frame(carol, type="message")
    command(teacher, "/mute bob 10", "m", "mode")
    mode = next_frame(bob, type="mode", change="+mute", target="bob")
    assert mode["seconds"] == 600
    next_frame(carol, type="mode")
    refused(bob, "can you hear me", "new", "muted")
    refused(bob, "/me waves", "me", "muted")
    refused(bob, "can you hear me", "new", "muted")  # a resend of a refused line
    assert say(bob, "before the mute", "before")["seq"] == acked["seq"]  # acked earlier
    say(bob, "/msg teacher sorry", "p")  # private messages still go
    next_frame(teacher, type="message", kind="private")
    command(teacher, "/unmute bob", "u", "mode")
    next_frame(bob, type="mode", change="-mute")
    next_frame(carol, type="mode", change="-mute")
    say(bob, "thanks", "t")
    next_frame(carol, type="message", text="thanks")


def test_slow_mode_lets_non_ops_send_one_line_per_period(mod_server, make_client):
    teacher, bob, carol = admin_and_others(mod_server, make_client, "bob", "carol")
    [mode] = command(teacher, "/slow 30", "s", "mode")
    assert (mode["change"], mode["seconds"]) == ("+slow", 30)
    next_frame(bob, type="mode")
    next_frame(carol, type="mode")
    say(bob, "one", "1")
    next_frame(teacher, type="message", text="one")
    error = refused(bob, "two", "2", "slow_mode")
    assert 25 < error["retry_after"] <= 30 and error["room"] == "#lobby"
    say(teacher, "ops are not slowed", "t1")
    say(teacher, "at all", "t2")
    command(teacher, "/slow 0", "s0", "mode")
    next_frame(bob, type="message")
    next_frame(bob, type="message")
    next_frame(bob, type="mode", change="-slow")
    say(bob, "two", "2")
    next_frame(teacher, type="message", text="two")


def test_ban_kicks_and_refuses_the_name_at_hello(mod_server, make_client):
    teacher, bob, carol = admin_and_others(mod_server, make_client, "bob", "carol")
    modes = command(teacher, "/ban bob 5", "b", "mode", "kick")
    assert (modes[0]["change"], modes[0]["target"], modes[0]["seconds"]) == ("+ban", "bob", 300)
    assert bob.wait_closed()
    carol.expect("leave", name="bob")
    again = make_client(mod_server.address)
    again.send(type="hello", name="BOB")
    assert error_of(again)["code"] == "banned"
    assert again.wait_closed()
    teacher.expect("leave", name="bob")
    command(teacher, "/unban bob", "u", "mode")
    assert make_client(mod_server.address).hello("bob")["name"] == "bob"


def test_a_ban_ends_on_time(mod_server, make_client, monkeypatch):
    teacher, bob = admin_and_others(mod_server, make_client, "bob")
    command(teacher, "/ban bob 1", "b", "mode", "kick")
    assert bob.wait_closed()
    later = time.time() + 61
    monkeypatch.setattr("lanchat.server.moderation.time.time", lambda: later)
    assert make_client(mod_server.address).hello("bob")["name"] == "bob"


def test_ban_by_address_refuses_other_names_but_not_loopback(mod_server, make_client,
                                                               monkeypatch):
    # Loopback is exempt, so pretend 127.0.0.2 is another machine on the LAN.
    from lanchat.server import moderation
    monkeypatch.setattr(moderation, "is_loopback", lambda ip: ip == "127.0.0.1")
    (teacher,) = admin_and_others(mod_server, make_client)
    bob = make_client(mod_server.address, source_address=("127.0.0.2", 0))
    bob.hello("bob")
    next_frame(teacher, type="join", name="bob")
    command(teacher, "/ban bob", "b", "mode", "kick")
    assert bob.wait_closed()
    disguised = make_client(mod_server.address, source_address=("127.0.0.2", 0))
    disguised.send(type="hello", name="robert")
    assert error_of(disguised)["code"] == "banned"
    plain = make_client(mod_server.address, source_address=("127.0.0.2", 0))
    plain.send_text("hi")
    assert plain.recv_line().startswith("error: ")
    assert plain.wait_closed()
    # Everyone else on loopback is unaffected.
    assert make_client(mod_server.address).hello("someone")["name"] == "someone"


def test_bans_mutes_and_slow_mode_survive_a_restart(make_server, make_client, tmp_path):
    db = str(tmp_path / "chat.db")
    srv = make_server(rate=0, admin_password=ADMIN, db=db)
    teacher, bob, carol = admin_and_others(srv, make_client, "bob", "carol")
    command(teacher, "/mute carol", "m", "mode")
    command(teacher, "/slow 20", "s", "mode")
    command(teacher, "/ban bob", "b", "mode", "kick")
    srv.stop()
    srv2 = make_server(rate=0, admin_password=ADMIN, db=db, port=srv.port)
    newcomer = make_client(srv2.address)
    [lobby] = newcomer.hello("newcomer")["rooms"]
    assert lobby["slow"] == 20
    banned = make_client(srv2.address)
    banned.send(type="hello", name="bob")
    assert error_of(banned)["code"] == "banned"
    carol2 = make_client(srv2.address)
    welcome = carol2.hello("carol")
    assert welcome["rooms"][0]["muted"] is True
    refused(carol2, "hello again", "c", "muted")


def test_moderation_events_are_replayed_as_history(mod_server, make_client):
    teacher, bob = admin_and_others(mod_server, make_client, "bob")
    seen = say(bob, "hi", "h")["seq"]
    next_frame(teacher, type="message")
    bob.close()
    teacher.expect("leave", name="bob")
    command(teacher, "/slow 5", "s", "mode")
    back = make_client(mod_server.address)
    back.hello("bob", since=seen)
    events = [back.recv() for _ in range(2)]
    assert [(e["type"], e.get("replay")) for e in events] == [("leave", True), ("mode", True)]


def test_plain_clients_read_moderation_as_lines(mod_server, make_client):
    (teacher,) = admin_and_others(mod_server, make_client)
    plain = make_client(mod_server.address)
    plain.send_text("hello")
    assert plain.recv_line() == "Msg received"
    guest = teacher.expect("join")["name"]
    next_frame(teacher, type="message", text="hello")
    command(teacher, "/slow 10", "s", "mode")
    assert plain.recv_line() == "* teacher set slow mode: one line every 10 s"
    command(teacher, f"/mute {guest}", "m", "mode")
    assert plain.recv_line() == f"* teacher muted {guest}"
    plain.send_text("am I muted?")
    assert plain.recv_line().startswith("error: ")


def test_a_muted_member_sees_it_in_its_room_object_after_a_resume(mod_server, make_client):
    teacher, bob = admin_and_others(mod_server, make_client, "bob")
    command(teacher, "/mute bob", "m", "mode")
    next_frame(bob, type="mode")
    token = mod_server.room.members["bob"].session
    bob.close()
    teacher.expect("leave", name="bob")
    again = make_client(mod_server.address)
    welcome = again.hello("whoever", resume=token)
    assert welcome["name"] == "bob" and welcome["rooms"][0]["muted"] is True


def test_mode_and_kick_are_stored_with_a_seq_in_one_order(mod_server, make_client):
    teacher, bob, carol = admin_and_others(mod_server, make_client, "bob", "carol")
    a = say(bob, "a", "a")["seq"]
    next_frame(teacher, type="message", text="a")
    [mode] = command(teacher, "/op carol", "o", "mode")
    next_frame(bob, type="mode", change="+op")
    b = say(bob, "b", "b")["seq"]
    assert a < mode["seq"] < b
    assert [e["type"] for e in (carol.recv(), carol.recv(), carol.recv())] == \
        ["message", "mode", "message"]
    assert protocol.MUTED == "muted"


def test_the_client_library_keeps_its_session_after_a_wrong_admin_password(mod_server):
    from lanchat.client.connection import ChatConnection
    conn = ChatConnection(mod_server.host, mod_server.port, "hopeful").start()
    try:
        seen = []

        def until(kind):
            while True:
                event = conn.events.get(timeout=5)
                seen.append(event)
                if event["type"] == kind:
                    return event

        until("connected")
        conn.say("/admin guess")
        error = until("error")
        assert error["code"] == "auth_failed" and not error.get("ends_session")
        conn.say("/admin " + ADMIN)
        assert "admin" in until("system")["text"]
        assert conn.connected and not any(e["type"] == "disconnected" for e in seen)
    finally:
        conn.close()


def test_the_window_shows_moderation_as_notices_in_order():
    from ui.chatlog import ChatLog
    log = ChatLog(me="bob")
    log.apply({"type": "connected", "name": "bob", "users": ["bob", "teacher"], "seq": 1,
               "host": "h", "port": 1})
    log.apply({"type": "mode", "seq": 3, "ts": 1.0, "room": "#lobby", "by": "teacher",
               "change": "+mute", "target": "bob", "seconds": 600})
    log.apply({"type": "kick", "seq": 2, "ts": 1.0, "room": "#lobby", "name": "eve",
               "by": "teacher", "reason": "spam", "replay": True})
    texts = [e.text for e in log.entries if e.kind == "notice"]
    assert texts[-2:] == ["eve was kicked by teacher (spam)", "teacher muted bob for 10 minutes"]


def test_a_kicked_client_does_not_come_back_and_a_banned_one_does_not_retry(mod_server):
    from lanchat.client.connection import ChatConnection
    teacher = ChatConnection(mod_server.host, mod_server.port, "teacher").start()
    pupil = ChatConnection(mod_server.host, mod_server.port, "pupil").start()
    try:
        def until(conn, kind, **fields):
            while True:
                event = conn.events.get(timeout=5)
                if event["type"] == kind and all(event.get(k) == v for k, v in fields.items()):
                    return event

        until(teacher, "connected")
        until(pupil, "connected")
        teacher.say(f"/admin {ADMIN}")
        until(teacher, "system")
        teacher.say("/kick pupil enough")
        gone = until(pupil, "disconnected")
        assert gone["will_retry"] is False and "enough" in gone["reason"]
        until(teacher, "leave", name="pupil")
        teacher.say("/ban pupil")
        until(teacher, "ack")
        again = ChatConnection(mod_server.host, mod_server.port, "pupil").start()
        try:
            failed = until(again, "connect_failed")
            assert "banned" in failed["reason"]
            until(again, "closed")
        finally:
            again.close()
    finally:
        pupil.close()
        teacher.close()


def test_error_and_ack_answer_the_lines_of_one_read_in_order(mod_server, make_client):
    (alice,) = join(mod_server, make_client, "alice")
    frames = [protocol.message_frame({"type": "say", "text": text, "id": msg_id})
              for text, msg_id in (("   ", "e1"), ("fine", "a1"), ("x" * 5000, "e2"),
                                   ("/who", "w"), ("also fine", "a2"))]
    alice.send_raw(b"".join(frames))
    answers = [alice.recv() for _ in range(6)]
    assert [(a["type"], a.get("id")) for a in answers] == [
        ("error", "e1"), ("ack", "a1"), ("error", "e2"), ("users", None), ("ack", "w"),
        ("ack", "a2")]


def test_a_mute_follows_a_rename_and_a_banned_name_cannot_be_taken(mod_server, make_client):
    teacher, bob, carol = admin_and_others(mod_server, make_client, "bob", "carol")
    command(teacher, "/mute bob", "m", "mode")
    next_frame(bob, type="mode")
    next_frame(carol, type="mode")
    bob.send(type="say", text="/nick bobby", id="n")
    next_frame(bob, type="nick", new="bobby")
    next_frame(bob, type="ack", id="n")
    refused(bob, "free at last?", "x", "muted")
    next_frame(teacher, type="nick", new="bobby")
    next_frame(carol, type="nick", new="bobby")
    command(teacher, "/ban dave", "b", "mode")
    next_frame(carol, type="mode", change="+ban")
    refused(carol, "/nick DAVE", "d", "banned")


def test_commands_count_against_the_rate(make_server, make_client):
    srv = make_server(rate=1, burst=3)
    alice, bob = join(srv, make_client, "alice", "bob")
    for n in range(3):
        alice.send(type="say", text="/away" if n % 2 == 0 else "/back", id=f"a{n}")
    for _ in range(3):
        next_frame(alice, type="presence")
        next_frame(alice, type="ack")
    error = refused(alice, "/away again", "a3", "rate_limited")
    assert error["retry_after"] > 0


def test_the_admin_password_is_never_logged_nor_stored(make_server, make_client, tmp_path, caplog):
    import logging
    import sqlite3
    caplog.set_level(logging.DEBUG)
    db = tmp_path / "chat.db"
    srv = make_server(rate=0, admin_password=ADMIN, db=str(db))
    (teacher,) = join(srv, make_client, "teacher")
    refused(teacher, "/admin wrong-guess", "w", "auth_failed")
    command(teacher, f"/admin {ADMIN}", "a", "system")
    srv.stop()
    assert ADMIN not in caplog.text and "wrong-guess" not in caplog.text
    with sqlite3.connect(db) as stored:
        bodies = " ".join(body + (text or "") for body, text in stored.execute(
            "SELECT body, text FROM events"))
    assert ADMIN not in bodies and "wrong-guess" not in bodies


# ----------------------------------------------------------------- /topic (#lobby)

def test_an_op_sets_the_topic_everyone_sees_it_and_newcomers_get_it(mod_server, make_client):
    teacher, bob = admin_and_others(mod_server, make_client, "bob")
    [topic] = command(teacher, "/topic  Quiz at 10:30 \x07 ", "t", "topic")
    assert (topic["room"], topic["topic"], topic["by"]) == ("#lobby", "Quiz at 10:30", "teacher")
    assert topic["seq"] > 0
    assert next_frame(bob, type="topic")["seq"] == topic["seq"]
    late = make_client(mod_server.address)
    assert late.hello("late")["rooms"][0]["topic"] == "Quiz at 10:30"


def test_topic_alone_shows_it_and_a_non_op_may_not_set_it(mod_server, make_client):
    teacher, bob = admin_and_others(mod_server, make_client, "bob")
    bob.send(type="say", text="/topic", id="q")
    assert "no topic" in next_frame(bob, type="system")["text"]
    next_frame(bob, type="ack", id="q")
    refused(bob, "/topic mine now", "t", "not_op")
    command(teacher, "/topic Lab day", "t2", "topic")
    next_frame(bob, type="topic")
    bob.send(type="say", text="/topic", id="q2")
    assert "Lab day" in next_frame(bob, type="system")["text"]


def test_a_long_topic_is_cut_and_the_topic_survives_a_restart(make_server, make_client, tmp_path):
    db = str(tmp_path / "chat.db")
    srv = make_server(rate=0, admin_password=ADMIN, db=db)
    (teacher,) = admin_and_others(srv, make_client)
    [topic] = command(teacher, "/topic " + "t" * 10000, "t", "topic")
    assert len(topic["topic"]) == 300
    srv.stop()
    srv2 = make_server(rate=0, db=db, port=srv.port)
    assert make_client(srv2.address).hello("x")["rooms"][0]["topic"] == "t" * 300


def test_who_names_its_room_and_other_rooms_do_not_exist_yet(mod_server, make_client):
    (alice,) = join(mod_server, make_client, "alice")
    alice.send(type="say", text="/who #LOBBY", id="w")
    assert next_frame(alice, type="users")["room"] == "#lobby"
    next_frame(alice, type="ack", id="w")
    refused(alice, "/who #games", "g", "no_such_room")
    refused(alice, "/who games", "b", "bad_room")


def test_the_window_keeps_the_topic_from_the_welcome_and_live_topic_events():
    from ui.chatlog import ChatLog
    log = ChatLog(me="bob")
    log.apply({"type": "connected", "name": "bob", "users": ["bob"], "seq": 5, "host": "h",
               "port": 1, "rooms": [{"room": "#lobby", "topic": "Quiz at 10", "users": ["bob"],
                                     "ops": [], "slow": 0, "muted": False}]})
    assert log.roles.topic == "Quiz at 10"
    log.apply({"type": "topic", "seq": 3, "ts": 1.0, "room": "#lobby", "topic": "old one",
               "by": "teacher", "replay": True})
    assert log.roles.topic == "Quiz at 10"  # history never changes the present
    log.apply({"type": "topic", "seq": 6, "ts": 2.0, "room": "#lobby", "topic": "Lab day",
               "by": "teacher"})
    assert log.roles.topic == "Lab day"
    assert [e.text for e in log.entries if e.kind == "notice"][-1] == "teacher set the topic: Lab day"


def test_the_header_draws_the_topic_and_redraws_when_it_changes():
    from headless import start_display
    import pygame
    from ui.chatlog import ChatLog
    from ui.textfonts import Fonts
    start_display()
    fonts = Fonts()
    from ui.chatscreen import ChatScreen
    log = ChatLog(me="bob")
    log.apply({"type": "connected", "name": "bob", "users": ["bob"], "seq": 1, "host": "h",
               "port": 1})
    screen = ChatScreen((900, 600), fonts, log, lambda text: "id")
    surface = pygame.Surface((900, 600))
    screen.draw(surface)
    before = screen._header_state()
    log.apply({"type": "topic", "seq": 2, "ts": 1.0, "room": "#lobby", "topic": "Lab day " * 40,
               "by": "t"})
    assert screen._header_state() != before
    screen.draw(surface)  # a long topic is cut to the header, not drawn past it
