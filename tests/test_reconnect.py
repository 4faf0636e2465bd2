"""The client reconnects by itself, resumes, and resends: exactly once, no gaps."""

import os
import queue
import sys

import pytest
from conftest import WAIT, wait_for
from cutproxy import CutProxy

from lanchat.client.connection import ChatConnection
from ui.chatlog import ChatLog  # the window's view model: pure, no pygame

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench"))
import crash_recovery  # noqa: E402

pytestmark = pytest.mark.live  # real sockets: fake servers, real servers, a proxy


class Collector:
    """Drains a ChatConnection's events on the test thread, with bounded waits."""

    def __init__(self, conn):
        self.conn = conn
        self.events = []

    def pump(self):
        while True:
            try:
                self.events.append(self.conn.events.get_nowait())
            except queue.Empty:
                return

    def wait(self, predicate, what):
        def found():
            self.pump()
            return [e for e in self.events if predicate(e)]
        return wait_for(found, timeout=WAIT * 2, what=what)

    def texts(self):
        self.pump()
        return [e["text"] for e in self.events
                if e["type"] == "message" or (e["type"] == "ack" and e.get("text"))]


def test_client_reconnects_after_a_restart_and_sends_what_was_typed_meanwhile(make_server, tmp_path):
    db = str(tmp_path / "chat.db")
    srv = make_server(rate=0, db=db)
    alice = Collector(ChatConnection("127.0.0.1", srv.port, "alice").start())
    bob = Collector(ChatConnection("127.0.0.1", srv.port, "bob").start())
    try:
        alice.wait(lambda e: e["type"] == "connected", "alice connected")
        bob.wait(lambda e: e["type"] == "connected", "bob connected")
        alice.conn.say("before")
        bob.wait(lambda e: e.get("text") == "before", "bob sees 'before'")
        srv.stop()
        alice.wait(lambda e: e["type"] == "reconnecting", "alice reconnecting")
        line_id = alice.conn.say("typed while the server was down")
        assert [i for i, _ in alice.conn.pending()] == [line_id]

        make_server(rate=0, db=db, port=srv.port)
        bob.wait(lambda e: e.get("text") == "typed while the server was down", "the resent line")
        alice.wait(lambda e: e["type"] == "ack" and e["id"] == line_id, "its ack")
        assert alice.conn.pending() == []
        assert alice.conn.name == "alice" and bob.conn.name == "bob"  # names came back
        assert bob.texts().count("before") == 1
        assert bob.texts().count("typed while the server was down") == 1
        assert alice.texts() == ["before", "typed while the server was down"]
    finally:
        alice.conn.close()
        bob.conn.close()


def test_a_resume_brings_what_was_missed_and_nothing_from_before_joining(make_server,
                                                                         make_client, tmp_path):
    # The first welcome's seq is where this client came in: a resume asks from there,
    # not from the last line of the history it was shown (eve's leave came between).
    db = str(tmp_path / "chat.db")
    srv = make_server(rate=0, db=db)
    eve = make_client(srv.address)
    eve.hello("eve")
    eve.send(type="say", text="an old line", id="e1")
    eve.expect("ack", id="e1")
    eve.send(type="bye")
    assert eve.wait_closed()
    dave = Collector(ChatConnection("127.0.0.1", srv.port, "dave").start())
    try:
        dave.wait(lambda e: e.get("text") == "an old line", "the history")
        srv.stop()
        dave.wait(lambda e: e["type"] == "reconnecting", "dave reconnecting")
        make_server(rate=0, db=db, port=srv.port)
        dave.wait(lambda e: e["type"] == "connected"
                  and sum(x["type"] == "connected" for x in dave.events) == 2, "dave back")
        dave.conn.say("back again")
        dave.wait(lambda e: e["type"] == "ack" and e.get("text") == "back again", "its ack")
        left = [e["name"] for e in dave.events if e["type"] == "leave"]
        assert "eve" not in left, dave.events  # she left before dave came
    finally:
        dave.conn.close()


def test_backoff_grows_with_jitter_and_is_capped_for_a_lan():
    delays = [ChatConnection._backoff(n) for n in range(1, 12)]
    assert 0.25 <= delays[0] <= 0.5
    # A LAN server comes back in seconds: never wait more than 3 s (issue 10, item 3).
    assert all(d <= 3.0 for d in delays)
    assert all(1.5 <= d <= 3.0 for d in delays[3:])
    assert len({round(ChatConnection._backoff(3), 6) for _ in range(20)}) > 1  # jitter


def test_reconnect_now_cuts_the_backoff_wait(make_server, monkeypatch):
    # A backoff far longer than any wait of the test: connecting in time proves the cut.
    monkeypatch.setattr(ChatConnection, "_backoff", staticmethod(lambda attempt: 60.0))
    srv = make_server(rate=0)
    conn = ChatConnection("127.0.0.1", srv.port, "eager").start()
    events = Collector(conn)
    try:
        events.wait(lambda e: e["type"] == "connected", "connected")
        conn.reconnect_now()  # connected: nothing to cut, nothing happens
        srv.stop()
        events.wait(lambda e: e["type"] == "reconnecting" and e["delay"] == 60.0, "the long wait")
        make_server(rate=0, port=srv.port)
        conn.reconnect_now()
        wait_for(lambda: events.pump() or sum(e["type"] == "connected" for e in events.events) == 2,
                 timeout=WAIT, what="connected again, long before the 60 s backoff")
    finally:
        conn.close()
    conn.reconnect_now()  # closed: a no-op, no error


def test_reconnect_now_while_connected_does_not_cut_a_later_wait(make_server, monkeypatch):
    monkeypatch.setattr(ChatConnection, "_backoff", staticmethod(lambda attempt: 60.0))
    srv = make_server(rate=0)
    conn = ChatConnection("127.0.0.1", srv.port, "patient").start()
    events = Collector(conn)
    try:
        events.wait(lambda e: e["type"] == "connected", "connected")
        conn.reconnect_now()
        srv.stop()
        events.wait(lambda e: e["type"] == "reconnecting", "the wait")
        make_server(rate=0, port=srv.port)
        # The connection sits in its 60 s wait, and the earlier call left nothing that
        # would cut it (checked on its state, not by waiting to see nothing happen).
        with conn._lock:
            assert conn._in_backoff and not conn._cut_backoff
        assert not any(e["type"] == "connecting" and e["attempt"] > 1 for e in events.events)
    finally:
        conn.close()


def test_kill_9_loses_nothing_acknowledged_and_duplicates_nothing():
    figures = crash_recovery.run(clients=3, lines=40, kills=1, interval=0.01, down_for=0.3)
    assert figures["lines_acked"] == figures["lines_typed"] == 120
    assert figures["lost"] == 0 and figures["duplicated"] == 0
    assert figures["db_lines"] == 120 and figures["db_duplicates"] == 0
    assert figures["each_view_in_seq_order"] and figures["same_seq_everywhere"]


# ---------------------------------------------------------------- what the window shows

class Window:
    """A ChatConnection feeding a ChatLog, as the app does, pumped on the test thread."""

    def __init__(self, port, name):
        self.conn = ChatConnection("127.0.0.1", port, name).start()
        self.log = ChatLog(me=name)

    def pump(self):
        while True:
            try:
                self.log.apply(self.conn.events.get_nowait())
            except queue.Empty:
                return

    def wait(self, condition, what):
        def check():
            self.pump()
            return condition()
        return wait_for(check, timeout=WAIT * 2, what=what)

    def say(self, text):
        msg_id = self.conn.say(text)
        self.log.add_own(msg_id, text)
        return msg_id

    def texts(self):
        return [e.text for e in self.log.entries if e.kind != "divider"]

    def seqs(self):
        return [e.seq for e in self.log.entries if e.seq is not None]


def test_restart_keeps_own_name_in_the_list_and_the_log_in_server_order(make_server, tmp_path):
    db = str(tmp_path / "chat.db")
    srv = make_server(rate=0, db=db)
    solo = Window(srv.port, "solo")
    try:
        solo.wait(lambda: solo.log.status.state == "connected", "solo connected")
        first = solo.say("first line")
        solo.wait(lambda: solo.log.entries[-1].state == "sent", "the first line's ack")
        srv.stop()
        solo.wait(lambda: solo.log.status.state == "reconnecting", "solo reconnecting")
        solo.say("typed while the server was down")
        make_server(rate=0, db=db, port=srv.port)
        solo.wait(lambda: solo.log.status.state == "connected" and not solo.conn.pending(),
                  "the reconnect and the resent line's ack")
        solo.wait(lambda: solo.log.entries[-1].state == "sent", "the ack applied")
        assert first
        assert solo.log.users == ["solo"]
        texts = solo.texts()
        assert texts[0] == "first line"
        assert texts[1].startswith("Disconnected")
        assert texts[2:] == ["solo left (server shutting down)", "Reconnected as solo",
                             "typed while the server was down"]
        assert solo.seqs() == sorted(solo.seqs())
    finally:
        solo.conn.close()


def test_cut_connection_shows_missed_lines_in_place_and_the_resent_line_last(
        chat_server, make_client):
    proxy = CutProxy(chat_server.address)
    bob = make_client(chat_server.address)
    bob.hello("bob")
    me = Window(proxy.port, "me")
    try:
        me.wait(lambda: me.log.status.state == "connected" and "bob" in me.log.users,
                "me connected beside bob")
        bob.send(type="say", text="before the cut", id="b1")
        me.wait(lambda: "before the cut" in me.texts(), "the line before the cut")
        proxy.hold()
        proxy.cut()
        me.wait(lambda: me.log.status.state in ("disconnected", "reconnecting"), "the drop")
        me.say("typed while cut off")
        bob.expect("leave", name="me")
        bob.send(type="say", text="missed one", id="b2")
        bob.send(type="say", text="missed two", id="b3")
        bob.expect("ack", id="b3")
        proxy.release()
        if hasattr(me.conn, "reconnect_now"):
            me.conn.reconnect_now()
        me.wait(lambda: me.log.status.state == "connected" and not me.conn.pending()
                and me.log.entries[-1].state == "sent", "the reconnect and the resent line")
        assert me.log.users == ["me", "bob"]
        texts = me.texts()
        start = texts.index("before the cut")
        assert texts[start + 1].startswith("Disconnected")
        assert texts[start + 2].startswith("me left")  # the server's record of the drop
        assert texts[start + 3:] == ["missed one", "missed two", "Reconnected as me",
                                     "typed while cut off"]
        assert me.seqs() == sorted(me.seqs())
        assert bob.expect("message", text="typed while cut off")["from"] == "me"
    finally:
        me.conn.close()
        proxy.close()
