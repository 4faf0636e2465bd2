"""The view model's rules, pure (no pygame, no network): lists, order, bounds."""

from __future__ import annotations

from ui import chatlog
from ui.chatlog import CHAT, DIVIDER, PENDING, SENT, ChatLog


def connected(log, seq, users=("me", "bob"), name="me"):
    log.apply({"type": "connected", "name": name, "users": list(users), "seq": seq,
               "host": "h", "port": 1})


def message(seq, text, sender="bob", **extra):
    return {"type": "message", "seq": seq, "ts": 1000.0 + seq, "from": sender, "text": text,
            "kind": "chat", **extra}


def texts(log):
    return [e.text for e in log.entries if e.kind != DIVIDER]


# ---------------------------------------------------------------- replayed events

def test_replayed_join_leave_nick_never_touch_the_lists():
    log = ChatLog("me")
    connected(log, 50, ("me", "bob"))
    for event in ({"type": "join", "seq": 40, "name": "zed"},
                  {"type": "leave", "seq": 41, "name": "me", "reason": "server shutting down"},
                  {"type": "leave", "seq": 42, "name": "bob", "reason": "bye"},
                  {"type": "nick", "seq": 43, "old": "me", "new": "old-me"},
                  {"type": "part", "seq": 44, "name": "bob", "room": "lobby"},
                  {"type": "mode", "seq": 45, "room": "lobby", "by": "bob", "change": "+op",
                   "target": "me"}):
        log.apply({**event, "ts": 1.0, "replay": True})
    assert log.users == ["me", "bob"]
    assert log.me == "me" and log.status.name == "me"


def test_history_before_the_welcome_is_replay_even_without_the_flag():
    # an older server marks only messages; anything at or below the welcome's seq is
    # history all the same (the welcome's list already includes it)
    log = ChatLog("me")
    connected(log, 50, ("me",))
    log.apply({"type": "leave", "seq": 48, "ts": 1.0, "name": "me", "reason": "server shutting down"})
    log.apply({"type": "join", "seq": 49, "ts": 1.0, "name": "ghost"})
    assert log.users == ["me"]
    log.apply({"type": "join", "seq": 51, "ts": 1.0, "name": "amy"})
    assert log.users == ["me", "amy"]


def test_live_events_still_change_the_lists():
    log = ChatLog("me")
    connected(log, 1, ("me", "bob"))
    log.apply({"type": "nick", "seq": 2, "ts": 1.0, "old": "me", "new": "mo"})
    log.apply({"type": "leave", "seq": 3, "ts": 1.0, "name": "bob", "reason": "bye"})
    assert log.users == ["mo"] and log.me == "mo"


# ---------------------------------------------------------------- order

def test_entries_are_kept_in_seq_order_with_pending_lines_last():
    log = ChatLog("me")
    connected(log, 10)
    log.apply(message(12, "twelve"))
    pending = log.add_own("id1", "mine")
    log.apply(message(11, "eleven", replay=True))   # late, older: goes in its place
    log.apply(message(14, "fourteen"))              # newer: still above the pending line
    assert texts(log) == ["eleven", "twelve", "fourteen", "mine"]
    assert log.entries[-1] is pending and pending.state == PENDING
    log.apply({"type": "ack", "id": "id1", "seq": 13})
    assert texts(log) == ["eleven", "twelve", "mine", "fourteen"]
    assert pending.state == SENT and pending.seq == 13


def test_reconnect_shows_the_server_order():
    log = ChatLog("me")
    connected(log, 10)
    log.apply(message(11, "before"))
    log.apply({"type": "disconnected", "reason": "the server closed the connection",
               "will_retry": True})
    log.add_own("id1", "typed while away")
    connected(log, 20)                             # the resumed welcome: my join is 20
    log.apply({"type": "leave", "seq": 12, "ts": 1.0, "name": "me", "reason": "gone",
               "replay": True})
    log.apply(message(13, "missed", replay=True))
    log.apply({"type": "join", "seq": 20, "ts": 1.0, "name": "me", "replay": True})  # dup
    log.apply({"type": "ack", "id": "id1", "seq": 21})
    assert texts(log) == ["before", "Disconnected: the server closed the connection. "
                          "Reconnecting\u2026", "me left (gone)", "missed", "Reconnected as me",
                          "typed while away"]
    assert log.users == ["me", "bob"]


def test_unsequenced_notices_stay_where_they_were_added():
    log = ChatLog("me")
    connected(log, 10)
    log.apply(message(11, "a"))
    log.apply({"type": "system", "text": "help text"})
    log.apply(message(12, "b"))
    assert texts(log) == ["a", "help text", "b"]


def test_a_new_server_history_starts_after_the_old_one():
    log = ChatLog("me")
    connected(log, 100)
    log.apply(message(101, "old world"))
    log.apply({"type": "disconnected", "reason": "gone", "will_retry": True})
    connected(log, 3)                              # a fresh database: seqs start again
    log.apply(message(4, "new world"))
    log.apply(message(101, "same seq, new history"))
    assert texts(log)[-3:] == ["Reconnected as me", "new world", "same seq, new history"]


def test_grouping_follows_insertions():
    log = ChatLog("me")
    connected(log, 10)
    log.apply(message(11, "one"))
    log.apply(message(13, "three"))
    log.apply(message(12, "two", sender="amy", replay=True))
    assert [e.grouped for e in log.entries if e.kind == CHAT] == [False, False, False]


# ---------------------------------------------------------------- what changes

def test_invisible_events_report_no_change():
    log = ChatLog("me")
    connected(log, 10)
    version = log.version
    assert not log.apply({"type": "pong", "id": 3})
    msg_id = "c1"
    assert log.add_own(msg_id, "/who") is None
    assert not log.apply({"type": "ack", "id": msg_id, "seq": None})
    assert not log.apply(message(11, "x") | {"seq": 10})  # a duplicate of the welcome seq
    assert log.version == version


def test_commands_are_never_predicted():
    log = ChatLog("me")
    connected(log, 10)
    for text in ("/nick zed", "/NICK zed", "/help", "/who", "/history 5", "/me", "/msg bob"):
        assert log.add_own(text, text) is None
    assert log.entries == [] and log.me == "me"
    log.apply({"type": "nick", "seq": 11, "ts": 1.0, "old": "me", "new": "zed"})
    assert log.me == "zed" and log.users[0] == "zed"


def test_history_is_bounded_and_drops_the_oldest(monkeypatch):
    monkeypatch.setattr(chatlog, "MAX_ENTRIES", 100)
    log = ChatLog("me")
    connected(log, 1)
    for seq in range(2, 400):
        log.apply(message(seq, f"m{seq}"))
    assert len(log.entries) <= 100
    assert log.entries[-1].text == "m399"
    seqs = [e.seq for e in log.entries]
    assert seqs == sorted(seqs) and seqs == list(range(seqs[0], 400))
    assert log.dropped == 398 - len(log.entries)
    version = log.version
    assert not log.apply(message(5, "older than anything kept", replay=True))
    assert log.version == version
    assert len(log._seqs) <= 2 * 100
