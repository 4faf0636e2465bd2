"""Typing and away in the view model (PROTOCOL.md section 9), pure: no pygame, no
network, and the clock is the test's."""

from __future__ import annotations

from ui.chatlog import NOTICE, ChatLog
from ui.presence import typing_text


class Clock:
    def __init__(self, now=1000.0):
        self.now = now

    def __call__(self):
        return self.now


def make_log(users=("me", "bob", "carol", "dan"), **welcome):
    clock = Clock()
    log = ChatLog("me", clock=clock)
    log.apply({"type": "connected", "name": "me", "users": list(users), "seq": 10,
               "host": "h", "port": 1, **welcome})
    return log, clock


def typing(name, state="active", **where):
    return {"type": "typing", "name": name, "state": state, **(where or {"room": "#lobby"})}


def line(log):
    return log.presence.typing_line()


def test_the_typing_line_names_one_two_or_several():
    assert typing_text([]) == ""
    assert typing_text(["alice"]) == "alice is typing\u2026"
    assert typing_text(["alice", "bob"]) == "alice and bob are typing\u2026"
    assert typing_text(["alice", "bob", "carol"]) == "several people are typing\u2026"


def test_active_typing_shows_in_arrival_order_and_done_ends_it():
    log, _ = make_log()
    assert log.apply(typing("carol"))
    log.apply(typing("bob"))
    assert line(log) == "carol and bob are typing\u2026"
    log.apply(typing("carol"))                       # a refresh keeps her place
    assert log.presence.typing_names() == ["carol", "bob"]
    log.apply(typing("carol", "done"))
    assert line(log) == "bob is typing\u2026"


def test_active_expires_after_6_seconds_unless_refreshed():
    log, clock = make_log()
    log.apply(typing("bob"))
    clock.now += 4
    log.apply(typing("bob"))                         # refreshed at +4
    clock.now += 5.9
    assert not log.presence.expire(clock.now) and line(log) == "bob is typing\u2026"
    assert abs(log.presence.next_expiry(clock.now) - 0.1) < 1e-6
    clock.now += 0.1
    assert log.presence.expire(clock.now) and line(log) == ""
    assert log.presence.next_expiry(clock.now) is None


def test_paused_is_not_typing_and_is_forgotten_after_30_seconds():
    log, clock = make_log()
    log.apply(typing("bob"))
    log.apply(typing("bob", "paused"))
    assert line(log) == ""
    assert log.presence.typing_state("bob") == "paused"
    clock.now += 29.9
    log.presence.expire(clock.now)
    assert log.presence.typing_state("bob") == "paused"
    clock.now += 0.1
    log.presence.expire(clock.now)
    assert log.presence.typing_state("bob") is None


def test_private_typing_counts_and_yours_or_malformed_frames_do_not():
    log, _ = make_log()
    log.apply(typing("dan", to="me"))
    assert line(log) == "dan is typing\u2026"
    for bad in (typing("me"), typing("bob", "dancing"), {"type": "typing", "state": "active"},
                {"type": "typing", "name": ["x"], "state": "active"}):
        log.apply(bad)
    assert log.presence.typing_names() == ["dan"]


def test_a_live_message_from_the_typist_clears_the_typing_but_a_replayed_one_does_not():
    log, _ = make_log()
    log.apply(typing("bob"))
    log.apply({"type": "message", "seq": 5, "ts": 1.0, "from": "bob", "text": "old",
               "kind": "chat", "replay": True})
    assert line(log) == "bob is typing\u2026"
    log.apply({"type": "message", "seq": 11, "ts": 1.0, "from": "bob", "text": "hi",
               "kind": "chat"})
    assert line(log) == ""


def test_leave_and_nick_clear_typing_and_carry_or_drop_the_away():
    log, _ = make_log(away={"bob": "lunch", "carol": "meeting"})
    log.apply(typing("bob"))
    log.apply(typing("carol"))
    log.apply({"type": "nick", "seq": 11, "ts": 1.0, "old": "bob", "new": "rob"})
    log.apply({"type": "leave", "seq": 12, "ts": 1.0, "name": "carol", "reason": "bye"})
    assert line(log) == ""
    assert log.presence.away == {"rob": "lunch"}


def test_who_is_away_comes_from_welcome_users_and_presence():
    log, _ = make_log(away={"bob": "lunch"})
    assert log.presence.away == {"bob": "lunch"}
    version = log.users_version
    assert log.apply({"type": "presence", "name": "carol", "away": "away"})
    assert log.presence.away == {"bob": "lunch", "carol": "away"}
    log.apply({"type": "presence", "name": "bob", "away": None})
    assert log.presence.away == {"carol": "away"}
    assert log.users_version > version               # the user list redraws
    log.apply({"type": "users", "users": ["me", "bob", "carol", "dan"], "away": {"dan": "brb"}})
    assert log.presence.away == {"dan": "brb"}


def test_an_old_server_sends_no_away_which_means_nobody_is_away():
    log, _ = make_log(away={"bob": "lunch"})
    log.apply({"type": "users", "users": ["me", "bob"]})
    assert log.presence.away == {}
    log, _ = make_log()
    assert log.presence.away == {}
    log, _ = make_log(away=["not", "a", "map"])
    assert log.presence.away == {}


def test_your_own_away_and_back_are_said_in_the_log():
    log, _ = make_log()
    log.apply({"type": "presence", "name": "bob", "away": "lunch"})
    log.apply({"type": "presence", "name": "me", "away": "lunch"})
    log.apply({"type": "presence", "name": "me", "away": None})
    notices = [e.text for e in log.entries if e.kind == NOTICE]
    assert notices == ["You are away: lunch", "You are back"]


def test_a_drop_forgets_who_was_typing_and_a_welcome_starts_afresh():
    log, _ = make_log(away={"bob": "lunch"})
    log.apply(typing("bob"))
    log.apply({"type": "disconnected", "reason": "gone", "will_retry": True})
    assert line(log) == ""
    log.apply({"type": "connected", "name": "me", "users": ["me", "bob"], "seq": 20,
               "host": "h", "port": 1})
    assert log.presence.away == {}
