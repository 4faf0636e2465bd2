"""A group's faults that must leave every server consistent and serving (issue 15):
a command refused while Redis is down changes nothing, and a malformed entry in the
shared log does not stop a server's reader.

Each test starts its own ``redis-server`` and in-process ``ChatServer``s sharing it.
"""

from __future__ import annotations

import itertools
import time

import pytest

from conftest import RunningServer
from redisserver import RedisServer, needs_redis

pytestmark = needs_redis


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(str(tmp_path), aof=True)  # a restart keeps the seq counter
    server.start()
    yield server
    server.stop()


@pytest.fixture
def server(redis_server):
    running = RunningServer(redis=redis_server.url, rate=0)
    yield running
    running.stop()


def test_a_join_refused_while_redis_is_down_leaves_the_member_out_of_the_room(
        redis_server, server, make_client):
    alice = make_client(server.address)
    alice.hello("alice")
    redis_server.stop()
    alice.send(type="say", text="/join #games", id="j1")
    assert alice.expect("error", id="j1")["code"] == "unavailable"
    redis_server.start()
    # Not in #games: the /join again (as a client's outbox resends, until Redis takes
    # it) is a real join, not 'already in it'.
    deadline = time.monotonic() + 10
    for attempt in itertools.count(2):
        assert time.monotonic() < deadline, "the /join was never taken"
        alice.send(type="say", text="/join #games", id=f"j{attempt}")
        answer = alice.recv(10)
        while answer["type"] not in ("joined", "error", "ack"):
            answer = alice.recv(10)
        if answer["type"] != "error":
            break
        assert answer["code"] == "unavailable"
        time.sleep(0.2)  # the client's outbox waits a second
    assert answer["type"] == "joined", answer
    assert answer["room"]["users"] == ["alice"]


@pytest.mark.parametrize("body", ["not json", "[1, 2]"])
def test_a_malformed_entry_in_the_log_does_not_stop_the_reader(redis_server, server, make_client,
                                                                body):
    import redis as redis_py
    from lanchat.server.redishistory import KEY_LOG, KEY_SEQ
    alice = make_client(server.address)
    alice.hello("alice")
    store = redis_py.Redis.from_url(redis_server.url, decode_responses=True)
    try:  # an entry no server of this version wrote (another version, a person's XADD)
        store.xadd(KEY_LOG, {"s": store.incr(KEY_SEQ), "o": "elsewhere", "e": body})
        store.xadd(KEY_LOG, {"o": "elsewhere", "e": "{}"})  # and one without a seq
    finally:
        store.close()
    alice.send(type="say", text="still here", id="s1")
    assert alice.expect("ack", id="s1", timeout=10)["seq"] > 0


def test_an_unreadable_name_does_not_stop_the_heartbeat_reaping_a_dead_server(
        redis_server, server, make_client):
    import json
    import redis as redis_py
    from lanchat.server.redispresence import KEY_NAMES
    alice = make_client(server.address)
    alice.hello("alice")
    store = redis_py.Redis.from_url(redis_server.url, decode_responses=True)
    try:
        store.hset(KEY_NAMES, mapping={
            "junk": "not json", "number": "5",
            # held by a server whose alive key does not exist: dead
            "ghost": json.dumps(["ghost", "a-dead-server", "its-session"])})
    finally:
        store.close()
    # The heartbeat reaps the ghost (a leave) despite the two names it cannot read.
    assert alice.expect("leave", name="ghost", timeout=10)["reason"] == "connection lost"


def test_a_stalled_redis_holds_the_room_lock_for_one_timeout_not_one_per_line(
        redis_server, server, make_client):
    import os
    import signal
    import threading
    clients = []
    for number in range(6):
        client = make_client(server.address, timeout=30)
        client.hello(f"user{number}")
        clients.append(client)
    clients[0].expect("join", name="user5")
    refused = {}

    def say(number, client):
        client.send(type="say", text="hello", id=f"s{number}")
        refused[number] = client.expect("error", id=f"s{number}", timeout=30)["code"]

    os.kill(redis_server.process.pid, signal.SIGSTOP)  # answers nothing, closes nothing
    try:
        started = time.monotonic()
        threads = [threading.Thread(target=say, args=pair) for pair in enumerate(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        took = time.monotonic() - started
    finally:
        os.kill(redis_server.process.pid, signal.SIGCONT)
    assert refused == {number: "unavailable" for number in range(6)}
    # One socket timeout (3 s) and the others refused at once; six in turn were 18 s.
    assert took < 8, took
