"""``lanchat.server.welcomes``: a welcome built at one point of the group's order, with
the other servers' events after that point folded in, shows the room as of the end of
them (the live races are in test_cluster_joins.py)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

import protocol
from lanchat.dialects import writers
from lanchat.ratelimit import TokenBucket
from lanchat.server.members import Member
from lanchat.server.welcomes import Waiting, fold
from lanchat.text import name_key

NAMES = ["ann", "Bob", "cy", "dee", "Eve", "fay"]
ME = "me"


def member(name: str, *rooms: str) -> Member:
    person = Member(name=name, transport=None, dialect=writers.STRUCTURED, peer="test",
                    session=f"s-{name}", bucket=TokenBucket(0, 1))
    person.rooms = {room: None for room in rooms}
    return person


@st.composite
def histories(draw):
    """``(room, present at the start, away at the start, events, the room after each)``:
    a group's history of a room that is consistent (a join of someone not in it, a
    part of someone in it...), with events of another room and about the newcomer
    mixed in, which change nothing its welcome shows."""
    room = draw(st.sampled_from([protocol.LOBBY, "#games"]))
    present = {name_key(n): n for n in draw(st.sets(st.sampled_from(NAMES)))}
    away = {n: "brb" for n in present.values() if draw(st.booleans())}
    start = (dict(present), dict(away))
    events, states = [], []
    for _ in range(draw(st.integers(0, 20))):
        kind = draw(st.sampled_from(["join", "leave", "part", "kick", "nick", "presence",
                                     "elsewhere", "me"]))
        name = draw(st.sampled_from(NAMES))
        if draw(st.booleans()):
            name = name.upper()  # names are one person ignoring case
        key = name_key(name)
        if kind == "join" and key not in present:
            present[key] = name
            events.append({"type": "join", "name": name, "room": room})
        elif kind == "leave" and key in present:
            away.pop(present.pop(key), None)
            events.append({"type": "leave", "name": name, "reason": "bye"})
        elif kind in ("part", "kick") and key in present and room != protocol.LOBBY:
            away.pop(present.pop(key), None)
            events.append({"type": kind, "name": name, "room": room.upper()})
        elif kind == "nick" and key in present:
            new = draw(st.sampled_from(NAMES)) + "_2"
            if name_key(new) not in present:
                old = present.pop(key)
                present[name_key(new)] = new
                if old in away:
                    away[new] = away.pop(old)
                events.append({"type": "nick", "old": name, "new": new})
        elif kind == "presence" and key in present:
            message = draw(st.sampled_from([None, "lunch"]))
            if message is None:
                away.pop(present[key], None)
            else:
                away[present[key]] = message
            events.append({"type": "presence", "name": name, "away": message})
        elif kind == "elsewhere":  # another room's join and part: nothing here
            events.append({"type": "join", "name": name, "room": "#other"})
            events.append({"type": "part", "name": name, "room": "#other"})
        elif kind == "me":  # the newcomer's old connection's leave: it is here now
            events.append({"type": "leave", "name": ME.upper(), "reason": "replaced"})
        states.append((dict(present), dict(away), len(events)))
    return room, start, events, states


@given(histories(), st.data())
def test_a_welcome_with_the_events_after_it_folded_in_shows_the_room_after_them(story, data):
    room, start, events, states = story
    states = [(*start, 0)] + states
    built = data.draw(st.integers(0, len(states) - 1))  # when the welcome was built
    others, away, done = states[built]
    others, away = dict(others), dict(away)
    for event in events[done:]:
        fold(others, away, event, ME, room)
    final, final_away, _ = states[-1]
    assert others == final
    assert away == final_away


def test_a_join_of_someone_listed_lists_them_once_and_the_newcomer_stays():
    others, away = {"ann": "Ann"}, {}
    fold(others, away, {"type": "join", "name": "ANN", "room": "#lobby"}, ME, "#lobby")
    fold(others, away, {"type": "leave", "name": "Me", "reason": "x"}, ME, "#lobby")
    fold(others, away, {"type": "nick", "old": "ann", "new": "me"}, ME, "#lobby")
    assert others == {"ann": "Ann"}


def test_a_kick_from_the_lobby_waits_for_its_leave():
    others, away = {"ann": "ann"}, {}
    fold(others, away, {"type": "kick", "name": "ann", "room": "#lobby"}, ME, "#lobby")
    assert others == {"ann": "ann"}
    fold(others, away, {"type": "leave", "name": "ann"}, ME, "#lobby")
    assert others == {}


def test_waiting_welcomes_hear_what_changes_them_until_taken_or_out_of_the_room():
    waiting = Waiting()
    new, other, parted = member("new", "#lobby"), member("other", "#lobby", "#games"), \
        member("parted", "#lobby", "#games")
    waiting.add(new, "#lobby")
    waiting.add(other, "#games")
    waiting.add(parted, "#games")
    join = {"type": "join", "seq": 5, "name": "x", "room": "#lobby"}
    waiting.heard(join)
    waiting.heard({"type": "message", "seq": 6, "from": "x", "text": "hi"})  # not shown
    waiting.heard({"type": "typing", "name": "x", "state": "active", "room": "#lobby"})
    del parted.rooms["#games"]  # out of the room before its joined went out
    topic = {"type": "topic", "seq": 7, "room": "#lobby", "topic": "t", "by": "x"}
    waiting.heard(topic)
    assert len(waiting) == 2
    assert waiting.take(new, "#lobby") == [join, topic]
    assert waiting.take(new, "#lobby") == []  # taken: it waits no more
    other.gone, other.rooms = True, {}
    waiting.heard(join)
    assert len(waiting) == 0
    assert waiting.take(other, "#games") == []
