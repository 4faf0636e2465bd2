"""A group's faults that must leave every server consistent and serving (issue 15):
a command refused while Redis is down changes nothing, and a malformed entry in the
shared log does not stop a server's reader.

Each test starts its own ``redis-server`` and in-process ``ChatServer``s sharing it.
"""

from __future__ import annotations

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
    # Not in #games: the /join again is a real join, not 'already in it'.
    alice.send(type="say", text="/join #games", id="j2")
    joined = alice.expect("joined", timeout=10)
    assert joined["room"]["users"] == ["alice"]
    assert alice.expect("ack", id="j2")


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
