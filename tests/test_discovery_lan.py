"""Discovery on a real network: servers and clients in Linux network namespaces.

Each test builds its own LAN (``tests/netns.py``): a bridge and two or three
"machines" with addresses of their own; the server runs as ``python server.py`` in one
and ``python client.py --discover --json`` (or a watching ``Browser``,
``tests/discovery_watch.py``) in another. Nothing leaves the namespaces. They need root
and ``ip`` (and ``nft`` for the multicast-dropping test) and are skipped with the
reason otherwise; ``.ci/run`` installs both, so in CI they run.
"""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import sys
import threading
import time

import pytest

from netns import Lan, why_no_nft, why_not

CANNOT = why_not()
pytestmark = [pytest.mark.live, pytest.mark.skipif(CANNOT is not None, reason=CANNOT or "")]

PORT = 5050          # the chat's port in the namespaces (each has its own ports)
NOBODY_PORT = 5999   # a probe port nothing answers on: only mDNS can find anything
WAIT = 10.0          # seconds any one wait in these tests may take
GOODBYE_WAIT = 3.0   # a stopped server leaves a running list within this


class Output:
    """A process's output lines (stdout and stderr merged), read on a thread."""

    def __init__(self, proc: subprocess.Popen):
        self.proc = proc
        self.lines: queue.Queue = queue.Queue()
        self.seen: list = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line)

    def wait_for(self, test, timeout: float = WAIT, what: str = "a line"):
        """The first line (from now) for which ``test(line)`` is truthy, or fail."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                pytest.fail(f"timed out after {timeout}s waiting for {what}; saw {self.seen}")
            self.seen.append(line)
            if test(line):
                return line


@pytest.fixture
def lan():
    with Lan(3) as network:
        yield network


def start_server(lan: Lan, machine, *args: str) -> Output:
    """``server.py`` in ``machine``; returns once it is on the network (advertised,
    unless ``--no-advertise``)."""
    proc = lan.start(machine, "server.py", "--db", ":memory:", *args,
                     stderr=subprocess.STDOUT)
    server = Output(proc)
    if "--no-advertise" in args:
        server.wait_for(lambda line: line.startswith("Not advertising"), what="the no-advertise line")
    else:
        server.wait_for(lambda line: "advertised on the LAN (mDNS) as" in line,
                        what="the server's mDNS registration")
    return server


def discover(machine, *args: str) -> tuple:
    """``client.py --discover --json`` in ``machine``: (exit status, list, stderr)."""
    done = machine.run(sys.executable, "client.py", "--discover", "--json", *args,
                       timeout=WAIT)
    return done.returncode, json.loads(done.stdout), done.stderr


def watch(lan: Lan, machine, *args: str) -> Output:
    """A ``Browser`` running in ``machine``; each output line is its list as JSON."""
    return Output(lan.start(machine, "tests/discovery_watch.py", *args,
                            stdin=subprocess.PIPE, stderr=subprocess.STDOUT))


def listing(line: str) -> list:
    try:
        parsed = json.loads(line)
    except ValueError:
        return []  # a log line
    return parsed if isinstance(parsed, list) else []


def test_found_by_multicast_dns(lan):
    server_machine, client_machine, _ = lan.machines
    start_server(lan, server_machine, "--port", str(PORT), "--name", "Room 4")
    # Probes go to a port nobody answers on: what is found, mDNS found.
    status, found, _ = discover(client_machine, "--port", str(NOBODY_PORT))
    assert status == 0
    assert found == [{"name": "Room 4", "host": server_machine.address, "port": PORT,
                      "users": 0, "tls": False, "pw": False, "fp": None, "v": 2}]


def test_found_by_the_probe_when_multicast_is_dropped(lan):
    if why_no_nft():
        pytest.skip(why_no_nft())
    server_machine, client_machine, _ = lan.machines
    start_server(lan, server_machine, "--port", str(PORT), "--name", "Room 5")
    client_machine.drop_multicast_dns()
    # The mDNS path provably fails from there: probing elsewhere finds nothing...
    status, found, _ = discover(client_machine, "--port", str(NOBODY_PORT))
    assert (status, found) == (1, [])
    # ...and the probe finds it.
    status, found, _ = discover(client_machine)
    assert status == 0
    assert [(f["name"], f["host"], f["port"]) for f in found] == [
        ("Room 5", server_machine.address, PORT)]
    watcher = watch(lan, client_machine)
    line = watcher.wait_for(lambda text: listing(text), what="the server in the list")
    assert [entry["via"] for entry in listing(line)] == [["probe"]]


def test_no_advertise_is_not_found(lan):
    server_machine, client_machine, _ = lan.machines
    start_server(lan, server_machine, "--port", str(PORT), "--no-advertise")
    status, found, err = discover(client_machine)
    assert (status, found) == (1, [])
    assert "No chat server answered" in err and f"UDP {PORT}" in err and "--host" in err
    assert "Traceback" not in err
    # The server is there all the same: the network works, discovery is what is off.
    reached = client_machine.run(sys.executable, "-c", (
        "import socket; socket.create_connection(('%s', %d), timeout=5).close()"
        % (server_machine.address, PORT)))
    assert reached.returncode == 0, reached.stderr


def test_txt_users_follows_joins(lan):
    server_machine, watching_machine, joining_machine = lan.machines
    start_server(lan, server_machine, "--port", str(PORT))
    # Probes elsewhere: the count seen is the TXT record's.
    watcher = watch(lan, watching_machine, "--port", str(NOBODY_PORT))
    line = watcher.wait_for(lambda text: listing(text), what="the server in the list")
    assert [(e["users"], e["via"]) for e in listing(line)] == [(0, ["mdns"])]
    alice = lan.start(joining_machine, "client.py", "--cli", "--host", server_machine.address,
                      "--port", str(PORT), "--name", "alice", stdin=subprocess.PIPE)
    started = time.monotonic()
    watcher.wait_for(lambda text: [e["users"] for e in listing(text)] == [1],
                     what="users=1 in the TXT record")
    joined_after = time.monotonic() - started
    alice.stdin.close()  # end of input: alice leaves
    watcher.wait_for(lambda text: [e["users"] for e in listing(text)] == [0],
                     what="users=0 after alice left")
    assert joined_after < WAIT


def test_a_stopping_server_drops_off_a_running_list(lan):
    server_machine, client_machine, _ = lan.machines
    server = start_server(lan, server_machine, "--port", str(PORT))
    watcher = watch(lan, client_machine)
    watcher.wait_for(lambda text: [sorted(e["via"]) for e in listing(text)] == [["mdns", "probe"]],
                     what="the server found both ways")
    server.proc.send_signal(signal.SIGINT)
    stopped = time.monotonic()
    watcher.wait_for(lambda text: text.strip() == "[]", what="the list empty again")
    assert time.monotonic() - stopped < GOODBYE_WAIT
    assert server.proc.wait(WAIT) == 0


def test_two_servers_on_one_host_are_two_entries(lan):
    server_machine, client_machine, _ = lan.machines
    start_server(lan, server_machine, "--port", str(PORT))
    # The same default name: the second takes "NAME (2)" instead of failing.
    second = start_server(lan, server_machine, "--port", str(PORT + 1))
    assert any("another server on the LAN is called" in line for line in second.seen)
    status, found, _ = discover(client_machine)
    assert status == 0
    assert sorted(f["port"] for f in found) == [PORT, PORT + 1]
    assert {f["host"] for f in found} == {server_machine.address}
    assert len({f["name"] for f in found}) == 2
