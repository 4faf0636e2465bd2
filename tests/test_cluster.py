"""Several servers as one chat on a real Redis (PROTOCOL.md section 11, issue 15):
the shared order, history across servers, say ids exactly once across servers.

Each test starts its own ``redis-server`` (tests/redisserver.py) and in-process
``ChatServer``s sharing it, with real sockets; the crash and outage tests, which need
real processes, are in test_cluster_crash.py.
"""

from __future__ import annotations

import threading

import pytest

from conftest import RunningServer
from redisserver import group, needs_redis, redis_server  # noqa: F401 (fixtures)
from serverhelpers import next_frame, say

pytestmark = needs_redis


def test_a_line_on_one_server_reaches_the_others_in_one_order(group, make_client):
    servers = group(3)
    clients = []
    for number, server in enumerate(servers):
        client = make_client(server.address)
        client.hello(f"user{number}")
        clients.append(client)
    for client in clients[:-1]:  # everyone has seen the last join: all are reading
        client.expect("join", name="user2")
    lines = 20

    def talk(client, number):
        for index in range(lines):
            client.send(type="say", text=f"{number}:{index}", id=f"{number}-{index}")

    threads = [threading.Thread(target=talk, args=(c, n)) for n, c in enumerate(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    orders = []
    for number, client in enumerate(clients):
        seen, acked = [], 0
        while len(seen) < 3 * lines:
            message = client.recv()
            if message["type"] == "message":
                seen.append((message["seq"], message["text"]))
            elif message["type"] == "ack":
                acked += 1
                seen.append((message["seq"], f"{number}:{message['id'].split('-')[1]}"))
        assert acked == lines
        assert [seq for seq, _ in seen] == sorted(seq for seq, _ in seen)  # delivered in order
        orders.append(seen)
    assert orders[0] == orders[1] == orders[2]  # the same events, seqs and order everywhere
    for number in range(3):  # each sender's lines in the order it sent them
        mine = [text for _, text in orders[0] if text.startswith(f"{number}:")]
        assert mine == [f"{number}:{index}" for index in range(lines)]


def test_history_and_the_history_command_across_servers(group, make_client):
    a, b, c = group(3, history=3)
    alice = make_client(a.address)
    alice.hello("alice")
    acks = [say(alice, f"line {n}", f"id-{n}") for n in range(5)]
    bob = make_client(b.address)
    bob.hello("bob")
    replay = [bob.recv() for _ in range(3)]
    assert [(m["text"], m["seq"], m.get("replay")) for m in replay] == \
        [(f"line {n}", acks[n]["seq"], True) for n in (2, 3, 4)]
    carol = make_client(c.address)
    carol.hello("carol")
    carol.send(type="say", text="/history 10", id="h")
    block = carol.expect("system")
    assert block["text"].startswith("the last 5 messages:")
    assert all(f"line {n}" in block["text"] for n in range(5))


def test_a_resend_to_another_server_is_acked_once_not_repeated(group, make_client):
    a, b = group(2)
    watcher = make_client(b.address)
    watcher.hello("watcher")
    alice = make_client(a.address)
    welcome = alice.hello("alice")
    first = say(alice, "only once", "id-1")
    assert next_frame(watcher, type="join")["name"] == "alice"
    assert next_frame(watcher, type="message")["seq"] == first["seq"]
    alice.close()
    watcher.expect("leave", name="alice")
    again = make_client(b.address)
    got = again.hello("alice", resume=welcome["session"], since=first["seq"])
    assert got["name"] == "alice"
    again.send(type="say", text="only once", id="id-1")  # after the replayed leave
    assert again.expect("ack", id="id-1")["seq"] == first["seq"]
    after = say(again, "after", "id-2")
    seen = []
    while True:
        message = watcher.recv()
        if message.get("text") == "after":
            assert message["seq"] == after["seq"]
            break
        seen.append(message)
    assert [m for m in seen if m["type"] == "message"] == []


def test_a_server_that_cannot_reach_redis_says_so_at_start(tmp_path):
    from lanchat.errors import StoreUnavailable
    from redisserver import free_port
    with pytest.raises(StoreUnavailable, match="cannot use Redis"):
        RunningServer(redis=f"redis://127.0.0.1:{free_port()}/0")


def test_names_are_unique_across_the_group(group, make_client):
    a, b = group(2)
    for attempt in range(5):  # the same name at the same moment, on both servers
        one, two = make_client(a.address), make_client(b.address)
        barrier = threading.Barrier(2)
        got = {}

        def hello(client, key):
            barrier.wait(2)
            got[key] = client.hello(f"same{attempt}")["name"]

        threads = [threading.Thread(target=hello, args=(one, 1)),
                   threading.Thread(target=hello, args=(two, 2))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(5)
        assert sorted(got.values()) == [f"same{attempt}", f"same{attempt}_2"]


def test_welcome_who_and_rooms_describe_the_group(group, make_client):
    a, b = group(2)
    alice = make_client(a.address)
    alice.hello("alice")
    bob = make_client(b.address)
    welcome = bob.hello("bob")
    assert welcome["users"] == ["alice", "bob"]
    assert alice.expect("join", name="bob")
    alice.send(type="say", text="/who", id="w")
    assert sorted(alice.expect("users")["users"]) == ["alice", "bob"]
    bob.send(type="say", text="/rooms", id="r")
    assert bob.expect("rooms")["rooms"][0] == {"room": "#lobby", "topic": "", "users": 2}
    bob.close()
    alice.expect("leave", name="bob")
    alice.send(type="say", text="/who", id="w2")
    assert alice.expect("users")["users"] == ["alice"]


def test_a_room_made_on_one_server_is_joinable_from_another_with_its_history(group, make_client):
    a, b = group(2)
    alice = make_client(a.address)
    alice.hello("alice")
    alice.send(type="say", text="/join #games", id="j")
    alice.expect("joined")
    alice.send(type="say", text="/topic chess at noon", id="t", room="#games")
    alice.expect("topic")
    said = [say_in(alice, f"move {n}", f"m{n}", "#games") for n in range(3)]
    bob = make_client(b.address)
    bob.hello("bob")
    bob.send(type="say", text="/rooms", id="r")
    listed = {r["room"]: r for r in bob.expect("rooms")["rooms"]}
    assert listed["#games"] == {"room": "#games", "topic": "chess at noon", "users": 1}
    bob.send(type="say", text="/join #games", id="j")
    joined = bob.expect("joined")
    assert joined["room"]["users"] == ["alice", "bob"]
    assert joined["room"]["topic"] == "chess at noon"
    replay = [bob.expect("message", room="#games") for _ in range(3)]
    assert [m["seq"] for m in replay] == said
    alice.expect("join", name="bob", room="#games")
    bob.send(type="say", text="hello games", id="g1", room="#games")
    assert alice.expect("message", room="#games")["text"] == "hello games"


def say_in(client, text, msg_id, room):
    client.send(type="say", text=text, id=msg_id, room=room)
    return client.expect("ack", id=msg_id)["seq"]


def test_a_ban_on_one_server_refuses_on_another(group, make_client):
    a, b = group(2, admin_password="sesame")
    admin = make_client(a.address)
    admin.hello("admin")
    admin.send(type="say", text="/admin sesame", id="adm")
    admin.expect("ack", id="adm")
    mallory = make_client(b.address)
    mallory.hello("mallory")
    admin.expect("join", name="mallory")
    admin.send(type="say", text="/ban mallory", id="ban")
    admin.expect("mode", change="+ban")
    assert mallory.wait_closed()  # out of the chat on its own server too
    admin.expect("leave", name="mallory")
    again = make_client(b.address)
    again.send(type="hello", name="mallory")
    assert again.expect("error")["code"] == "banned"


def alice_and_bob(group, make_client):
    """Two servers of a group, alice on the first and bob on the second; alice has had
    bob's join."""
    a, b = group(2)
    alice = make_client(a.address)
    alice.hello("alice")
    bob = make_client(b.address)
    bob.hello("bob")
    alice.expect("join", name="bob")
    return a, b, alice, bob


def test_typing_and_away_reach_the_other_servers(group, make_client):
    a, b, alice, bob = alice_and_bob(group, make_client)
    alice.send(type="typing", state="active", room="#lobby")
    typing = bob.expect("typing")
    assert (typing["name"], typing["state"]) == ("alice", "active")
    alice.send(type="typing", state="active", to="bob")
    assert bob.expect("typing", to="bob")["name"] == "alice"
    alice.send(type="say", text="/away lunch", id="aw")
    assert bob.expect("presence", name="alice")["away"] == "lunch"
    carol = make_client(b.address)
    assert carol.hello("carol")["away"] == {"alice": "lunch"}


def test_a_new_name_is_claimed_across_the_group(group, make_client):
    a, b, alice, bob = alice_and_bob(group, make_client)
    alice.send(type="say", text="/nick bob", id="n1")
    assert alice.expect("error", id="n1")["code"] == "name_taken"
    alice.send(type="say", text="/nick alicia", id="n2")
    assert bob.expect("nick")["new"] == "alicia"
    bob.send(type="say", text="/who", id="w")
    assert sorted(bob.expect("users")["users"]) == ["alicia", "bob"]
    other = make_client(b.address)
    assert other.hello("alice")["name"] == "alice"  # the old name is free again
    assert make_client(b.address).hello("alicia")["name"] == "alicia_2"


def test_a_server_started_later_knows_who_is_in_which_room(group, make_client):
    a, b = group(2)
    alice = make_client(a.address)
    alice.hello("alice")
    alice.send(type="say", text="/join #games", id="j")
    alice.expect("joined")
    gone = make_client(b.address)
    gone.hello("gone")
    gone.send(type="say", text="/join #games", id="j")
    gone.expect("joined")
    gone.close()
    alice.expect("leave", name="gone")
    (late,) = group(1)
    carol = make_client(late.address)
    assert carol.hello("carol")["users"] == ["alice", "carol"]
    carol.send(type="say", text="/rooms", id="r")
    listed = {r["room"]: r["users"] for r in carol.expect("rooms")["rooms"]}
    assert listed == {"#lobby": 2, "#games": 1}
    carol.send(type="say", text="/who #games", id="w")
    assert carol.expect("users")["users"] == ["alice"]


def test_a_client_flooding_one_server_does_not_slow_the_others(group, make_client):
    import time
    import protocol
    a, b = group(2, rate=protocol.DEFAULT_RATE, burst=protocol.DEFAULT_BURST)
    flooder = make_client(a.address)
    flooder.hello("flooder")
    bob, carol = make_client(b.address), make_client(b.address)
    bob.hello("bob")
    carol.hello("carol")
    bob.expect("join", name="carol")
    flood = b"".join(protocol.message_frame({"type": "say", "text": f"flood {n}", "id": f"f{n}"})
                     for n in range(3000))
    sender = threading.Thread(target=flooder.send_raw, args=(flood,))
    sender.start()
    slowest = 0.0
    for n in range(10):
        started = time.monotonic()
        bob.send(type="say", text=f"calm {n}", id=f"c{n}")
        bob.expect("ack", id=f"c{n}")
        carol.expect("message", text=f"calm {n}")
        slowest = max(slowest, time.monotonic() - started)
    sender.join(5)
    assert slowest < 0.5, slowest
    flooder.send(type="ping", id="after")  # the flooder was refused, not dropped
    flooder.expect("pong", id="after", timeout=10)


def test_a_say_id_stored_by_one_server_is_not_stored_again_by_another(redis_server):
    import redis as redis_py
    from lanchat.server import rediswrite
    from lanchat.server.redishistory import KEY_LOG
    from lanchat.server.rediswrite import BatchWriter
    client = redis_py.Redis.from_url(redis_server.url, decode_responses=True)
    a, b = BatchWriter(client, "server-a", 100), BatchWriter(client, "server-b", 100)

    def line(seq, msg_id):
        event = {"type": "message", "seq": seq, "ts": 1.0, "from": "alice", "text": "hi",
                 "kind": "chat", "room": "#lobby"}
        return rediswrite.row(event, sender="alice", session="S", msg_id=msg_id)

    assert a.write([line(1, "x")], [("S", "alice", 1.0)]) == {}
    # The same line resent to server B (seq 2 there), with a new one after it.
    assert b.write([line(2, "x"), line(3, "y")], []) == {2: 1}
    assert [int(fields["s"]) for _, fields in client.xrange(KEY_LOG)] == [1, 3]
    assert client.hgetall("lanchat:ids:S") == {"x": "1", "y": "3"}
    client.close()
