"""Limits (issue 4): each one refuses the offender and the room keeps chatting."""

import socket
import subprocess
import sys
import threading
import time


import protocol
from lanchat.server import listener
from lanchat.server.handler import LISTEN_AFTER
from conftest import wait_for


def pair(srv, make_client):
    """Two well-behaved clients in the room, alice and bob."""
    alice, bob = make_client(srv.address), make_client(srv.address)
    alice.hello("alice")
    bob.hello("bob")
    alice.expect("join", name="bob")
    return alice, bob


def test_the_welcome_announces_the_rate_limit(make_server, make_client):
    srv = make_server(rate=2.5, burst=7)
    welcome = make_client(srv.address).hello("alice")
    assert (welcome["rate"], welcome["burst"]) == (2.5, 7)


def still_chatting(alice, bob, text="still here"):
    alice.send(type="say", text=text, id=text)
    alice.expect("ack", id=text)
    assert bob.expect("message", text=text)["from"] == "alice"


def test_rate_limit_refuses_the_excess_with_its_id(make_server, make_client):
    srv = make_server(rate=0.5, burst=3)
    alice, bob = pair(srv, make_client)
    for n in range(5):
        alice.send(type="say", text=f"flood {n}", id=f"f{n}")
    answers = [alice.recv() for _ in range(5)]
    assert [a["type"] for a in answers].count("ack") == 3
    refused = [a for a in answers if a["type"] == "error"]
    assert [(r["code"], r["id"]) for r in refused] == [("rate_limited", "f3"), ("rate_limited", "f4")]
    # When to try again (PROTOCOL.md section 4, retry_after): about one token's time.
    assert all(0 < r["retry_after"] <= 2.0 for r in refused)
    got = [bob.expect("message")["text"] for _ in range(3)]
    assert got == ["flood 0", "flood 1", "flood 2"]
    bob.send(type="say", text="bob is not limited", id="b")
    bob.expect("ack", id="b")
    assert alice.expect("message")["text"] == "bob is not limited"


def test_rate_zero_disables_the_limit(make_server, make_client):
    srv = make_server(rate=0, burst=1)
    alice, bob = pair(srv, make_client)
    for n in range(30):
        alice.send(type="say", text=f"m{n}", id=f"m{n}")
    assert [alice.recv()["type"] for _ in range(30)] == ["ack"] * 30


def test_max_clients_refuses_the_next_connection(make_server, make_client):
    srv = make_server(rate=0, max_clients=2)
    alice, bob = pair(srv, make_client)
    third = make_client(srv.address)
    third.send(type="hello", name="carl")  # a structured client: the refusal is JSON
    refusal = third.recv()
    assert refusal["type"] == "error" and refusal["code"] == "server_full"
    assert third.wait_closed()
    still_chatting(alice, bob)
    bob.send(type="bye")
    alice.expect("leave", name="bob")
    wait_for(lambda: srv.server.connection_count() == 1, what="bob's slot freed")
    again = make_client(srv.address)
    assert again.hello("carol")["name"] == "carol"


def test_max_per_ip_counts_non_loopback_addresses(make_server, make_client, monkeypatch):
    # Loopback is exempt, so pretend 127.0.0.2 is another machine on the LAN.
    monkeypatch.setattr(listener, "is_loopback", lambda ip: ip == "127.0.0.1")
    srv = make_server(rate=0, max_per_ip=2)
    alice, bob = pair(srv, make_client)

    def from_lan():
        return make_client(srv.address, source_address=("127.0.0.2", 0))

    first, second = from_lan(), from_lan()
    assert first.hello("lan1")["name"] == "lan1"
    assert second.hello("lan2")["name"] == "lan2"
    third = from_lan()
    third.send(type="hello", name="lan3")
    refusal = third.recv()
    assert refusal["code"] == "server_full" and "127.0.0.2" in refusal["message"]
    assert third.wait_closed()
    for extra in range(3):  # loopback stays exempt
        make_client(srv.address).hello(f"local{extra}")
    still_chatting(alice, bob)


def test_frame_timeout_closes_a_slowloris_without_hurting_others(make_server, make_client):
    srv = make_server(rate=0, frame_timeout=0.5)
    alice, bob = pair(srv, make_client)
    slow = make_client(srv.address)
    slow.hello("slow")
    slow.send_raw(b"100" + b" " * 10)  # a header that never finishes
    started = time.monotonic()
    still_chatting(alice, bob, "during the slowloris")
    leave = alice.expect("leave", name="slow", timeout=3)
    assert leave["reason"] == "frame timeout"
    assert 0.4 < time.monotonic() - started < 3
    assert slow.wait_closed()


def test_frame_timeout_closes_a_frame_that_trickles_in_a_byte_at_a_time(make_server, make_client):
    # The bytes keep coming, so the server's wait never times out; the frame must.
    srv = make_server(rate=0, frame_timeout=0.5)
    alice, bob = pair(srv, make_client)
    slow = make_client(srv.address)
    slow.hello("slow")
    slow.send_raw(protocol.frame_header(1000))
    stop = threading.Event()

    def trickle():
        while not stop.wait(0.05):
            try:
                slow.send_raw(b"x")
            except OSError:
                return  # closed

    started = time.monotonic()
    sender = threading.Thread(target=trickle, daemon=True)
    sender.start()
    try:
        leave = alice.expect("leave", name="slow", timeout=4)
    finally:
        stop.set()
        sender.join(2)
    assert leave["reason"] == "frame timeout"
    assert time.monotonic() - started < 3
    still_chatting(alice, bob, "after the trickle")


def test_frame_timeout_does_not_hit_a_client_that_keeps_completing_frames(make_server, make_client):
    srv = make_server(rate=0, frame_timeout=0.3)
    alice, bob = pair(srv, make_client)
    frame = protocol.message_frame({"type": "say", "text": "x" * 50})
    alice.send_raw(frame[:30])
    deadline = time.monotonic() + 1.0
    frames = 0
    while time.monotonic() < deadline:  # every write ends mid-frame, yet frames finish
        alice.send_raw(frame[30:] + frame[:30])
        frames += 1
        time.sleep(0.05)
    alice.send_raw(frame[30:])
    frames += 1
    assert [alice.expect("ack")["type"] for _ in range(frames)] == ["ack"] * frames
    still_chatting(alice, bob, "after the trickle")


def test_idle_timeout_closes_a_silent_structured_client(make_server, make_client):
    srv = make_server(rate=0, idle_timeout=0.5)
    watcher = make_client(srv.address)
    watcher.hello("watcher")
    quiet = make_client(srv.address)
    quiet.hello("quiet")
    deadline = time.monotonic() + 3
    leave = None
    while leave is None and time.monotonic() < deadline:
        watcher.send(type="ping", id="keepalive")  # the watcher keeps talking
        message = watcher.recv()
        if message["type"] == "leave":
            leave = message
    assert leave is not None and leave["name"] == "quiet" and leave["reason"] == "ping timeout"
    assert quiet.wait_closed()


def test_a_client_that_pings_is_never_idle(make_server, make_client):
    srv = make_server(rate=0, idle_timeout=0.4)
    client = make_client(srv.address)
    client.hello("pinger")
    for n in range(8):
        client.send(type="ping", id=n)
        assert client.expect("pong")["id"] == n
        time.sleep(0.1)
    assert "pinger" in [m.name for m in srv.room.members.values()]


def test_stalled_reader_is_dropped_and_others_keep_their_pace(make_server, make_client):
    srv = make_server(rate=0, max_text=8000, max_send_queue=1024 * 1024)
    text = "y" * 7000
    others = []

    def take(client, *kinds):
        """Receive until one of each kind arrived, in any order; keep the rest."""
        wanted = list(kinds)
        while wanted:
            message = client.recv()
            if message["type"] in wanted:
                wanted.remove(message["type"])
            else:
                others.append(message)

    def exchange(alice, bob, megabytes):
        count = megabytes * 1024 * 1024 // len(text) // 2
        started = time.monotonic()
        for _ in range(count):
            alice.send(type="say", text=text)
            bob.send(type="say", text=text)
            # Each reads its ack and the other's line, so no queue builds up for them.
            for me in (alice, bob):
                take(me, "ack", "message")
        return time.monotonic() - started

    alice, bob = pair(srv, make_client)
    baseline = exchange(alice, bob, 2)
    staller = make_client(srv.address)
    staller.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    staller.hello("staller")  # and never reads again
    take(alice, "join")
    with_staller = exchange(alice, bob, 20)
    leaves = [m for m in others if m["type"] == "leave"]
    assert [(m["name"], m["reason"]) for m in leaves] == [("staller", "send queue full")] * 2
    assert "staller" not in srv.room.members
    # Ten times the data: per megabyte, the pair must not be much slower than alone.
    assert with_staller / 10 < baseline * 3 + 0.5, (baseline, with_staller)
    still_chatting(alice, bob)


def test_control_characters_are_removed_from_text(chat_server, make_client):
    alice, bob = pair(chat_server, make_client)
    alice.send(type="say", text="a\x1b[2Jb\x07c\tand\nnew line\u202e!", id="c")
    alice.expect("ack", id="c")
    assert bob.expect("message")["text"] == "a[2Jbc\tand\nnew line!"


def test_a_name_with_control_characters_is_refused(chat_server, make_client):
    client = make_client(chat_server.address)
    client.send(type="hello", name="ev\x1bil")
    assert client.expect("error")["code"] == "bad_name"
    assert client.hello("good")["name"] == "good"


def test_a_slow_reader_that_overflows_gets_send_queue_full_then_a_close(make_server, make_client):
    srv = make_server(rate=0, max_text=8000, max_send_queue=256 * 1024)
    alice = make_client(srv.address)
    alice.hello("alice")
    slow = make_client(srv.address)
    slow.hello("slow")  # then reads nothing until it has been dropped
    alice.expect("join", name="slow")
    text = "s" * 7000
    sent = 0
    while True:  # flood until the server gives up on the reader that does not read
        alice.send(type="say", text=text, id=f"s{sent}")
        sent += 1
        message = alice.recv()
        while message["type"] != "ack":
            if message["type"] == "leave":
                break
            message = alice.recv()
        if message["type"] == "leave":
            break
        assert sent < 5000, "the slow reader was never dropped"
    assert message["name"] == "slow" and message["reason"] == "send queue full"
    assert slow.wait_closed()  # now it reads: whole frames, and the reason last
    last = protocol.decode_message(slow.bodies[-1])
    assert last["type"] == "error" and last["code"] == "send_queue_full"
    bob = make_client(srv.address)
    bob.hello("bob")
    alice.expect("join", name="bob")
    still_chatting(alice, bob)


FLOOD = """
import socket, sys, time
sock = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
keepalives = b"0".ljust(64) * 16384  # frames with no body: nothing decides the kind
started = time.monotonic()
try:
    while time.monotonic() - started < float(sys.argv[2]):
        sock.sendall(keepalives)
    print("open")
except OSError:
    print("closed after %.1f s" % (time.monotonic() - started))
"""


def test_a_refused_connection_is_closed_in_time_even_while_it_floods(make_server, make_client):
    # Over max_clients, a connection is answered once its dialect shows, at most
    # LISTEN_AFTER after connecting. A stream of keepalives shows none and keeps data
    # waiting at every poll; it must still be refused in time, not stay uncounted.
    srv = make_server(rate=0, max_clients=1)
    alice = make_client(srv.address)
    alice.hello("alice")
    flood = subprocess.run([sys.executable, "-c", FLOOD, str(srv.address[1]),
                            str(LISTEN_AFTER + 5)], capture_output=True, text=True, timeout=30)
    assert flood.stdout.startswith("closed after"), flood.stdout + flood.stderr
    assert float(flood.stdout.split()[2]) < LISTEN_AFTER + 2
    alice.send(type="ping", id="p")
    assert alice.expect("pong")["id"] == "p"
