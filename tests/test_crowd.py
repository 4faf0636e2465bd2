"""Crowded #lobby (docs/protocol.md, "Crowded rooms"): over ``--announce-limit``
people, a batch's joins and leaves reach every member as one ``crowd`` notice, and
every member's view of who is here (welcome, live joins and leaves, crowd notices)
is still exactly who is here."""

from __future__ import annotations

import json
import os
import queue
import sys

from conftest import wait_for
from headless import fonts  # noqa: F401 (fixture; before pygame: no display needed)
import pygame  # noqa: E402 (after headless)
from hypothesis import given, settings
from hypothesis import strategies as st

import protocol
from redisserver import group, needs_redis, redis_server  # noqa: F401 (fixtures)
from serverhelpers import FrameReader, pump
from lanchat.client.connection import ChatConnection
from lanchat.dialects import writers
from lanchat.server.crowd import CrowdNotice, crowd_size
from lanchat.server.delivery import Delivery, Outgoing
from ui.chatlog import ChatLog
from ui.userlist import UserList

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench"))
from clients import IdleClient  # noqa: E402

STORM_WAIT = 30.0  # hundreds of connections on 2 shared cores


# ------------------------------------------------------------------ the notice itself

def apply(view: set, notice: dict) -> set:
    """What a client does with a crowd notice: ``left`` out, then ``joined`` in."""
    return (view - set(notice["left"])) | set(notice["joined"])


def test_the_limit_counts_the_room_after_the_join_or_leave():
    assert crowd_size(500, 500) is None and crowd_size(501, 500) == 501
    assert crowd_size(10 ** 6, 0) is None  # 0: every join and leave announced


@given(st.lists(st.tuples(st.booleans(), st.sampled_from(["ann", "Ann", "bob", "cy"])),
                max_size=12))
def test_a_notice_is_the_net_change_of_its_run(steps):
    # Any run of joins and leaves (a name joins only when out, leaves only when in,
    # ignoring case as names are unique): applied to the room before, the notice
    # gives the room after, whatever the client had of the run already.
    before = {"bob"}
    room = {name.casefold(): name for name in before}
    notice = CrowdNotice("#lobby")
    for join, name in steps:
        if join and name.casefold() not in room:
            room[name.casefold()] = name
            notice.join(name)
        elif not join and room.get(name.casefold()) == name:
            del room[name.casefold()]
            notice.leave(name)
    after = set(room.values())
    event = notice.event()
    assert apply(before, event) == after
    assert apply(after, event) == after  # seen again (a joiner's welcome had part): no change


def test_tutorial_clients_get_nothing_for_a_notice():
    out = Outgoing({"type": "crowd", "room": "#lobby", "users": 600, "left": [], "joined": ["x"]})
    for dialect in (writers.PLAIN, writers.PLAIN_FRAMED, writers.TEN_BYTE, writers.LINE):
        assert out.frame(dialect) == b""


class Reader:
    """What a Delivery needs of a member."""

    def __init__(self, name):
        self.name, self.dialect, self.plain = name, writers.STRUCTURED, False
        self.welcomed, self.gone, self.reading = True, False, {"#lobby"}


def bodies(data: bytes) -> list:
    decoder = protocol.FrameDecoder()
    decoder.feed(data)
    return [json.loads(body) for body in decoder.events()]


def test_a_run_ends_at_the_next_event_and_joiners_of_the_run_get_it():
    old, new = Reader("old"), Reader("new")
    new.welcomed = False
    delivery = Delivery()
    delivery.crowd("#lobby", "a", True, 601, 7)
    delivery.starting(new)  # welcomed in the middle of the run
    new.welcomed = True
    delivery.one(new, protocol.message_frame({"type": "welcome", "name": "new"}))
    delivery.crowd("#lobby", "new", True, 602, 8)
    line = Outgoing({"type": "message", "seq": 9, "ts": 1.0, "from": "a", "text": "hi",
                     "kind": "chat", "room": "#lobby"})
    delivery.to_room("#lobby", line)
    delivery.crowd("#lobby", "a", False, 601, 10)
    sends = dict(delivery.collect({"#lobby": ({old: None, new: None}, {})}))
    assert [(b["type"], b.get("joined"), b.get("left"), b.get("users"), b["seq"])
            for b in bodies(sends[old])] == [("crowd", ["a", "new"], [], 602, 8),
                                             ("message", None, None, None, 9),
                                             ("crowd", [], ["a"], 601, 10)]
    assert [b["type"] for b in bodies(sends[new])] == ["welcome", "crowd", "message", "crowd"]


# ------------------------------------------------------------------ many members, live

class Viewer(FrameReader):
    """One raw structured connection and its view of who is here."""

    def __init__(self, address, name):
        self.name = name
        super().__init__(address, {"type": "hello", "name": name})
        self.view = None  # the names it knows are here, from its welcome on
        self.counts = {"join": 0, "leave": 0, "crowd": 0}
        self.problems = []

    def see(self, msg: dict) -> None:
        kind = msg["type"]
        if kind == "welcome":
            self.view = set(msg["users"])
        elif kind in self.counts and not msg.get("replay"):
            self.counts[kind] += 1
            if kind == "join":
                self.view.add(msg["name"])
            elif kind == "leave":
                self.view.discard(msg["name"])
            else:
                self.view = apply(self.view, msg)
                if len(self.view) != msg["users"]:
                    self.problems.append(f"{self.name}: {len(self.view)} known, notice says "
                                         f"{msg['users']}")


def here(srv, group: bool = False) -> set:
    """Who the server says is here (``group``: on every server of its group)."""
    with srv.room.lock:
        names = {member.name for member in srv.room.members.values()}
        return names | {p.name for p in srv.room.membership.remote.values()} if group else names


def test_hundreds_join_and_leave_at_once_and_every_view_is_right(make_server):
    limit, crowd, leaving = 40, 300, 270
    srv = make_server(rate=0, announce_limit=limit, max_clients=1000, max_per_ip=1000)
    viewers = [Viewer(srv.address, f"v{i}") for i in range(crowd)]
    try:
        everyone = {v.name for v in viewers}
        pump(viewers, lambda: all(v.view == everyone for v in viewers),
             "every member to know all 300", timeout=STORM_WAIT)
        assert here(srv) == everyone
        for viewer in viewers:
            assert viewer.problems == []
            # Individual joins only while the room was small; then notices, each
            # batch's run in one.
            assert viewer.counts["join"] <= limit, viewer.counts
        assert sum(v.counts["crowd"] for v in viewers) > 0
        assert max(v.counts["crowd"] for v in viewers) < crowd - limit

        gone, staying = viewers[:leaving], viewers[leaving:]
        for viewer in gone:
            viewer.sock.close()
        left = {v.name for v in staying}
        wait_for(lambda: here(srv) == left, timeout=STORM_WAIT, what="the server to see them go")
        pump(staying, lambda: all(v.view == left for v in staying),
             "the 30 still here to know who stayed", timeout=STORM_WAIT)
        for viewer in staying:
            assert viewer.problems == []
            # Below the limit again, leaves are single events once more.
            assert 0 < viewer.counts["leave"] <= limit, viewer.counts
    finally:
        for viewer in viewers:
            viewer.sock.close()


def test_up_to_the_limit_every_join_and_leave_is_its_own_event(make_server, make_client):
    # The contract's behaviour for rooms up to --announce-limit (500 by default):
    # clients that know only join and leave see every one.
    srv = make_server(rate=0)
    first = make_client(srv.address)
    first.hello("first")
    others = [make_client(srv.address) for _ in range(20)]
    for i, other in enumerate(others):
        other.hello(f"o{i}")
    for other in others:
        other.close()
    wait_for(lambda: here(srv) == {"first"}, what="the others gone")
    first.send(type="ping", id="p")
    got = []
    while (msg := first.recv())["type"] != "pong":
        got.append((msg["type"], msg.get("name")))
    names = {f"o{i}" for i in range(20)}
    assert sorted(got) == sorted([("join", n) for n in names] + [("leave", n) for n in names])


@needs_redis
def test_a_group_of_servers_announces_a_crowd_on_each(group):
    # Joins and leaves stored by the other server reach this one's members the same
    # way: one notice per run once the group's #lobby is crowded. (In a group a
    # notice's users is this server's count at the time: only the lists are checked.)
    servers = group(2, announce_limit=8, max_per_ip=1000)
    viewers = []
    for i in range(30):
        # One at a time (joins racing on both servers: test_cluster_joins.py).
        viewers.append(Viewer(servers[i % 2].address, f"g{i}"))
        names = {v.name for v in viewers}
        wait_for(lambda: all(here(s, group=True) == names for s in servers),
                 what="both servers to know the newcomer")
    try:
        everyone = {v.name for v in viewers}
        pump(viewers, lambda: all(v.view == everyone for v in viewers),
             "every member of the group to know all 30", timeout=STORM_WAIT)
        for viewer in viewers[:25]:
            viewer.sock.close()
        staying = viewers[25:]
        left = {v.name for v in staying}
        pump(staying, lambda: all(v.view == left for v in staying),
             "the 5 still here to know who stayed", timeout=STORM_WAIT)
        for viewer in staying:  # the other server's leaves too came in notices
            assert viewer.counts["crowd"] and viewer.counts["leave"] <= 8, viewer.counts
    finally:
        for viewer in viewers:
            viewer.sock.close()


def test_a_tutorial_client_in_a_crowd_sees_no_join_lines_and_who_lists_everyone(
        make_server, make_client):
    srv = make_server(rate=0, announce_limit=3, max_per_ip=1000)
    line = make_client(srv.address, bare=True)
    line.send_raw(b"/who\n")  # a line (nc) client: its first line makes it a guest
    line.expect_text("users (1)")
    joiners = [make_client(srv.address) for _ in range(12)]
    for i, joiner in enumerate(joiners):
        joiner.hello(f"j{i}")
    line.send_raw(b"/who\n")
    got = line.expect_text("users (13)")
    # Only the joins into a room of at most 3 were lines of their own.
    assert [text for text in got.decode().splitlines() if text.endswith(" joined")] == [
        "* j0 joined", "* j1 joined"]
    rest = line.expect_text("\n")
    assert all(f"j{i}" in rest.decode() for i in range(12))


class Window:
    """A ChatConnection feeding a ChatLog, as the app does, pumped on the test thread."""

    def __init__(self, port, name):
        self.conn = ChatConnection("127.0.0.1", port, name).start()
        self.log = ChatLog(me=name)

    def wait(self, condition, what):
        def check():
            while True:
                try:
                    self.log.apply(self.conn.events.get_nowait())
                except queue.Empty:
                    return condition()
        return wait_for(check, timeout=STORM_WAIT, what=what)


def test_the_window_lists_everyone_in_a_crowd_without_a_line_for_each(make_server, make_client,
                                                                      fonts):
    limit = 10
    srv = make_server(rate=0, announce_limit=limit, max_per_ip=1000)
    window = Window(srv.port, "me")
    try:
        window.wait(lambda: window.log.status.state == "connected", "the window connected")
        crowd = [make_client(srv.address) for _ in range(60)]
        for i, client in enumerate(crowd):
            client.hello(f"p{i}")
        window.wait(lambda: len(window.log.users) == 61, "61 in the user list")
        assert set(window.log.users) == here(srv)
        sidebar = UserList(pygame.Rect(0, 0, 240, 700), fonts, window.log)
        sidebar.draw(pygame.Surface((240, 700)))
        assert sidebar.title_lines() == ["ONLINE \u2014 61"]
        # Everything up to the last join has arrived: a resume asks since it.
        assert window.conn.last_seq == srv.room.seq
        for client in crowd[:45]:
            client.close()
        window.wait(lambda: len(window.log.users) == 16, "16 left in the user list")
        assert set(window.log.users) == here(srv)
        assert sidebar.title_lines() == ["ONLINE \u2014 16"]
        assert window.conn.last_seq == srv.room.seq
        assert window.log.users[0] == "me"
        notices = [e.text for e in window.log.entries if e.text.endswith((" joined", " left"))
                   or " left (" in e.text]
        # A line for each join and leave only while #lobby had at most `limit` people.
        assert 0 < len(notices) <= 2 * limit
    finally:
        window.conn.close()


def test_the_window_model_follows_a_notice():
    log = ChatLog(me="me")
    log.apply({"type": "connected", "name": "me", "users": ["me", "ann", "bob"], "seq": 1,
               "away": {"bob": "lunch"}})
    before = log.version
    assert log.apply({"type": "crowd", "room": "#lobby", "users": 4, "left": ["bob"],
                      "joined": ["ann", "cy", "dee"]})
    assert log.users == ["me", "ann", "cy", "dee"]
    assert "bob" not in log.presence.away
    assert log.version == before  # nothing in the conversation
    assert not log.apply({"type": "crowd", "room": "#lobby", "users": 4, "left": [],
                          "joined": ["cy"]})  # already known: nothing changes
    assert not log.apply({"type": "crowd", "room": "#games", "users": 1, "left": ["ann"],
                          "joined": []})
    assert not log.apply({"type": "crowd", "room": "#lobby", "left": "ann", "joined": [7]})
    assert log.users == ["me", "ann", "cy", "dee"]


# ------------------------------------------------------------------ the benchmark's reader

def frame(message: dict) -> bytes:
    return protocol.encode_frame(json.dumps(message, separators=(",", ":")))


STREAM = (frame({"type": "welcome", "name": "c0", "users": ["c0", "a"]})
          + frame({"type": "join", "seq": 2, "ts": 1.0, "name": "b", "room": "#lobby"})
          + frame({"type": "crowd", "room": "#lobby", "seq": 8, "users": 4, "left": ["a"],
                   "joined": ["c0", "x", "y"]})
          + frame({"type": "join", "seq": 9, "ts": 1.0, "name": "q", "room": "#lobby"})
          + frame({"type": "leave", "seq": 10, "ts": 1.0, "name": "q", "reason": "bye"})
          + frame({"type": "crowd", "room": "#lobby", "seq": 11, "users": 5, "left": [],
                   "joined": ["z"]})
          + frame({"type": "join", "seq": 12, "ts": 1.0, "name": "b2", "room": "#lobby"})
          + frame({"type": "message", "seq": 13, "ts": 1.0, "from": "b", "text": "MARK"}))


def read_in_pieces(cuts) -> IdleClient:
    client = IdleClient("c0", b"MARK")
    start = 0
    for cut in sorted(set(cuts)) + [len(STREAM)]:
        client.on_data(STREAM[start:cut], 1)
        start = cut
    return client


@settings(max_examples=300)
@given(st.lists(st.integers(1, len(STREAM) - 1), max_size=40))
def test_the_bench_reader_counts_a_crowd_however_the_reads_split(cuts):
    client = read_in_pieces(cuts)
    assert (client.members_seen, client.closed, client.marker_ns) == (6, None, 1)


def test_the_bench_reader_whole_and_byte_by_byte():
    for cuts in ([], range(1, len(STREAM))):
        client = read_in_pieces(list(cuts))
        assert (client.members_seen, client.closed, client.marker_ns) == (6, None, 1)
