"""ChatConnection against fake servers: what the client does when the server misbehaves."""

import json
import os
import queue
import socket
import threading
import time

import pytest
from conftest import WAIT, wait_for

import protocol
from lanchat.client.connection import ChatConnection

pytestmark = pytest.mark.live  # real sockets: fake servers, real servers, a proxy


class FakeServer:
    """Accepts one client on 127.0.0.1, answers its hello with a welcome, then obeys
    the test: it may stop reading or stop answering."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.conn = None
        self.hello = None

    def accept_and_welcome(self, name="me", **extra):
        self.listener.settimeout(WAIT)
        self.conn, _ = self.listener.accept()
        decoder = protocol.FrameDecoder()
        self.conn.settimeout(WAIT)
        while self.hello is None:
            decoder.feed(self.conn.recv(4096))
            for body in decoder.events():
                self.hello = json.loads(body)
        self.conn.sendall(protocol.message_frame({
            "type": "welcome", "name": name, "users": [name], "server": "fake",
            "max_text": 4000, "max_frame": 65536, "seq": 1, "session": "s", **extra}))
        self.decoder = decoder

    def serve_lines(self, refuse, retry_after, until):
        """Ack each ``say`` in arrival order, but answer ``rate_limited`` (with
        ``retry_after``) to the first arrival of the ids in ``refuse`` and to anything
        sent while that refusal stands, as the server's bucket would. Returns
        ``[(arrival time, id, answer)]`` once ``until(log)`` is true."""
        log, seq, refused_until = [], 1, 0.0
        while not until(log):
            for body in self.decoder.events():
                msg = json.loads(body)
                if msg.get("type") != "say":
                    continue
                now = time.monotonic()
                if msg["id"] in refuse or now < refused_until:
                    if msg["id"] in refuse:
                        refuse.discard(msg["id"])
                        refused_until = now + retry_after
                    log.append((now, msg["id"], "refused"))
                    self.conn.sendall(protocol.message_frame({
                        "type": "error", "code": "rate_limited", "id": msg["id"],
                        "message": "too fast", "retry_after": retry_after}))
                else:
                    seq += 1
                    log.append((now, msg["id"], "acked"))
                    self.conn.sendall(protocol.message_frame({"type": "ack", "id": msg["id"], "seq": seq}))
            if not until(log):
                self.decoder.feed(self.conn.recv(65536))
        return log

    def close(self):
        for s in (self.conn, self.listener):
            if s is not None:
                s.close()


def next_event(conn, kind):
    deadline = time.monotonic() + WAIT * 2
    while time.monotonic() < deadline:
        try:
            event = conn.events.get(timeout=0.05)
        except queue.Empty:
            continue
        if event["type"] == kind:
            return event
    raise AssertionError(f"no {kind} event")


def test_say_never_blocks_when_the_server_stops_reading():
    fake = FakeServer()
    conn = ChatConnection("127.0.0.1", fake.port, "me", reconnect=False).start()
    try:
        fake.accept_and_welcome()
        next_event(conn, "connected")
        slowest = 0.0
        for n in range(1500):  # about 6 MB: far more than the socket buffers hold
            started = time.monotonic()
            conn.say("z" * 4000)
            slowest = max(slowest, time.monotonic() - started)
        # A send that waited for the socket would take seconds here (6 MB unread).
        assert slowest < 0.5
        assert len(conn.pending()) == 1500
    finally:
        fake.close()
        conn.close(timeout=1.0)


def test_a_server_that_stops_answering_is_noticed_by_ping_timeout():
    fake = FakeServer()
    conn = ChatConnection("127.0.0.1", fake.port, "me", reconnect=False, ping_interval=0.2).start()
    try:
        fake.accept_and_welcome()
        next_event(conn, "connected")
        gone = next_event(conn, "disconnected")
        assert "ping timeout" in gone["reason"]
    finally:
        fake.close()
        conn.close()


def test_connection_refused_is_explained():
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    conn = ChatConnection("127.0.0.1", port, "me").start()
    failed = next_event(conn, "connect_failed")
    assert failed["reason"].startswith(f"Connection refused by 127.0.0.1:{port}")
    assert "Is the server running" in failed["reason"]
    next_event(conn, "closed")


def test_hello_carries_resume_and_since_after_a_drop(make_server):
    srv = make_server(rate=0)
    conn = ChatConnection("127.0.0.1", srv.port, "resumer").start()
    try:
        welcome = next_event(conn, "connected")
        conn.say("hi")
        next_event(conn, "ack")
        hello = conn._hello()
        assert hello["resume"] == welcome["session"] and hello["since"] == welcome["seq"] + 1
    finally:
        conn.close()


def test_close_sends_bye_and_joins_the_thread(chat_server, make_client):
    watcher = make_client(chat_server.address)
    watcher.hello("watcher")
    conn = ChatConnection("127.0.0.1", chat_server.port, "leaver").start()
    next_event(conn, "connected")
    watcher.expect("join", name="leaver")
    conn.close("see you")
    assert watcher.expect("leave", name="leaver")["reason"] == "see you"
    assert not conn._thread.is_alive()


def collect_until(conn, predicate, what, events=None):
    events = [] if events is None else events
    deadline = time.monotonic() + WAIT * 2
    while time.monotonic() < deadline:
        try:
            event = conn.events.get(timeout=0.05)
        except queue.Empty:
            continue
        events.append(event)
        if predicate(events):
            return events
    raise AssertionError(f"timed out waiting for {what}; got {[e['type'] for e in events]}")


def test_a_line_with_lone_surrogates_is_sent_with_replacements(chat_server, make_client):
    watcher = make_client(chat_server.address)
    watcher.hello("watcher")
    conn = ChatConnection("127.0.0.1", chat_server.port, "typist").start()
    try:
        next_event(conn, "connected")
        conn.say("caf\udce9 ok")  # what undecodable terminal input turns into
        assert next_event(conn, "ack")["text"] == "caf? ok"
        assert watcher.expect("message", **{"from": "typist"})["text"] == "caf? ok"
    finally:
        conn.close()


def test_lines_typed_offline_beyond_the_burst_are_all_delivered(make_server, tmp_path):
    db = str(tmp_path / "chat.db")
    srv = make_server(rate=20, burst=3, db=db)
    conn = ChatConnection("127.0.0.1", srv.port, "offline").start()
    try:
        next_event(conn, "connected")
        srv.stop()
        next_event(conn, "reconnecting")
        ids = {conn.say(f"offline {n}") for n in range(8)}
        make_server(rate=20, burst=3, db=db, port=srv.port)
        events = collect_until(conn, lambda ev: {e.get("id") for e in ev if e["type"] == "ack"} >= ids,
                               "acks of all eight lines")
        assert not [e for e in events if e["type"] == "error"]
        assert conn.pending() == []
    finally:
        conn.close()


def test_a_server_with_a_new_history_is_not_mistaken_for_duplicates(make_server):
    first = make_server(rate=0)  # :memory: history, so a restart starts seq again
    conn = ChatConnection("127.0.0.1", first.port, "carl").start()
    try:
        next_event(conn, "connected")
        for n in range(5):
            conn.say(f"old {n}")
        collect_until(conn, lambda ev: sum(e["type"] == "ack" for e in ev) == 5, "five acks")
        first.stop()
        second = make_server(rate=0, port=first.port)
        next_event(conn, "connected")
        from conftest import RawClient
        talker = RawClient(second.address)
        talker.hello("talker")
        for n in range(3):
            talker.send(type="say", text=f"new {n}")
        events = collect_until(
            conn, lambda ev: [e.get("text") for e in ev if e["type"] == "message"] == ["new 0", "new 1", "new 2"],
            "the new history's messages")
        assert events
        talker.close()
    finally:
        conn.close()


def test_lines_pending_when_the_connection_ends_for_good_get_a_reason(chat_server):
    fake = FakeServer()
    conn = ChatConnection("127.0.0.1", fake.port, "me", reconnect=False).start()
    try:
        fake.accept_and_welcome()
        next_event(conn, "connected")
        line_id = conn.say("never acked")
        fake.close()  # the server goes away without acking
        refusal = next_event(conn, "error")
        assert refusal["id"] == line_id and refusal["code"] == "not_sent"
        assert refusal["text"] == "never acked"
        next_event(conn, "closed")
        assert conn.pending() == []
    finally:
        conn.close()


def test_close_during_a_slow_connect_leaves_no_session(chat_server, monkeypatch):
    from lanchat.client import connection
    entered, release = threading.Event(), threading.Event()
    real_open = connection.ChatConnection._open

    def slow_open(self):
        sock = real_open(self)
        entered.set()
        release.wait(WAIT)  # as a slow TLS handshake would
        return sock

    monkeypatch.setattr(connection.ChatConnection, "_open", slow_open)
    conn = ChatConnection("127.0.0.1", chat_server.port, "ghost").start()
    assert entered.wait(WAIT)
    conn.close(timeout=0.2)
    release.set()
    next_event(conn, "closed")
    assert "ghost" not in chat_server.room.members


def test_lines_are_paced_to_the_rate_the_welcome_announces():
    fake = FakeServer()
    conn = ChatConnection("127.0.0.1", fake.port, "me", reconnect=False).start()
    try:
        fake.accept_and_welcome(rate=10.0, burst=3)
        next_event(conn, "connected")
        ids = [conn.say(f"line {n}") for n in range(8)]
        log = fake.serve_lines(set(), 0, lambda log: len(log) == 8)
        assert [i for _, i, _ in log] == ids and all(a == "acked" for _, _, a in log)
        times = [t for t, _, _ in log]
        assert times[2] - times[0] < 0.09       # the burst goes at once
        # ... then one line per 1/rate: five more need at least 0.4 s (0.5 s less slack)
        assert times[7] - times[2] >= 0.4
        collect_until(conn, lambda ev: sum(e["type"] == "ack" for e in ev) == 8, "eight acks")
    finally:
        fake.close()
        conn.close(timeout=1.0)


def test_a_rate_limited_line_is_resent_after_retry_after_and_order_is_kept():
    fake = FakeServer()
    conn = ChatConnection("127.0.0.1", fake.port, "me", reconnect=False).start()
    try:
        fake.accept_and_welcome(rate=50.0, burst=2)
        next_event(conn, "connected")
        ids = [conn.say(f"line {n}") for n in range(6)]
        log = fake.serve_lines({ids[2]}, 0.3, lambda log: sum(a == "acked" for _, _, a in log) == 6)
        acked = [i for _, i, a in log if a == "acked"]
        assert acked == ids                      # the server took them in the order typed
        refused_at = next(t for t, i, a in log if a == "refused")
        resent_at = next(t for t, i, a in log if i == ids[2] and a == "acked")
        assert resent_at - refused_at >= 0.3 - 0.02  # not before retry_after
        events = collect_until(conn, lambda ev: sum(e["type"] == "ack" for e in ev) == 6, "six acks")
        assert not [e for e in events if e["type"] == "error"]
        assert [e["id"] for e in events if e["type"] == "ack"] == ids
    finally:
        fake.close()
        conn.close(timeout=1.0)


def test_a_connection_works_with_file_descriptors_above_1024(chat_server):
    # select() cannot watch descriptors past FD_SETSIZE (1024): a client in a busy
    # process (a long test run, a bot with many files open) must still read.
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 1200:
        pytest.skip("this machine allows fewer than 1200 open files")
    if soft < 1200:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(4096, hard), hard))
    filler = []
    try:
        while not filler or filler[-1] < 1100:
            filler.append(os.open(os.devnull, os.O_RDONLY))
        conn = ChatConnection(chat_server.host, chat_server.port, "highfd").start()
        try:
            event = conn.events.get(timeout=WAIT)
            while event["type"] != "connected":
                assert event["type"] in ("connecting",), event
                event = conn.events.get(timeout=WAIT)
            conn.say("hello from a high descriptor")
            while event["type"] != "ack":
                event = conn.events.get(timeout=WAIT)
        finally:
            conn.close()
    finally:
        for fd in filler:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_a_silent_client_in_a_busy_room_is_not_dropped_for_idleness(make_server, make_client):
    # The server's idle timeout counts what it hears from each client; a lurker that
    # only listens must ping on its own schedule, whatever it hears from others.
    from serverhelpers import say
    srv = make_server(rate=0, idle_timeout=1.5)
    lurker = ChatConnection(srv.host, srv.port, "lurker", ping_interval=0.5).start()
    try:
        wait_for(lambda: "lurker" in srv.room.members, what="the lurker to join")
        talker = make_client(srv.address)
        talker.hello("talker")
        end = time.monotonic() + 4 * srv.server.config.idle_timeout
        n = 0
        while time.monotonic() < end:  # a line every 0.2 s: the lurker always hears something
            say(talker, f"chatter {n}", f"c{n}")
            n += 1
            time.sleep(0.2)
        assert "lurker" in srv.room.members
        assert not [b for b in talker.bodies if b'"leave"' in b]
    finally:
        lurker.close()


# ---------------------------------------------------------------- presence (section 9)

def next_frame(fake):
    """The next JSON body the client sent to ``fake`` (bounded by the socket timeout)."""
    while True:
        for body in fake.decoder.events():
            return json.loads(body)
        fake.decoder.feed(fake.conn.recv(65536))


def connected_to_fake(**welcome):
    fake = FakeServer()
    conn = ChatConnection("127.0.0.1", fake.port, "me", reconnect=False).start()
    fake.accept_and_welcome(**welcome)
    next_event(conn, "connected")
    return fake, conn


def test_typing_sends_exactly_the_frames_of_section_9():
    fake, conn = connected_to_fake()
    try:
        conn.typing("active")
        conn.typing("paused", room="#lobby")
        conn.typing("done", to="bob")
        assert next_frame(fake) == {"type": "typing", "state": "active", "room": "#lobby"}
        assert next_frame(fake) == {"type": "typing", "state": "paused", "room": "#lobby"}
        assert next_frame(fake) == {"type": "typing", "state": "done", "to": "bob"}
        with pytest.raises(ValueError):
            conn.typing("dancing")
    finally:
        fake.close()
        conn.close(timeout=1.0)


def test_away_and_back_are_ordinary_says():
    fake, conn = connected_to_fake()
    try:
        ids = [conn.away("lunch"), conn.away(), conn.back()]
        frames = [next_frame(fake) for _ in ids]
        assert frames == [{"type": "say", "text": text, "id": i}
                          for text, i in zip(("/away lunch", "/away", "/back"), ids)]
        assert [text for _, text in conn.pending()] == ["/away lunch", "/away", "/back"]
    finally:
        fake.close()
        conn.close(timeout=1.0)


def test_typing_is_dropped_when_not_connected_never_queued():
    fake = FakeServer()
    conn = ChatConnection("127.0.0.1", fake.port, "me", reconnect=False)
    conn.typing("active")            # not started: nowhere to send it, and nothing kept
    assert conn.pending() == []
    conn.start()
    try:
        fake.accept_and_welcome()
        next_event(conn, "connected")
        conn.say("first")
        assert next_frame(fake)["type"] == "say"  # the typing before was not kept
        assert conn.pending() == [(conn.pending()[0][0], "first")]
    finally:
        fake.close()
        conn.close(timeout=1.0)


def test_inbound_typing_and_presence_reach_the_event_queue_as_they_are():
    fake, conn = connected_to_fake()
    try:
        frames = [{"type": "typing", "name": "bob", "state": "active", "room": "#lobby"},
                  {"type": "typing", "name": "bob", "state": "done", "to": "me"},
                  {"type": "presence", "name": "bob", "away": "lunch"},
                  {"type": "presence", "name": "bob", "away": None}]
        for frame in frames:
            fake.conn.sendall(protocol.message_frame(frame))
        got = collect_until(conn, lambda ev: len([e for e in ev if e["type"] in ("typing", "presence")]) == 4,
                            "four presence events")
        assert [e for e in got if e["type"] in ("typing", "presence")] == frames
    finally:
        fake.close()
        conn.close(timeout=1.0)


def test_an_old_servers_unknown_type_answer_to_typing_is_swallowed_and_typing_stops():
    fake, conn = connected_to_fake()
    try:
        conn.typing("active")
        assert next_frame(fake)["type"] == "typing"
        # what a version-1 server answers to a frame type it does not know
        fake.conn.sendall(protocol.message_frame(
            {"type": "error", "code": "unknown_type", "message": "unknown message type 'typing'"}))
        fake.conn.sendall(protocol.message_frame({"type": "system", "text": "marker"}))
        events = collect_until(conn, lambda ev: ev[-1]["type"] == "system", "the marker")
        assert not [e for e in events if e["type"] == "error"]
        conn.typing("done")               # not sent again this session
        conn.say("after")
        assert next_frame(fake)["type"] == "say"
    finally:
        fake.close()
        conn.close(timeout=1.0)


def test_other_unknown_type_errors_still_reach_the_user():
    fake, conn = connected_to_fake()
    try:   # no typing was sent: this error answers something else and is shown
        fake.conn.sendall(protocol.message_frame(
            {"type": "error", "code": "unknown_type", "message": "unknown message type 'x'"}))
        assert next_event(conn, "error")["code"] == "unknown_type"
    finally:
        fake.close()
        conn.close(timeout=1.0)
