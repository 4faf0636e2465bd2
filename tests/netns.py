"""A real little LAN for discovery tests: Linux network namespaces on a bridge.

Discovery cannot be tested on 127.0.0.1 (no multicast, no broadcast), so ``Lan``
builds its own network: a namespace holding a bridge, and two or three "machines",
each a namespace with one veth interface whose other end is on the bridge, addressed
from ``SUBNET`` (a private /24 that exists only inside these namespaces: nothing is
routed out, no traffic ever leaves them). The host's own namespace is not touched
beyond creating and deleting the namespaces: every link is created inside them
(``ip -n``). Names carry the process id and a random part, so parallel runs do not
meet, and ``close`` deletes everything (killing what still runs inside first).

``why_not()`` says why such a network cannot be built here (not root, no ``ip``, no
namespaces), for a skip with a reason; ``why_no_nft()`` the same for ``nft``.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
from typing import Optional

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SUBNET = "10.213.77"  # the /24 the machines get addresses from (.1, .2, ...)
COMMAND_TIMEOUT = 10.0


def _run(*command: str) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, timeout=COMMAND_TIMEOUT)


def why_not() -> Optional[str]:
    """Why namespaces cannot be made here, or None if they can."""
    if sys.platform != "linux":
        return "network namespaces are Linux only"
    if os.geteuid() != 0:
        return "building network namespaces needs root"
    if shutil.which("ip") is None:
        return "the ip command (iproute2) is not installed"
    name = f"lcprobe{os.getpid()}{secrets.token_hex(2)}"
    made = _run("ip", "netns", "add", name)
    if made.returncode != 0:
        return f"cannot create a network namespace here: {made.stderr.strip()}"
    _run("ip", "netns", "del", name)
    return None


def why_no_nft() -> Optional[str]:
    """Why an nft rule cannot be used here, or None if it can."""
    return None if shutil.which("nft") else "the nft command (nftables) is not installed"


class Machine:
    """One namespace on the LAN: its name and address."""

    def __init__(self, namespace: str, address: str):
        self.namespace = namespace
        self.address = address

    def command(self, *argv: str) -> list:
        """``argv`` run inside this machine (prefix for ``subprocess``)."""
        return ["ip", "netns", "exec", self.namespace, *argv]

    def python(self, *argv: str) -> list:
        """This repository's Python run inside this machine, from the project root."""
        return self.command(sys.executable, *argv)

    def run(self, *argv: str, timeout: float = COMMAND_TIMEOUT) -> subprocess.CompletedProcess:
        return subprocess.run(self.command(*argv), capture_output=True, text=True,
                              timeout=timeout, cwd=ROOT)

    def drop_multicast_dns(self) -> None:
        """An nft table in this machine dropping mDNS both ways (UDP 5353, 224.0.0.251),
        so only the UDP probe can find anything from here."""
        rules = ("table inet nomdns {\n"
                 " chain input { type filter hook input priority 0; policy accept;\n"
                 "  udp dport 5353 drop\n  ip daddr 224.0.0.251 drop\n }\n"
                 " chain output { type filter hook output priority 0; policy accept;\n"
                 "  udp dport 5353 drop\n  ip daddr 224.0.0.251 drop\n }\n"
                 "}\n")
        done = subprocess.run(self.command("nft", "-f", "-"), input=rules, capture_output=True,
                              text=True, timeout=COMMAND_TIMEOUT)
        if done.returncode != 0:
            raise RuntimeError(f"nft refused the rules: {done.stderr.strip()}")


class Lan:
    """``count`` machines on one bridge; ``close()`` (or ``with``) removes them all."""

    def __init__(self, count: int = 2):
        tag = f"lc{os.getpid() % 100000}{secrets.token_hex(2)}"
        self.bridge_namespace = f"{tag}br"
        self.machines: list = []
        self.processes: list = []
        self._namespaces = [self.bridge_namespace]
        try:
            self._check("ip", "netns", "add", self.bridge_namespace)
            self._in_bridge("link", "add", "br0", "type", "bridge")
            self._in_bridge("link", "set", "br0", "up")
            for number in range(1, count + 1):
                self._add_machine(f"{tag}m{number}", number)
        except BaseException:
            self.close()
            raise

    def _check(self, *command: str) -> None:
        done = _run(*command)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed: {done.stderr.strip()}")

    def _in_bridge(self, *argv: str) -> None:
        self._check("ip", "-n", self.bridge_namespace, *argv)

    def _add_machine(self, namespace: str, number: int) -> None:
        self._check("ip", "netns", "add", namespace)
        self._namespaces.append(namespace)
        port = f"p{number}"
        self._check("ip", "-n", namespace, "link", "add", "eth0", "type", "veth",
                    "peer", "name", port, "netns", self.bridge_namespace)
        self._in_bridge("link", "set", port, "master", "br0")
        self._in_bridge("link", "set", port, "up")
        address = f"{SUBNET}.{number}"
        self._check("ip", "-n", namespace, "addr", "add", f"{address}/24", "dev", "eth0")
        self._check("ip", "-n", namespace, "link", "set", "eth0", "up")
        self._check("ip", "-n", namespace, "link", "set", "lo", "up")
        self.machines.append(Machine(namespace, address))

    def start(self, machine: Machine, *argv: str, **popen) -> subprocess.Popen:
        """A process in ``machine`` (this repository's Python with ``argv``), killed by
        ``close`` if still running."""
        popen.setdefault("stdout", subprocess.PIPE)
        popen.setdefault("stderr", subprocess.PIPE)
        proc = subprocess.Popen(machine.python(*argv), cwd=ROOT, text=True, **popen)
        self.processes.append(proc)
        return proc

    def close(self) -> None:
        """Kill what still runs inside, then delete every namespace (and so every link)."""
        for proc in self.processes:
            if proc.poll() is None:
                proc.kill()
            try:
                proc.wait(COMMAND_TIMEOUT)
            except subprocess.TimeoutExpired:
                pass
            for stream in (proc.stdin, proc.stdout, proc.stderr):
                if stream is not None:
                    stream.close()
        for namespace in reversed(self._namespaces):
            _run("ip", "netns", "del", namespace)
        self._namespaces = []

    def __enter__(self) -> "Lan":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
