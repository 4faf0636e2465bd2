"""The client reconnects by itself, resumes, and resends: exactly once, no gaps."""

import os
import queue
import sys

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


def test_backoff_grows_with_jitter_and_is_capped():
    delays = [ChatConnection._backoff(n) for n in range(1, 12)]
    assert 0.25 <= delays[0] <= 0.5
    assert all(15 <= d <= 30 for d in delays[7:])
    assert len({round(ChatConnection._backoff(3), 6) for _ in range(20)}) > 1  # jitter


def test_kill_9_loses_nothing_acknowledged_and_duplicates_nothing():
    figures = crash_recovery.run(clients=3, lines=40, kills=1, interval=0.01, down_for=0.3)
    assert figures["lines_acked"] == figures["lines_typed"] == 120
    assert figures["lost"] == 0 and figures["duplicated"] == 0
    assert figures["db_lines"] == 120 and figures["db_duplicates"] == 0
    assert figures["each_view_in_seq_order"] and figures["same_seq_everywhere"]
