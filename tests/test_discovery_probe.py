"""The probe answer and the Browser's probe path, on loopback with real sockets.

Multicast DNS needs a real network (``test_discovery_lan.py``); the UDP probe does
not: a ``ProbeResponder`` on 127.0.0.1 answers a probe sent there, and a ``Browser``
given ``probe_hosts`` finds servers through it.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import pytest

from conftest import ROOT, WAIT, wait_for
from lanchat.discovery.advertise import numbered_instance
from lanchat.discovery.announce import ServerDiscovery
from lanchat.discovery.browse import MAX_PROBED, Browser, discover
from lanchat.discovery.found import PROBE, Found
from lanchat.discovery.probe import PER_ADDRESS_BURST, ProbeResponder
from lanchat.discovery.wire import parse_reply

QUIET = 0.5  # how long a test listens for a reply that must not come


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def prober():
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    yield sock
    sock.close()


@pytest.fixture
def responder():
    people = {"count": 2}
    port = free_udp_port()
    answering = ProbeResponder("127.0.0.1", port, lambda: Found(
        "Room 4", "", port, users=people["count"], pw=True))
    answering.start()
    answering.people = people
    yield answering
    answering.stop()


def ask(sock: socket.socket, port: int, datagram: bytes = b"LANCHAT? 2",
        timeout: float = WAIT):
    """Send ``datagram``; the reply, or None if none comes within ``timeout``."""
    sock.sendto(datagram, ("127.0.0.1", port))
    sock.settimeout(timeout)
    try:
        return sock.recvfrom(4096)[0]
    except socket.timeout:
        return None


def test_a_probe_gets_the_servers_json(responder, prober):
    answer = ask(prober, responder.port)
    assert json.loads(answer) == {"name": "Room 4", "port": responder.port, "users": 2,
                                  "tls": False, "pw": True, "fp": None, "v": 2}
    assert parse_reply(answer, "127.0.0.1").key == ("127.0.0.1", responder.port)


def test_the_reply_says_the_count_of_now(responder, prober):
    responder.people["count"] = 7
    assert json.loads(ask(prober, responder.port))["users"] == 7


@pytest.mark.parametrize("datagram", [b"LANCHAT? 1", b"hello", b"LANCHAT? 2 please",
                                      b"\x00" * 60, b"LANCHAT? 2" * 50])
def test_anything_but_a_probe_gets_no_answer(responder, prober, datagram):
    assert ask(prober, responder.port, datagram, timeout=QUIET) is None
    assert ask(prober, responder.port) is not None  # and the next probe still does


def test_one_address_gets_a_burst_then_nothing_it_cannot_be_an_amplifier(responder, prober):
    for _ in range(PER_ADDRESS_BURST + 20):
        prober.sendto(b"LANCHAT? 2", ("127.0.0.1", responder.port))
    replies = 0
    prober.settimeout(QUIET)
    try:
        while True:
            prober.recvfrom(4096)
            replies += 1
    except socket.timeout:
        pass
    assert PER_ADDRESS_BURST <= replies <= PER_ADDRESS_BURST + 1  # +1: a refill meanwhile


def test_stop_is_idempotent_and_frees_the_port(responder):
    responder.stop()
    responder.stop()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", responder.port))


def test_a_taken_udp_port_is_a_warning_and_the_chat_goes_on(make_server, prober):
    server = make_server()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", server.port))
        discovery = ServerDiscovery(Found("Room 4", "", server.port), "127.0.0.1",
                                    server.server.people)
        sentence, warnings = discovery.start()
        try:
            assert warnings and f"UDP {server.port}" in warnings[0] and "--host" in warnings[0]
            assert sentence.startswith("Not advertising")
        finally:
            discovery.stop()
    with socket.create_connection(server.address, timeout=WAIT):
        pass  # still serving chat


def test_a_real_servers_count_follows_joins(make_server, make_client, prober):
    server = make_server()
    discovery = ServerDiscovery(Found("Room 4", "", server.port), "127.0.0.1",
                                server.server.people)
    sentence, warnings = discovery.start()
    try:
        assert warnings == []
        assert sentence == (f"Answering discovery probes for 'Room 4' on UDP {server.port} "
                            f"(this machine only)")
        assert json.loads(ask(prober, server.port))["users"] == 0
        alice = make_client(server.address)
        alice.hello("alice")
        assert json.loads(ask(prober, server.port))["users"] == 1
    finally:
        discovery.stop()


def test_a_browser_finds_two_servers_on_one_host_by_probe(make_server):
    first, second = make_server(), make_server()
    discoveries = [ServerDiscovery(Found(name, "", s.port), "127.0.0.1", s.server.people)
                   for name, s in (("first", first), ("second", second))]
    for discovery in discoveries:
        discovery.start()
    changes = []
    browser = Browser(port=first.port, probe_hosts=["127.0.0.1", f"127.0.0.1:{second.port}"],
                      on_change=lambda: changes.append(1))
    browser.start()
    try:
        listed = wait_for(lambda: len(browser.servers()) == 2 and browser.servers(),
                          what="both servers listed")
        assert [(f.name, f.host, f.port, f.via) for f in listed] == [
            ("first", "127.0.0.1", first.port, {PROBE}),
            ("second", "127.0.0.1", second.port, {PROBE})]
        assert changes
    finally:
        browser.stop()
        browser.stop()
        for discovery in discoveries:
            discovery.stop()


def test_discover_once_on_loopback(responder):
    found = discover(1.0, port=responder.port, probe_hosts=["127.0.0.1"])
    assert [(f.name, f.port, f.users, f.pw) for f in found] == [
        ("Room 4", responder.port, 2, True)]


def test_client_discover_with_nothing_there_says_what_to_check():
    port = free_udp_port()
    done = subprocess.run([sys.executable, "client.py", "--discover", "--json", "--port",
                           str(port)], cwd=ROOT, capture_output=True, text=True,
                          timeout=WAIT + 5)
    assert done.returncode == 1 and json.loads(done.stdout) == []
    for needed in ("same network", f"TCP and UDP {port}", "UDP 5353", "isolate", "--host"):
        assert needed in done.stderr
    assert "Traceback" not in done.stderr


def test_client_discover_probes_the_addresses_the_connect_screen_does(responder):
    # A server started with --host 127.0.0.1 says it answers probes "(this machine
    # only)": LANCHAT_PROBE_HOSTS finds it from the command line as on the connect screen.
    env = dict(os.environ, LANCHAT_PROBE_HOSTS=f"127.0.0.1:{responder.port}")
    done = subprocess.run([sys.executable, "client.py", "--discover", "--port",
                           str(free_udp_port())], cwd=ROOT, capture_output=True,
                          text=True, timeout=WAIT + 5, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"Room 4  127.0.0.1:{responder.port}  2 people  password")
    done = subprocess.run([sys.executable, "client.py", "--discover", "--json"], cwd=ROOT,
                          capture_output=True, text=True, timeout=WAIT + 5, env=env)
    assert done.returncode == 0, done.stderr
    assert [(f["name"], f["port"]) for f in json.loads(done.stdout)] == [
        ("Room 4", responder.port)]


def test_stop_from_on_change_does_not_wait_for_itself(responder):
    stopped = []

    def on_change():
        browser.stop()  # from the browser's own thread
        stopped.append(True)

    browser = Browser(port=responder.port, probe_hosts=["127.0.0.1"], on_change=on_change)
    browser.start()
    wait_for(lambda: stopped, what="on_change to run and stop() to return")
    wait_for(lambda: not browser._prober.is_alive(), what="the probe thread to end")
    browser.stop()  # and once more from here: nothing left to do


def test_a_renamed_instance_is_numbered_and_stays_one_dns_label():
    assert numbered_instance("lab chat", 2) == "lab chat (2)"
    long = "é" * 40  # 80 bytes: cut on a character, never inside one
    renamed = numbered_instance(long, 12)
    assert renamed.endswith(" (12)") and len(renamed.encode("utf-8")) <= 63
    assert renamed.startswith("é" * 29) and renamed.encode("utf-8").decode("utf-8") == renamed


def test_a_flood_of_replies_naming_other_ports_is_bounded(prober):
    # Replies are not checked against anything (a broadcast probe may be answered by
    # any host), so one host naming port after port must not grow the list forever.
    fake = prober  # a "server" that answers one probe with many replies
    browser = Browser(port=1, probe_hosts=[f"127.0.0.1:{fake.getsockname()[1]}"])
    browser.start()
    reply = {"name": "fake", "users": 0, "tls": False, "pw": False, "fp": None, "v": 2}

    def until_seen(port: int, users: int = 0) -> None:
        """Send one reply again and again (UDP may drop one) until the list shows it."""
        datagram = json.dumps({**reply, "port": port, "users": users}).encode()
        deadline = time.monotonic() + WAIT
        while not any(f.port == port and f.users == users for f in browser.servers()):
            assert time.monotonic() < deadline, f"reply for port {port} never read"
            fake.sendto(datagram, asker)
            wait_until(lambda: any(f.port == port and f.users == users
                                   for f in browser.servers()), 0.2)

    try:
        fake.settimeout(WAIT)
        _, asker = fake.recvfrom(64)
        for port in range(1, MAX_PROBED + 1):
            until_seen(port)
        for extra in range(1, 51):
            fake.sendto(json.dumps({**reply, "port": MAX_PROBED + extra}).encode(), asker)
            # News about a listed server, sent after it: once it shows, the extra one
            # before it has been read (one socket, in order, on one thread).
            until_seen(1, users=extra)
        assert len(browser.servers()) == MAX_PROBED
    finally:
        browser.stop()


def wait_until(condition, timeout: float) -> bool:
    """Poll ``condition`` for at most ``timeout`` seconds; whether it came true."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.005)
    return True
