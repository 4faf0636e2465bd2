"""One order for everyone, a broadcast that never blocks, one connection's failure
sparing the others (issue 2's guarantees)."""

import logging
import threading
import time


import protocol
from lanchat.server import handler
from conftest import WAIT, RawClient, wait_for
from serverhelpers import (MiB, join, marker, next_frame,
                           say, stalled_client)


def test_total_order_with_five_concurrent_senders(chat_server, make_client):
    senders = join(chat_server, make_client, *[f"s{n}" for n in range(5)])
    observer = make_client(chat_server.address)
    observer.hello("observer")
    for s in senders:
        s.expect("join", name="observer")
    lines = 200
    total = len(senders) * lines
    received = {}
    errors = []
    start = threading.Barrier(len(senders))

    def run(index, client):
        try:
            start.wait()
            for n in range(lines):
                client.send(type="say", text=f"s{index} {n}", id=f"{n}")
            received[index] = [client.recv(timeout=20) for _ in range(total)]
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(senders)]
    for t in threads:
        t.start()
    seen = [observer.recv(timeout=20) for _ in range(total)]
    for t in threads:
        t.join(30)
    assert not errors, errors
    assert [m["type"] for m in seen] == ["message"] * total
    order = [m["seq"] for m in seen]
    assert order == sorted(order) and len(set(order)) == total
    texts_by_seq = {m["seq"]: (m["from"], m["text"]) for m in seen}
    for index, stream in received.items():
        seqs = [m["seq"] for m in stream]
        assert seqs == sorted(seqs) and len(set(seqs)) == total, f"s{index} out of order"
        for m in stream:
            if m["type"] == "ack":
                # the ack's seq is the one everyone else saw for that line
                assert texts_by_seq[m["seq"]] == (f"s{index}", f"s{index} {m['id']}")
            else:
                assert m["type"] == "message" and m["from"] != f"s{index}"
                assert texts_by_seq[m["seq"]] == (m["from"], m["text"])
    for index in range(len(senders)):
        mine = [int(t.split()[1]) for f, t in (texts_by_seq[s] for s in order) if f == f"s{index}"]
        assert mine == list(range(lines))  # each sender's lines in the order sent


def test_one_order_over_every_kind_of_event(make_server, make_client):
    srv = make_server(rate=0, history=0)
    senders = join(srv, make_client, "s0", "s1", "s2")
    observer = make_client(srv.address)
    observer.hello("observer")
    for s in senders:
        s.expect("join", name="observer")
    errors = []

    def talk(index, client):
        try:
            for n in range(100):
                text = f"/msg observer p{n}" if n % 10 == 0 else f"/me m{n}" if n % 7 == 0 else f"m{n}"
                client.send(type="say", text=text, id=str(n))
                if n % 25 == 0:
                    client.send(type="say", text=f"/nick s{index}x{n}", id=f"nick{n}")
        except BaseException as exc:
            errors.append(exc)

    def churn():
        try:
            for n in range(15):
                visitor = RawClient(srv.address)
                visitor.hello(f"visitor{n}")
                visitor.send(type="bye", reason=f"visit {n} over")
                visitor.wait_closed()
                visitor.close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=talk, args=(i, c)) for i, c in enumerate(senders)]
    threads.append(threading.Thread(target=churn))
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert not errors, errors
    kinds = {"message": 0, "join": 0, "leave": 0, "nick": 0}
    seqs = []
    while kinds["message"] < 300 or kinds["leave"] < 15:
        event = observer.recv(timeout=10)
        kinds[event["type"]] += 1
        seqs.append(event["seq"])
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert kinds == {"message": 300, "join": 15, "leave": 15, "nick": 12}


def test_200_clients_in_one_room(chat_server, make_client):
    clients = []
    for n in range(200):
        client = make_client(chat_server.address)
        client.send(type="hello", name=f"user{n}")
        clients.append(client)
    for n, client in enumerate(clients):
        assert client.expect("welcome")["name"] == f"user{n}"
    wait_for(lambda: len(chat_server.room.members) == 200, what="200 members")
    clients[0].send(type="say", text="hello 200", id="x")
    ack = clients[0].expect("ack", id="x", timeout=10)   # after the 199 joins it saw
    for client in clients[1:]:
        message = client.expect("message", timeout=10)
        assert (message["text"], message["seq"], message["from"]) == ("hello 200", ack["seq"], "user0")
    last = clients[-1]
    last.send(type="say", text="/who", id="who")
    users = last.expect("users")["users"]
    assert sorted(users) == sorted(f"user{n}" for n in range(200))


def test_a_client_that_stops_reading_does_not_delay_the_others(make_server, make_client, request):
    srv = make_server(rate=0, max_send_queue=64 * MiB)
    alice, bob = join(srv, make_client, "alice", "bob")
    stalled, stalled_queue = stalled_client(srv, request, [alice, bob])
    count, text = 800, "w" * 4000   # 3.2 MB of chat
    frames = b"".join(protocol.message_frame({"type": "say", "text": text, "id": str(n)})
                      for n in range(count))
    started = time.monotonic()
    sender = threading.Thread(target=alice.send_raw, args=(frames,))
    sender.start()
    for n in range(count):
        assert bob.recv(timeout=10)["type"] == "message"
    elapsed = time.monotonic() - started
    sender.join(WAIT)
    assert [alice.recv()["id"] for _ in range(count)] == [str(n) for n in range(count)]
    assert stalled_queue.queued_bytes > 2 * MiB, "the stalled reader's frames were queued"
    assert "stalled" in srv.room.members
    assert elapsed < 10
    # It lost nothing: once it reads again, every line is there, in order.
    got = [stalled.recv(timeout=10) for _ in range(count)]
    assert [m["seq"] for m in got] == sorted(m["seq"] for m in got)
    assert {m["text"] for m in got} == {text}


def test_an_exception_in_one_connection_spares_the_others(chat_server, make_client,
                                                          monkeypatch, caplog):
    original = handler.said

    def said(room, member, items):
        if member.name == "mallory":
            raise RuntimeError("bug triggered by mallory")
        return original(room, member, items)

    monkeypatch.setattr(handler, "said", said)
    caplog.set_level(logging.ERROR, logger="chat.server")
    alice, bob, mallory = join(chat_server, make_client, "alice", "bob", "mallory")
    mallory.send(type="say", text="boom", id="m")
    assert mallory.wait_closed()
    next_frame(alice, type="leave", name="mallory")
    next_frame(bob, type="leave", name="mallory")
    marker(alice, [bob], "still fine")
    port = mallory.sock.getsockname()[1]
    wait_for(lambda: any(f"127.0.0.1:{port}" in r.getMessage() and r.exc_info
                         for r in caplog.records), what="the error logged with the peer")
    assert make_client(chat_server.address).hello("newcomer")["name"] == "newcomer"


def test_a_failing_delivery_to_one_member_spares_the_others(chat_server, make_client, caplog):
    alice, mallory, bob = join(chat_server, make_client, "alice", "mallory", "bob")
    member = chat_server.room.members["mallory"]

    class Broken:
        """mallory's outbound path has a bug (not an OSError: a bug)."""

        def __init__(self, real):
            self.real = real

        def __getattr__(self, name):
            return getattr(self.real, name)

        def send(self, data):
            raise RuntimeError("bug in mallory's send path")

    member.transport = Broken(member.transport)
    caplog.set_level(logging.ERROR)
    ack = say(alice, "for everyone", "a")
    assert next_frame(bob, type="message", text="for everyone")["seq"] == ack["seq"]
    # mallory is dropped rather than left half-working
    for other in (alice, bob):
        assert next_frame(other, type="leave", name="mallory")["reason"] == "internal error"
    assert mallory.wait_closed()
    marker(bob, [alice], "later")
    peer = "127.0.0.1:%d" % mallory.sock.getsockname()[1]
    assert any(peer in r.getMessage() and r.exc_info for r in caplog.records)




def test_a_pong_does_not_overtake_the_welcome_in_a_slow_room(make_server, make_client):
    # The welcome goes out in the journal's send loop, after the others' shares; in
    # a big room that takes a while. A bystander whose sends are slow stands in for
    # thousands of members: the joiner's ping, sent while the loop is still sending,
    # must be answered after its welcome, not before.
    srv = make_server(rate=0)
    bystander = make_client(srv.address)
    bystander.hello("bystander")
    queue = srv.room.members["bystander"].transport
    real_send = queue.send
    sending = threading.Event()

    def slow_send(data):
        sending.set()
        time.sleep(0.3)  # the other members' sends, before the joiner's welcome
        return real_send(data)

    queue.send = slow_send
    joiner = make_client(srv.address)
    joiner.send(type="hello", name="joiner")
    assert sending.wait(WAIT), "the join's batch never reached the send loop"
    joiner.send(type="ping", id="p1")
    assert joiner.recv()["type"] == "welcome"
    assert joiner.expect("pong")["id"] == "p1"
