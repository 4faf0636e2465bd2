"""A group whose Redis comes back empty (issue 15): restarted without persistence,
or flushed. The servers have delivered seqs the new counter would give again; the
group must carry on in one increasing order, not drop every event in silence.

Each test starts its own ``redis-server`` (no persistence) and in-process
``ChatServer``s sharing it.
"""

from __future__ import annotations

import itertools
import time

import pytest

from conftest import RunningServer, wait_for
from redisserver import RedisServer, needs_redis

pytestmark = needs_redis


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(str(tmp_path))  # no AOF: a restart empties it
    server.start()
    yield server
    server.stop()


@pytest.fixture
def pair(redis_server):
    servers = [RunningServer(redis=redis_server.url, rate=0) for _ in range(2)]
    yield servers
    for server in servers:
        server.stop()


def say_until_acked(client, text: str, timeout: float = 15) -> dict:
    """Send ``text`` as a client's outbox does (again while ``unavailable``)."""
    deadline = time.monotonic() + timeout
    for attempt in itertools.count():
        assert time.monotonic() < deadline, f"{text!r} was never acked"
        client.send(type="say", text=text, id=f"{text}-{attempt}")
        answer = client.recv(10)
        while answer["type"] not in ("ack", "error"):
            answer = client.recv(10)
        if answer["type"] == "ack":
            return answer
        assert answer["code"] == "unavailable", answer
        time.sleep(0.2)


def test_an_emptied_redis_does_not_stop_the_group(redis_server, pair, make_client):
    alice = make_client(pair[0].address)
    alice.hello("alice")
    bob = make_client(pair[1].address)
    bob.hello("bob")
    alice.expect("join", name="bob")
    before = [say_until_acked(alice, f"line {number}")["seq"] for number in range(5)]
    bob.expect("message", text="line 4", timeout=10)
    redis_server.stop()
    redis_server.start()  # empty: its seq counter starts at 0 again
    after = say_until_acked(alice, "after the restart")["seq"]
    assert after > max(before)
    assert bob.expect("message", text="after the restart", timeout=10)["seq"] == after
    # And from the other server, on the counter the first one raised.
    bob.send(type="say", text="from bob", id="b1")
    assert bob.expect("ack", id="b1", timeout=10)["seq"] > after
    assert alice.expect("message", text="from bob", timeout=10)["from"] == "bob"


def test_a_flushed_redis_does_not_stop_the_group(redis_server, pair, make_client):
    import redis as redis_py
    alice = make_client(pair[0].address)
    alice.hello("alice")
    before = say_until_acked(alice, "before")["seq"]
    store = redis_py.Redis.from_url(redis_server.url)
    try:
        store.flushall()
    finally:
        store.close()
    assert say_until_acked(alice, "after the flush")["seq"] > before


def broken_seq(url: str):
    """Redis answers names but not seqs: the counter is not a number."""
    import redis as redis_py
    from lanchat.server.redishistory import KEY_SEQ
    store = redis_py.Redis.from_url(url, decode_responses=True)
    store.set(KEY_SEQ, "not a number")
    return store


def test_a_join_refused_for_its_seq_gives_its_name_back(redis_server, pair, make_client):
    from lanchat.server.redispresence import KEY_NAMES
    store = broken_seq(redis_server.url)
    try:
        alice = make_client(pair[0].address)
        alice.send(type="hello", name="alice")
        assert alice.expect("error", timeout=10)["code"] == "unavailable"
        wait_for(lambda: "alice" not in store.hgetall(KEY_NAMES), timeout=10,
                 what="the name given back")
        assert all(state.name != "?" for state in pair[0].room.membership.sessions.values())
    finally:
        store.close()


def test_a_nick_refused_for_its_seq_gives_the_new_name_back(redis_server, pair, make_client):
    from lanchat.server.redishistory import KEY_SEQ
    from lanchat.server.redispresence import KEY_NAMES
    alice = make_client(pair[0].address)
    alice.hello("alice")
    store = broken_seq(redis_server.url)
    try:
        alice.send(type="say", text="/nick alicia", id="n1")
        assert alice.expect("error", id="n1", timeout=10)["code"] == "unavailable"
        wait_for(lambda: "alicia" not in store.hgetall(KEY_NAMES), timeout=10,
                 what="the new name given back")
        assert "alice" in store.hgetall(KEY_NAMES)
        store.set(KEY_SEQ, 1000)
    finally:
        store.close()


def test_a_sessions_say_ids_are_capped_and_a_resume_loads_the_newest(
        redis_server, pair, make_client, monkeypatch):
    import redis as redis_py
    from lanchat.server import redishistory
    monkeypatch.setattr(redishistory, "IDS_KEPT", 5, raising=False)
    alice = make_client(pair[0].address)
    session = alice.hello("alice")["session"]
    seqs = [say_until_acked(alice, f"line{number}")["seq"] for number in range(8)]
    store = redis_py.Redis.from_url(redis_server.url, decode_responses=True)
    try:
        kept = store.hgetall(redishistory.ids_key(session))
    finally:
        store.close()
    assert kept == {f"line{number}-0": str(seq) for number, seq in enumerate(seqs)
                    if number >= 3}
    alice.close()
    again = make_client(pair[1].address)
    again.hello("alice", resume=session)
    state = pair[1].room.membership.sessions[session]
    assert state.ids == {f"line{number}-0": seq for number, seq in enumerate(seqs) if number >= 3}
    again.send(type="say", text="line7", id="line7-0")  # a resend: acked with its first seq
    assert again.expect("ack", id="line7-0", timeout=10)["seq"] == seqs[7]


@pytest.fixture
def durable_pair(tmp_path):
    redis_server = RedisServer(str(tmp_path), aof=True)  # the outage keeps the log
    redis_server.start()
    servers = [RunningServer(redis=redis_server.url, rate=0) for _ in range(2)]
    yield redis_server, servers
    for server in servers:
        server.stop()
    redis_server.stop()


def test_a_leave_during_an_outage_reaches_the_group_when_redis_is_back(durable_pair,
                                                                       make_client):
    import redis as redis_py
    from lanchat.server.redispresence import KEY_NAMES
    redis_server, (a, b) = durable_pair
    alice = make_client(a.address)
    alice.hello("alice")
    bob = make_client(b.address)
    bob.hello("bob")
    alice.expect("join", name="bob")
    redis_server.stop()
    alice.close()
    wait_for(lambda: "alice" not in a.room.membership.members, timeout=10, what="alice gone")
    redis_server.start()
    assert bob.expect("leave", name="alice", timeout=10)
    bob.send(type="say", text="/who", id="w")
    assert bob.expect("users", timeout=10)["users"] == ["bob"]
    store = redis_py.Redis.from_url(redis_server.url, decode_responses=True)
    try:
        assert "alice" not in store.hgetall(KEY_NAMES)
    finally:
        store.close()
