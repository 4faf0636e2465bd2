"""A real ``redis-server`` for the group tests (issue 15): on a free port on
127.0.0.1, in a temporary folder, with no persistence or with AOF, always stopped.

``RedisServer.stop()`` and ``start()`` again on the same port and folder is an outage
and a restart (with ``aof=True`` what Redis had acknowledged comes back).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time

import pytest

from conftest import RunningServer

REDIS_SERVER = shutil.which("redis-server")
needs_redis = pytest.mark.skipif(REDIS_SERVER is None, reason="redis-server is not installed "
                                 "(.ci/run installs the redis-server package)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """One redis-server process; ``url`` is its ``redis://`` address."""

    def __init__(self, folder: str, aof: bool = False):
        self.folder = folder
        self.aof = aof
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None

    def start(self, timeout: float = 5.0) -> None:
        args = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1",
                "--save", "", "--dir", self.folder, "--daemonize", "no",
                "--appendonly", "yes" if self.aof else "no"]
        if self.aof:
            args += ["--appendfsync", "always"]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(64).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            if self.process.poll() is not None:
                break
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None

    def cpu_seconds(self) -> float:
        """The process's user+system CPU so far (Linux /proc)."""
        with open(f"/proc/{self.process.pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(str(tmp_path))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def group(redis_server):
    """Factory: ``group(n, **config)`` -> n servers sharing the test's Redis."""
    started = []

    def factory(count: int, **overrides):
        overrides.setdefault("rate", 0)
        servers = [RunningServer(redis=redis_server.url, **overrides) for _ in range(count)]
        started.extend(servers)
        return servers

    yield factory
    for server in started:
        server.stop()
