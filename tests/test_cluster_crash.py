"""A group of real ``server.py`` processes on a real Redis: a server killed with
``kill -9`` (its users leave the others' lists within seconds; a client resumes on
another server with nothing lost or doubled) and Redis itself stopped and restarted.
"""

from __future__ import annotations

import time

import pytest

from conftest import RawClient
from clusterprocess import GroupServer
from redisserver import RedisServer, needs_redis

pytestmark = needs_redis

LEAVE_WITHIN = 10.0  # the alive key lasts 4 s, then 2 s of grace; the heartbeat looks every second


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(str(tmp_path), aof=True)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def servers(redis_server):
    started = []

    def factory(count: int, *args: str):
        made = [GroupServer(redis_server.url, "--rate", "0", *args) for _ in range(count)]
        started.extend(made)
        return made

    yield factory
    for server in started:
        server.stop()


@pytest.fixture
def clients():
    made = []

    def factory(address):
        client = RawClient(address)
        made.append(client)
        return client

    yield factory
    for client in made:
        client.close()


def test_a_killed_servers_users_leave_the_others_lists_within_seconds(servers, clients):
    a, b = servers(2)
    alice = clients(a.address)
    alice.hello("alice")
    bob = clients(b.address)
    assert bob.hello("bob")["users"] == ["alice", "bob"]
    a.kill()
    started = time.monotonic()
    leave = bob.expect("leave", timeout=LEAVE_WITHIN, name="alice")
    assert leave["reason"] == "connection lost"
    assert time.monotonic() - started < LEAVE_WITHIN
    bob.send(type="say", text="/who", id="w")
    assert bob.expect("users")["users"] == ["bob"]
    carol = clients(b.address)
    assert carol.hello("alice")["name"] == "alice"  # the name is free again


def test_resume_on_another_server_after_kill_9_loses_and_doubles_nothing(servers, clients):
    a, b = servers(2)
    watcher = clients(b.address)
    watcher.hello("watcher")
    talker = clients(a.address)
    welcome = talker.hello("talker")
    total = 300
    acked: dict = {}
    seen = welcome["seq"]
    for n in range(total):  # pipelined, not waiting for acks
        talker.send(type="say", text=f"line {n}", id=f"id-{n}")
    while len(acked) < 100:  # some are acked, the rest in flight when A dies
        message = talker.recv()
        if message["type"] == "ack":
            acked[message["id"]] = message["seq"]
        seen = max(seen, message.get("seq") or 0)
    a.kill()
    again = clients(b.address)
    got = again.hello("talker", resume=welcome["session"], since=seen)
    assert got["name"] == "talker"
    for n in range(total):  # the outbox: everything not acked, again, in order
        if f"id-{n}" not in acked:
            again.send(type="say", text=f"line {n}", id=f"id-{n}")
    first_seq = dict(acked)
    while len(acked) < total:
        message = again.recv(timeout=10)
        if message["type"] == "ack":
            if message["id"] in first_seq:
                assert message["seq"] == first_seq[message["id"]]
            acked[message["id"]] = message["seq"]
        assert message["type"] != "error", message
    again.send(type="say", text="the end", id="end")
    texts = []
    while True:
        message = watcher.recv(timeout=10)
        if message["type"] == "message":
            if message["text"] == "the end":
                break
            texts.append(message["text"])
    assert sorted(texts) == sorted(f"line {n}" for n in range(total))  # 0 lost, 0 doubled
    assert texts == [f"line {n}" for n in range(total)]  # and in the order sent


def _say_until_acked(client, text, msg_id, timeout=15.0):
    # What a client's outbox does: send, and on `unavailable` send again later.
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        client.send(type="say", text=text, id=msg_id)
        while True:
            message = client.recv(timeout=5)
            if message.get("id") == msg_id:
                break
        if message["type"] == "ack":
            return message["seq"]
        assert message["code"] == "unavailable", message
        time.sleep(0.2)  # the outbox's back-off, not a synchronisation
    raise AssertionError(f"{text!r} was never acked")


def test_redis_stopped_and_restarted_unavailable_then_recovery_nothing_acked_lost(
        redis_server, servers, clients):
    a, b = servers(2)
    alice = clients(a.address)
    alice.hello("alice")
    bob = clients(b.address)
    bob.hello("bob")
    alice.expect("join", name="bob")
    before = [_say_until_acked(alice, f"before {n}", f"b{n}") for n in range(5)]
    for n in range(5):
        assert bob.expect("message")["text"] == f"before {n}"
    redis_server.stop()
    alice.send(type="say", text="during", id="d1")
    refused = alice.expect("error", id="d1")
    assert refused["code"] == "unavailable"
    late = clients(b.address)
    late.send(type="hello", name="late")
    assert late.expect("error")["code"] == "unavailable"
    alice.send(type="ping", id="still-here")  # the connections stay open
    alice.expect("pong", id="still-here")
    bob.send(type="ping", id="still-here")
    bob.expect("pong", id="still-here")
    redis_server.start()
    during = _say_until_acked(alice, "during", "d1")
    message = bob.expect("message")
    assert (message["text"], message["seq"]) == ("during", during)
    after = _say_until_acked(bob, "after", "a1")
    assert before == sorted(before) and before[-1] < during < after
    assert alice.expect("message")["text"] == "after"
    assert late.hello("late")["name"] == "late"  # joins work again
    replay = [late.recv() for _ in range(7)]  # nothing acked was lost by the restart
    assert [m["text"] for m in replay] == [f"before {n}" for n in range(5)] + ["during", "after"]
    bob.send(type="say", text="/who", id="w")
    assert sorted(bob.expect("users")["users"]) == ["alice", "bob", "late"]
    for server in (a, b):  # each failing part logged once, not once per line
        failing = [line.split("chat.redis: ")[-1].split(": Redis")[0]
                   for line in server.output if "Redis cannot be reached" in line]
        assert failing and len(failing) == len(set(failing)), server.output


def test_server_py_without_a_reachable_redis_says_so_and_exits():
    import subprocess
    import sys
    from clusterprocess import ROOT
    from redisserver import free_port
    done = subprocess.run([sys.executable, "server.py", "--port", "0", "--no-advertise",
                           "--redis", f"redis://127.0.0.1:{free_port()}/0"],
                          cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert done.returncode == 1
    assert "error: --redis: cannot use Redis at redis://127.0.0.1:" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_redis_url_may_come_from_the_environment(monkeypatch):
    from lanchat.server.config import build_parser, config_from_args
    monkeypatch.setenv("CHAT_REDIS_URL", "redis://10.0.0.5:6379/0")
    assert config_from_args(build_parser().parse_args([])).redis == "redis://10.0.0.5:6379/0"
    flag = build_parser().parse_args(["--redis", "redis://other:6379/1"])
    assert config_from_args(flag).redis == "redis://other:6379/1"


def test_the_client_sends_a_line_refused_during_an_outage_again_by_itself(
        redis_server, servers):
    import queue
    from conftest import wait_for
    from lanchat.client.connection import ChatConnection
    from lanchat.client.wiretap import WireTap
    a, b = servers(2)
    tap = WireTap()
    alice = ChatConnection(*a.address, "alice", wiretap=tap).start()
    bob = ChatConnection(*b.address, "bob").start()
    seen: list = []

    def events(conn):
        while True:
            try:
                seen.append((conn, conn.events.get_nowait()))
            except queue.Empty:
                return

    def has(conn, predicate):
        events(alice)
        events(bob)
        return [e for c, e in seen if c is conn and predicate(e)]

    try:
        wait_for(lambda: has(alice, lambda e: e["type"] == "connected")
                 and has(bob, lambda e: e["type"] == "connected"), what="both connected")
        redis_server.stop()
        line = alice.say("said while Redis was down")
        wait_for(lambda: any((f.message() or {}).get("code") == "unavailable"
                             for f in tap.since(0)), what="the refusal")
        assert [i for i, _ in alice.pending()] == [line]  # refused, still the user's line
        redis_server.start()
        wait_for(lambda: has(bob, lambda e: e.get("text") == "said while Redis was down"),
                 timeout=15, what="the line, sent again by the outbox")
        wait_for(lambda: has(alice, lambda e: e["type"] == "ack" and e["id"] == line),
                 timeout=5, what="its ack")
        assert alice.pending() == []
        assert not has(alice, lambda e: e["type"] == "error")  # nothing shown as failed
    finally:
        alice.close()
        bob.close()
