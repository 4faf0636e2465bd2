"""Rooms in the window's view model, without pygame or a network: the rooms you are
in (welcome, ``joined``, your part, a kick), each room's members, ops, topic, unread
and mention, private conversations, and which entries the current room shows.
Replayed events never change a list (PROTOCOL.md section 4)."""

from __future__ import annotations

from ui.chatlog import ChatLog
from ui.roomfeed import RoomFeed


def room(name, users=("me", "bob"), ops=(), topic="", slow=0, muted=False):
    return {"room": name, "topic": topic, "users": list(users), "ops": list(ops),
            "slow": slow, "muted": muted}


def welcomed(*extra):
    log = ChatLog("me", clock=lambda: 100.0)
    log.apply({"type": "connected", "name": "me", "users": ["me", "bob", "carol", "dan"],
               "seq": 10, "host": "h", "port": 1,
               "rooms": [room("#lobby", ["me", "bob", "carol", "dan"])] + list(extra)})
    return log


def msg(seq, text, room="#lobby", sender="bob", **extra):
    return {"type": "message", "seq": seq, "ts": 1.0, "from": sender, "text": text,
            "kind": "chat", "room": room, **extra}


def texts(log):
    return [e.text for e in RoomFeed(log).entries]


def test_only_the_lobby_looks_as_before():
    log = welcomed()
    assert log.rooms.names() == ["#lobby"] and log.rooms.only_lobby()
    assert log.rooms.current == "#lobby"
    log.apply(msg(11, "hi"))
    assert texts(log) == [e.text for e in log.entries]


def test_the_welcome_lists_every_room_with_its_members_ops_and_topic():
    log = welcomed(room("#games", ["bob", "me"], ops=["bob"], topic="Quake at 8"))
    assert log.rooms.names() == ["#lobby", "#games"]
    assert log.rooms.members["#games"] == ["me", "bob"]
    roles = log.rooms.roles_of("#games")
    assert roles.is_op("bob") and roles.topic == "Quake at 8"
    assert not log.roles.is_op("bob") and log.roles.topic == ""


def test_joined_adds_the_room_makes_it_current_and_its_history_never_changes_lists():
    log = welcomed()
    log.apply({"type": "joined", "seq": 20, "room": room("#dev", ["me", "eve"], ops=["eve"])})
    assert log.rooms.current == "#dev" and log.rooms.members["#dev"] == ["me", "eve"]
    log.apply({"type": "join", "seq": 5, "ts": 1.0, "name": "zed", "room": "#dev", "replay": True})
    log.apply({"type": "part", "seq": 6, "ts": 1.0, "name": "eve", "room": "#dev", "replay": True})
    log.apply({"type": "mode", "seq": 7, "ts": 1.0, "room": "#dev", "by": "eve",
               "change": "-op", "target": "eve", "replay": True})
    log.apply(msg(8, "old line", room="#dev", sender="eve", replay=True))
    assert log.rooms.members["#dev"] == ["me", "eve"]
    assert log.rooms.roles_of("#dev").is_op("eve")
    assert log.rooms.unread == {}
    assert "old line" in texts(log)


def test_live_join_part_kick_leave_and_nick_keep_the_members():
    log = welcomed(room("#dev", ["me", "bob", "carol"]))
    log.apply({"type": "join", "seq": 11, "ts": 1.0, "name": "dan", "room": "#dev"})
    assert log.rooms.members["#dev"] == ["me", "bob", "carol", "dan"]
    log.apply({"type": "part", "seq": 12, "ts": 1.0, "name": "bob", "room": "#dev", "reason": ""})
    log.apply({"type": "kick", "seq": 13, "ts": 1.0, "name": "carol", "room": "#dev", "by": "me",
               "reason": "spam"})
    assert log.rooms.members["#dev"] == ["me", "dan"]
    log.apply({"type": "nick", "seq": 14, "ts": 1.0, "old": "dan", "new": "daniel"})
    assert log.rooms.members["#dev"] == ["me", "daniel"]
    log.apply({"type": "leave", "seq": 15, "ts": 1.0, "name": "daniel", "reason": "bye"})
    assert log.rooms.members["#dev"] == ["me"]
    assert "daniel" not in log.users


def test_your_part_or_a_kick_of_you_removes_the_room_and_goes_back_to_the_lobby():
    log = welcomed(room("#dev"), room("#games"))
    log.rooms.switch("#dev")
    log.apply({"type": "part", "seq": 11, "ts": 1.0, "name": "me", "room": "#dev", "reason": ""})
    assert log.rooms.names() == ["#lobby", "#games"] and log.rooms.current == "#lobby"
    log.apply({"type": "kick", "seq": 12, "ts": 1.0, "name": "me", "room": "#games",
               "by": "bob", "reason": ""})
    assert log.rooms.names() == ["#lobby"]


def test_unread_and_mentions_count_in_rooms_not_current_and_clear_on_switch():
    log = welcomed(room("#dev"))
    log.apply(msg(11, "hello all", room="#dev"))
    log.apply(msg(12, "hey ME, look", room="#dev"))
    log.apply(msg(13, "mine", room="#dev", sender="me"))
    log.apply(msg(14, "in the lobby"))
    assert log.rooms.unread == {"#dev": 2} and log.rooms.mention == {"#dev": True}
    log.apply(msg(12, "hey ME, look", room="#dev"))  # a duplicate counts nothing
    assert log.rooms.unread == {"#dev": 2}
    assert log.rooms.switch("#dev")
    assert log.rooms.unread == {} and log.rooms.mention == {}
    log.apply(msg(15, "memes", room="#dev"))  # seen: current; and not a mention
    assert log.rooms.unread == {}


def test_the_current_room_shows_its_entries_and_the_notices_of_every_room():
    log = welcomed(room("#dev"))
    log.apply(msg(11, "lobby line"))
    log.apply(msg(12, "dev line", room="#dev"))
    log.apply({"type": "system", "text": "help text"})
    assert "dev line" not in texts(log) and {"lobby line", "help text"} <= set(texts(log))
    log.rooms.switch("#dev")
    assert "lobby line" not in texts(log) and {"dev line", "help text"} <= set(texts(log))
    own = log.add_own("id1", "typed here", room="#dev")
    assert own.room == "#dev" and texts(log)[-1] == "typed here"


def test_private_messages_open_a_conversation_that_follows_a_rename():
    log = welcomed(room("#dev"))
    log.apply({"type": "message", "seq": 11, "ts": 1.0, "from": "bob", "text": "psst",
               "kind": "private", "to": "me"})
    assert log.rooms.names() == ["#lobby", "#dev", "@bob"]
    assert log.rooms.unread == {"@bob": 1} and log.rooms.mention["@bob"]
    assert "psst" in texts(log)              # inline in #lobby, as with one room
    log.rooms.switch("#dev")
    assert "psst" not in texts(log)
    log.apply({"type": "nick", "seq": 12, "ts": 1.0, "old": "bob", "new": "rob"})
    assert log.rooms.names() == ["#lobby", "#dev", "@rob"]
    log.rooms.switch("@rob")
    assert "psst" in texts(log) and log.rooms.members_of("@rob", log.users, "me") == ["me", "rob"]
    own = log.add_own("id2", "/msg rob ok")
    assert own.room == "@rob"


def test_moving_between_rooms_wraps_around():
    log = welcomed(room("#b"), room("#a"))
    assert log.rooms.names() == ["#lobby", "#a", "#b"]
    log.rooms.move(1)
    assert log.rooms.current == "#a"
    log.rooms.move(-1)
    log.rooms.move(-1)
    assert log.rooms.current == "#b"


def test_topic_mode_and_slow_mode_are_per_room():
    log = welcomed(room("#dev", ops=["bob"]))
    log.apply({"type": "topic", "seq": 11, "ts": 1.0, "room": "#dev", "topic": "Ship it", "by": "bob"})
    log.apply({"type": "mode", "seq": 12, "ts": 1.0, "room": "#dev", "by": "bob",
               "change": "+slow", "seconds": 30})
    log.apply({"type": "mode", "seq": 13, "ts": 1.0, "room": "#dev", "by": "bob",
               "change": "+mute", "target": "me"})
    dev = log.rooms.roles_of("#dev")
    assert dev.topic == "Ship it" and dev.hint("me", 100.0) == "You are muted in #dev"
    assert log.roles.topic == "" and log.roles.hint("me", 100.0) == ""
    log.apply({"type": "mode", "seq": 14, "ts": 1.0, "room": "#dev", "by": "bob",
               "change": "-mute", "target": "me"})
    log.apply({"type": "error", "code": "slow_mode", "message": "slow", "room": "#dev",
               "retry_after": 12})
    assert dev.hint("me", 100.0) == "Slow mode: one line every 30 s (next in 12 s)"
    assert log.roles.retry_at is None


def test_who_of_another_room_does_not_replace_the_lobby_list():
    log = welcomed(room("#dev"))
    log.apply({"type": "users", "room": "#dev", "users": ["me", "eve"]})
    assert log.users == ["me", "bob", "carol", "dan"]
    assert log.rooms.members["#dev"] == ["me", "eve"]


def test_the_new_messages_count_of_the_view_is_the_current_rooms():
    log = welcomed(room("#dev"))
    feed = RoomFeed(log)
    before = feed.messages_added
    log.apply(msg(11, "elsewhere", room="#dev"))
    assert feed.messages_added == before
    log.apply(msg(12, "here"))
    assert feed.messages_added == before + 1


def test_your_own_part_or_kick_is_said_in_every_room():
    log = welcomed(room("#dev"))
    log.apply({"type": "kick", "seq": 11, "ts": 1.0, "name": "me", "room": "#dev", "by": "bob",
               "reason": "spam"})
    assert log.rooms.current == "#lobby"
    assert any("me" in text and "#dev" in text for text in texts(log))
