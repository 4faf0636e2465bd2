"""Rooms in the terminal mode and in ``eventtext``: ``--room``, ``/join`` and ``/part``
switching the room typed lines go to, and a ``[#room]`` prefix on other rooms' lines."""

from __future__ import annotations

import io
import json
import queue
import socket
import threading
from types import SimpleNamespace

import pytest
from conftest import WAIT
from test_cli import CLOCK, cli  # noqa: F401  (cli is a fixture)

import protocol
from lanchat import eventtext
from lanchat.client.terminal import TerminalPrinter


def room(name, topic="", users=("me",)):
    return {"room": name, "topic": topic, "users": list(users), "ops": [], "slow": 0,
            "muted": False}


# ---------------------------------------------------------------- eventtext

def test_lobby_lines_are_worded_as_before():
    for event, line in (
            ({"type": "join", "name": "bob", "room": "#lobby"}, "* bob joined"),
            ({"type": "join", "name": "bob"}, "* bob joined"),
            ({"type": "topic", "by": "al", "topic": "t", "room": "#lobby"}, "* al set the topic: t"),
            ({"type": "kick", "name": "bob", "by": "al", "reason": "r", "room": "#lobby"},
             "* bob was kicked by al (r)"),
            ({"type": "mode", "by": "al", "change": "+op", "target": "bob", "room": "#lobby"},
             "* al made bob an op"),
            ({"type": "users", "users": ["a", "b"], "room": "#lobby"}, "users (2): a, b")):
        assert eventtext.describe(event, "me") == line


def test_other_rooms_are_named():
    for event, line in (
            ({"type": "join", "name": "bob", "room": "#games"}, "* bob joined #games"),
            ({"type": "part", "name": "bob", "room": "#games", "reason": "tea"},
             "* bob left #games (tea)"),
            ({"type": "part", "name": "me", "room": "#games", "reason": None}, "* you left #games"),
            ({"type": "topic", "by": "al", "topic": "t", "room": "#games"},
             "* al set the topic of #games: t"),
            ({"type": "topic", "by": "al", "topic": "", "room": "#games"},
             "* al cleared the topic of #games"),
            ({"type": "kick", "name": "bob", "by": "al", "reason": None, "room": "#games"},
             "* bob was kicked from #games by al"),
            ({"type": "mode", "by": "al", "change": "+op", "target": "bob", "room": "#games"},
             "* al made bob an op in #games"),
            ({"type": "users", "users": ["a"], "room": "#games"}, "users of #games (1): a"),
            ({"type": "joined", "seq": 3, "room": room("#games", "dice", ["me", "bob"])},
             "* you joined #games (topic: dice) — 2 here: me, bob"),
            ({"type": "joined", "seq": 3, "room": room("#art")}, "* you joined #art — 1 here: me"),
            ({"type": "rooms", "rooms": [{"room": "#lobby", "topic": "", "users": 3},
                                         {"room": "#games", "topic": "dice", "users": 1}]},
             "rooms (2): #lobby (3 here), #games (1 here, topic: dice)")):
        assert eventtext.describe(event, "me") == line


# ---------------------------------------------------------------- the printer (pure)

def printer_in(current="#lobby"):
    out, err = io.StringIO(), io.StringIO()
    printer = TerminalPrinter(SimpleNamespace(name="me"), out=out, err=err, room=current)
    return printer, out


def test_lines_from_other_rooms_get_a_prefix():
    printer, out = printer_in("#games")
    printer.show({"type": "message", "seq": 2, "ts": 1.0, "from": "bob", "text": "hi", "kind": "chat"})
    printer.show({"type": "message", "seq": 3, "ts": 1.0, "from": "bob", "text": "gg",
                  "kind": "chat", "room": "#Games"})
    printer.show({"type": "message", "seq": 4, "ts": 1.0, "from": "bob", "text": "psst",
                  "kind": "private", "to": "me"})
    printer.show({"type": "users", "users": ["me"], "room": "#art"})
    printer.show({"type": "leave", "seq": 5, "ts": 1.0, "name": "eve", "reason": "quit"})
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("[#lobby] [") and lines[0].endswith("] bob: hi")
    assert not lines[1].startswith("[#") and lines[1].endswith("] bob: gg")
    assert not lines[2].startswith("[#") and lines[2].endswith("(private) bob: psst")
    assert lines[3] == "[#art] users of #art (1): me"
    assert not lines[4].startswith("[#")


def test_joined_switches_and_a_part_of_mine_goes_back_to_the_lobby():
    printer, out = printer_in()
    printer.show({"type": "joined", "seq": 2, "room": room("#games", "dice", ["me", "bob"])})
    assert printer.room == "#games"
    printer.show({"type": "message", "seq": 3, "ts": 1.0, "from": "bob", "text": "gg",
                  "kind": "chat", "room": "#games", "replay": True})
    printer.show({"type": "part", "seq": 4, "ts": 1.0, "name": "me", "room": "#games", "reason": None})
    assert printer.room == "#lobby"
    lines = out.getvalue().splitlines()
    assert lines[0] == "* you joined #games (topic: dice) — 2 here: me, bob"
    assert lines[2].endswith("] bob: gg") and not lines[2].startswith("[#")
    assert lines[-1].endswith("* you left #games") and not lines[-1].startswith("[#")


def test_a_kick_from_the_current_room_goes_back_to_the_lobby():
    printer, out = printer_in("#games")
    printer.show({"type": "kick", "seq": 4, "ts": 1.0, "name": "me", "by": "al",
                  "room": "#games", "reason": None})
    assert printer.room == "#lobby"


# ---------------------------------------------------------------- client.py --cli

class RoomsFake:
    """A server for one client: welcomes it into the rooms its hello asks for (or only
    #lobby), answers ``/join`` with ``joined`` and ``/part`` with ``part``, acks every
    line, and after the line ``hi`` sends a #lobby line from bob."""

    def __init__(self, honour_rooms=True):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.honour_rooms = honour_rooms
        self.hello = None
        self.says: "queue.Queue[dict]" = queue.Queue()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        self.listener.settimeout(WAIT)
        conn, _ = self.listener.accept()
        conn.settimeout(WAIT)
        send = lambda **m: conn.sendall(protocol.message_frame(m))  # noqa: E731
        decoder, seq = protocol.FrameDecoder(), 1
        with conn:
            while True:
                try:
                    data = conn.recv(65536)
                except OSError:
                    return
                if not data:
                    return
                decoder.feed(data)
                for body in decoder.events():
                    msg = json.loads(body)
                    if msg["type"] == "hello":
                        self.hello = msg
                        wanted = msg.get("rooms", ["#lobby"]) if self.honour_rooms else ["#lobby"]
                        send(type="welcome", name=msg["name"], users=[msg["name"]], server="fake",
                             max_text=4000, max_frame=65536, seq=1, session="s",
                             rooms=[room(r, users=[msg["name"]]) for r in wanted])
                    if msg["type"] != "say":
                        continue
                    self.says.put(msg)
                    seq += 1
                    words = msg["text"].split()
                    if words[0] == "/join":
                        send(type="joined", seq=seq, room=room(words[1], "paint", ["carol", "dan"]))
                    elif words[0] == "/part":
                        send(type="part", seq=seq, ts=1.0, name=self.hello["name"],
                             room=msg.get("room", "#lobby"), reason=None)
                    elif msg["text"] == "hi":
                        send(type="message", seq=seq, ts=1.0, kind="chat", text="hi all",
                             **{"from": "bob"})
                        seq += 1
                    send(type="ack", id=msg["id"], seq=seq)

    def said(self, n):
        return [self.says.get(timeout=WAIT) for _ in range(n)]

    def close(self):
        self.listener.close()
        self.thread.join(WAIT)


@pytest.mark.live
def test_cli_room_join_and_part_choose_where_lines_go(cli):  # noqa: F811
    fake = RoomsFake()
    try:
        carol = cli(fake.port, "carol", "--no-reconnect", "--room", "games")
        carol.wait_line(r"\* you joined #games — 1 here: carol")
        carol.type("hi", "/join #art", "there", "/part", "back")
        carol.wait_line(rf"\[#lobby\] {CLOCK} bob: hi all")
        carol.wait_line(r"\* you joined #art \(topic: paint\) — 2 here: carol, dan")
        said = [(m["text"], m.get("room")) for m in fake.said(5)]
        assert said == [("hi", "#games"), ("/join #art", "#games"), ("there", "#art"),
                        ("/part", "#art"), ("back", None)]
        assert fake.hello["rooms"] == ["#lobby", "#games"]
        assert carol.end_input() == 0
    finally:
        fake.close()


@pytest.mark.live
def test_cli_room_joins_by_command_when_the_server_ignores_hello_rooms(cli):  # noqa: F811
    fake = RoomsFake(honour_rooms=False)
    try:
        carol = cli(fake.port, "carol", "--no-reconnect", "--room", "#games")
        carol.type("first")
        said = [(m["text"], m.get("room")) for m in fake.said(2)]
        assert said == [("/join #games", None), ("first", "#games")]
        assert carol.end_input() == 0
    finally:
        fake.close()


def test_join_of_a_room_already_in_only_switches_and_part_goes_back_at_once():
    from lanchat.client.terminal import send_line
    said = []
    conn = SimpleNamespace(name="me", rooms=["#lobby", "#games"],
                           say=lambda text, room="#lobby": said.append((text, room)))
    out = io.StringIO()
    printer = TerminalPrinter(conn, out=out, err=io.StringIO())
    done = threading.Event()
    send_line(conn, printer, "/join #GAMES", done)
    assert printer.room == "#games" and said == []
    assert out.getvalue() == "* now talking in #games\n"
    send_line(conn, printer, "/part #other", done)
    assert printer.room == "#games"
    send_line(conn, printer, "/part gone for tea", done)
    assert printer.room == "#lobby"
    assert said == [("/part #other", "#games"), ("/part gone for tea", "#games")]
