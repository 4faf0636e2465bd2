"""The client reconnects by itself, resumes, and resends: exactly once, no gaps."""

import os
import queue
import sys

import pytest

from conftest import WAIT, wait_for

from lanchat.client.connection import ChatConnection

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench"))
import crash_recovery  # noqa: E402


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
        with pytest.raises(pytest.fail.Exception):
            wait_for(lambda: events.pump() or any(e["type"] == "connecting" and e["attempt"] > 1
                                                  for e in events.events),
                     timeout=0.5, what="no early attempt")
    finally:
        conn.close()


def test_kill_9_loses_nothing_acknowledged_and_duplicates_nothing():
    figures = crash_recovery.run(clients=3, lines=40, kills=1, interval=0.01, down_for=0.3)
    assert figures["lines_acked"] == figures["lines_typed"] == 120
    assert figures["lost"] == 0 and figures["duplicated"] == 0
    assert figures["db_lines"] == 120 and figures["db_duplicates"] == 0
    assert figures["each_view_in_seq_order"] and figures["same_seq_everywhere"]
