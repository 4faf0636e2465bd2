"""A welcome in a group of servers and the joins, leaves and nicks around it.

A newcomer's ``welcome`` lists who is here as of its join's seq; every join, leave or
nick with a higher seq then reaches it as an event, none with a lower one does. In a
group, another server's join may take a lower seq than the newcomer's and still reach
this server after the welcome was built: the welcome must show it anyway
(``lanchat.server.welcomes``), or the newcomer lacks that person (or keeps a ghost,
or an old name) until it reconnects.

The live test races newcomers on each server against joins, leaves, parts, nicks and
a topic on the other, round after round, in #lobby (also crowded) and in another room,
and checks every client's view (welcome or joined, then the live events and crowd
notices it got) against who is in the room and its topic.
"""

from __future__ import annotations

import pytest

import protocol
from conftest import wait_for
from redisserver import group, needs_redis, redis_server  # noqa: F401 (fixtures)
from serverhelpers import FrameReader, pump

pytestmark = needs_redis

ROUNDS = 12      # races per test: the race is lost in most rounds before the fix
PER_ROUND = 6    # newcomers per server per round, as many leaving and renaming


class Viewer(FrameReader):
    """One raw structured connection and its view of one room's members (#lobby's
    from its welcome, another room's from its ``joined``; the hello enters it)."""

    def __init__(self, address, name: str, room: str):
        self.name = name
        self.room = room
        hello = {"type": "hello", "name": name}
        if room != protocol.LOBBY:
            hello["rooms"] = [room]
        super().__init__(address, hello)
        self.view = None     # names it knows are in the room, from its welcome on
        self.topic = None    # the room's topic as it knows it
        self.marks = set()   # the markers it has had (a line, or the ack of its own)
        self.seqs = []       # the seq of every event and notice, in the order they came
        self.problems = []   # events that do not fit its view (a join of someone it has)

    def send(self, **message) -> None:
        self.sock.sendall(protocol.message_frame(message))

    def see(self, msg: dict) -> None:
        kind = msg["type"]
        if "seq" in msg and kind != "ack" and not msg.get("replay"):
            self.seqs.append(msg["seq"])
        ours = msg.get("room") == self.room
        if kind == "welcome" and self.room == protocol.LOBBY:
            self.view, self.topic = set(msg["users"]), msg["rooms"][0]["topic"]
        elif kind == "joined" and msg["room"]["room"] == self.room:
            self.view, self.topic = set(msg["room"]["users"]), msg["room"]["topic"]
        elif msg.get("replay") or self.view is None:
            return
        elif kind == "join" and ours:
            if msg["name"] in self.view:
                self.problems.append(f"{self.name} had {msg['name']} and got their join")
            self.view.add(msg["name"])
        elif kind == "leave" or (kind in ("part", "kick") and ours):
            if msg["name"] not in self.view:
                self.problems.append(f"{self.name} got the {kind} of {msg['name']}, not there")
            self.view.discard(msg["name"])
        elif kind == "nick":
            if msg["old"] not in self.view:
                self.problems.append(f"{self.name} got the nick of {msg['old']}, not there")
            self.view.discard(msg["old"])
            self.view.add(msg["new"])
        elif kind == "topic" and ours:
            self.topic = msg["topic"]
        elif kind == "crowd":  # docs/protocol.md, "Crowded rooms"
            self.view = (self.view - set(msg["left"])) | set(msg["joined"])
        elif kind == "message" and msg["text"].startswith("MARK"):
            self.marks.add(msg["text"])
        elif kind == "ack" and str(msg.get("id")).startswith("MARK"):
            self.marks.add(msg["id"])


def in_group(srv, room: str) -> tuple:
    """Who this server says is in ``room`` (its own members and the others'), and the
    room's topic."""
    with srv.room.lock:
        where = srv.room.rooms.get(room)
        return ({person.name for person in where.members} if where is not None else set(),
                srv.room.rooms.modes_of(room).topic)


@pytest.mark.parametrize("room,limit", [(protocol.LOBBY, 500), (protocol.LOBBY, 4),
                                        ("#games", 500)],
                         ids=["lobby", "lobby-crowd-notices", "another-room"])
def test_every_view_is_the_group_while_joins_race_on_two_servers(group, room, limit):
    # Round after round, on both servers at once: newcomers join (their welcome or
    # joined races the rest), last round's newcomers rename, those of the round before
    # leave (#lobby) or leave and part (another room), an admin on the second server
    # sets the room's topic. (One setter: two servers setting a topic at the same
    # moment can each keep its own, each applying the other's when it arrives, a
    # separate problem from the welcomes'.)
    servers = group(2, announce_limit=limit, max_per_ip=1000, admin_password="pw")
    admin = Viewer(servers[1].address, "admin", room)
    admin.send(type="say", text="/admin pw", id="admin")
    viewers: list = [admin]
    rounds: list = []  # the viewers each round made
    wrong = []
    try:
        for number in range(ROUNDS):
            made = []
            leaving = list(rounds[-2]) if len(rounds) >= 2 else []
            renaming = list(rounds[-1]) if rounds else []
            for index in range(PER_ROUND):
                for side in (0, 1):
                    viewer = Viewer(servers[side].address, f"r{number}s{side}n{index}", room)
                    made.append(viewer)
                    viewers.append(viewer)
                    if leaving:
                        gone = leaving.pop()
                        viewers.remove(gone)
                        if room != protocol.LOBBY and len(leaving) % 2:
                            gone.send(type="say", text=f"/part {room}", id="part")
                        else:
                            gone.sock.close()
                    if index == PER_ROUND // 2 and side == 0:
                        admin.send(type="say", text=f"/topic {number}", id="topic", room=room)
                    if renaming:
                        renamed = renaming.pop()
                        renamed.new = f"{renamed.name}x"
                        renamed.send(type="say", text=f"/nick {renamed.new}", id="nick")
            rounds.append(made)
            pump(viewers, lambda: all(v.view is not None for v in viewers), "every welcome")
            expected = {getattr(v, "new", v.name) for v in viewers}
            topic = f"{number}"
            for srv in servers:
                wait_for(lambda: in_group(srv, room) == (expected, topic),
                         what="both servers to agree")
            # A line after all of it: whoever has it has every event before it.
            mark = f"MARK{number}"
            viewers[0].send(type="say", text=mark, id=mark, room=room)
            pump(viewers, lambda: all(mark in v.marks for v in viewers), mark)
            for viewer in viewers:
                if viewer.view != expected:
                    wrong.append((number, viewer.name, sorted(expected - viewer.view),
                                  sorted(viewer.view - expected)))
                if viewer.topic != topic:
                    wrong.append((number, viewer.name, f"topic {viewer.topic!r}, not {topic!r}"))
                assert viewer.seqs == sorted(viewer.seqs), f"{viewer.name}: out of order"
                wrong += viewer.problems
                viewer.problems = []
        assert wrong == [], f"{len(wrong)} wrong (round, who, missing, extra): {wrong[:6]}"
    finally:
        for viewer in [admin] + [v for made in rounds for v in made]:
            viewer.sock.close()
