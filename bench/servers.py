"""The servers under test, each in its own subprocess, and what we read from /proc.

Kinds:

* ``ours-mem``: ``server.py --db :memory:``; ``ours-file``: ``server.py`` with a new
  SQLite file in a directory of its own under the run's temp directory (history on
  disk, as in production).
  Both with ``--rate 0`` (no rate limit), room for 10,000 clients, a long idle timeout.
* ``tutorial``: ``bench/baselines/tutorial_server.py``, the classic thread-per-client
  server that ``sendall``s to everyone under one lock.
* ``asyncio``: ``bench/baselines/asyncio_server.py``, a minimal asyncio server that
  coalesces its writes.
* ``ngircd``: the ngIRCd IRC server (C), one channel, penalties and limits off; the
  load speaks IRC (``dialects.IrcMember``).
* ``redis``: ``redis-server`` pub/sub (C), nothing saved; the load speaks RESP3
  (``dialects.RespMember``).

The last two run when their binary is installed; otherwise ``ServerProcess`` raises
``Missing`` and the workload's result says "skipped" with the reason.

Server CPU is utime + stime from ``/proc/<pid>/stat``: it counts every thread of the
process, including threads that have exited, and nothing of the load generator.
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from typing import Optional

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
KINDS = ("ours-mem", "ours-file", "tutorial", "asyncio", "ngircd", "redis")
BINARIES = {"ngircd": "ngircd", "redis": "redis-server"}  # kind -> the program it needs
# The ngIRCd configuration: 127.0.0.1 only, no limits, no penalties, no lookups.
NGIRCD_CONF = """[Global]
Name = bench.invalid
Info = lanchat benchmark baseline
Listen = 127.0.0.1
Ports = {port}
MotdPhrase = bench
[Limits]
MaxConnections = 0
MaxConnectionsIP = 0
MaxJoins = 0
MaxPenaltyTime = 0
MaxNickLength = 30
PingTimeout = 3600
PongTimeout = 3600
[Options]
DNS = no
Ident = no
PAM = no
"""
CLK_TCK = os.sysconf("SC_CLK_TCK")
START_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 10.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def raise_fd_limit() -> None:
    """Soft RLIMIT_NOFILE up to the hard limit: thousands of sockets (servers and load)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class Missing(RuntimeError):
    """The program a server kind needs is not installed."""


def missing_reason(kind: str) -> Optional[str]:
    """Why ``kind`` cannot run here (its program is not on PATH), or None."""
    program = BINARIES.get(kind)
    if program and shutil.which(program) is None:
        return f"{program} is not installed"
    return None


def command(kind: str, port: int, workdir: str, extra: tuple = (), ours_root: str = ROOT) -> list:
    """The command line that starts a server of ``kind`` on 127.0.0.1:port.

    ``ours_root`` is the checkout whose ``server.py`` the ``ours-*`` kinds run.
    """
    if kind in ("tutorial", "asyncio"):
        return [sys.executable, os.path.join(BENCH, "baselines", f"{kind}_server.py"),
                "--port", str(port), *extra]
    if kind == "ngircd":
        conf = os.path.join(tempfile.mkdtemp(dir=workdir), "ngircd.conf")
        with open(conf, "w") as f:
            f.write(NGIRCD_CONF.format(port=port))
        return [shutil.which("ngircd"), "--nodaemon", "--passive", "--config", conf, *extra]
    if kind == "redis":
        return [shutil.which("redis-server"), "--bind", "127.0.0.1", "--port", str(port),
                "--save", "", "--appendonly", "no", "--daemonize", "no",
                "--protected-mode", "no", "--maxclients", "10000",
                "--dir", tempfile.mkdtemp(dir=workdir), "--loglevel", "warning", *extra]
    if kind not in ("ours-mem", "ours-file"):
        raise ValueError(f"unknown server kind {kind!r}")
    db = (os.path.join(tempfile.mkdtemp(dir=workdir), "bench.db") if kind == "ours-file"
          else ":memory:")
    return [sys.executable, os.path.join(ours_root, "server.py"), "--host", "127.0.0.1",
            "--port", str(port), "--db", db, "--rate", "0", "--log-level", "WARNING",
            "--max-clients", "10000", "--max-per-ip", "10000", "--idle-timeout", "3600",
            *extra]


class ServerProcess:
    """One server subprocess, started once it accepts connections.

    Args:
        kind: one of ``KINDS``.
        workdir: where the history file and the server's stderr go.
        extra: more command-line arguments.
        ours_root: the checkout whose ``server.py`` the ``ours-*`` kinds run.
    Raises:
        Missing: the kind's program is not installed.
        RuntimeError: the server exited or did not accept within 15 s.
    """

    def __init__(self, kind: str, workdir: str, extra: tuple = (), ours_root: str = ROOT):
        reason = missing_reason(kind)
        if reason:
            raise Missing(reason)
        self.kind = kind
        self.port = free_port()
        self.log_tail = ""
        self.stderr = tempfile.TemporaryFile(dir=workdir)
        self.proc = subprocess.Popen(command(kind, self.port, workdir, extra, ours_root),
                                     cwd=workdir,
                                     stdout=subprocess.DEVNULL, stderr=self.stderr,
                                     preexec_fn=raise_fd_limit)
        try:
            self._wait_until_accepting()
        except BaseException:
            self.stop()
            raise

    def _wait_until_accepting(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                if self.proc.poll() is not None:
                    self.stop()
                    raise RuntimeError(f"{self.kind} server exited: {self.log_tail}") from None
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{self.kind} server did not accept in "
                                       f"{START_TIMEOUT_S:.0f} s") from None
                time.sleep(0.02)

    def cpu_seconds(self) -> float:
        """utime + stime of the whole process so far (all threads, exited ones too)."""
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK  # fields 14 and 15 of stat

    def rss_bytes(self) -> int:
        """Resident set size (VmRSS) now."""
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        return 0

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> Optional[int]:
        """SIGTERM, then SIGKILL if it does not exit in 10 s; returns the exit code.

        What the server wrote to stderr is kept in ``log_tail`` (its last 2,000 characters).
        """
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if not self.stderr.closed:
            self.stderr.seek(0)
            self.log_tail = self.stderr.read().decode("utf-8", "replace")[-2000:].strip()
            self.stderr.close()
        return self.proc.returncode
