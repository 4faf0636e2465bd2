"""The ``cluster`` workload: 1, 2 and 3 servers sharing one Redis (``--redis``), against
one server alone (SQLite in memory) in the same run.

    python bench/cluster.py                  # about a minute
    python bench/cluster.py --quick --json   # a smoke run (tests/test_bench_cluster.py)

The same load for each set-up: ``--receivers`` members and ``--senders`` senders,
spread evenly over the servers (member i on server i mod N), every sender sending
``--lines`` chat lines as fast as the server takes them (``--rate 0``), each line
carrying the time it was sent. Measured, from the first line sent to the last one
received everywhere:

* deliveries/s: lines received by members other than their sender, per second;
* server CPU per delivery (µs): every server process's utime + stime, summed;
* Redis CPU (s) and per delivery (µs): the redis-server process's;
* p50/p99 latency (ms) from the sender's ``send`` to a member's ``recv``, measured
  after the flood with ``PACED_LINES`` lines sent one at a time (so it is the path's
  latency, not the flood's queueing): for the group, only the members on another
  server than the sender (the shared path);
* each ratio against the single server's figure.

Everything runs on this machine (127.0.0.1): servers, Redis and this load generator
share its cores. Every wait is bounded; every process is stopped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import selectors
import shutil
import socket
import subprocess
import sys
import tempfile
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
sys.path.insert(0, ROOT)

import protocol  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")
RUN_TIMEOUT_S = 120.0
PACED_LINES = 100  # the latency probe: lines sent one at a time after the flood
PACE_S = 0.01


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def _wait_port(port: int, process: subprocess.Popen, what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not start listening on {port}")


def start_redis(folder: str) -> tuple:
    port = free_port()
    process = subprocess.Popen(
        [shutil.which("redis-server"), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "yes", "--appendfsync", "everysec", "--dir", folder],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait_port(port, process, "redis-server")
    return process, f"redis://127.0.0.1:{port}/0"


def start_server(redis_url: str | None) -> tuple:
    port = free_port()
    args = [sys.executable, "server.py", "--host", "127.0.0.1", "--port", str(port),
            "--no-advertise", "--rate", "0", "--max-clients", "5000", "--history", "0",
            "--log-level", "WARNING", "--idle-timeout", "600"]
    args += ["--redis", redis_url] if redis_url else ["--db", ":memory:"]
    process = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    _wait_port(port, process, "server.py")
    return process, port


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


class Member:
    """One connection of the load generator (non-blocking, on one selector)."""

    def __init__(self, name: str, port: int, server: int):
        self.name = name
        self.server = server
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.decoder = protocol.FrameDecoder(max_body=protocol.HARD_MAX_FRAME)
        self.out = bytearray(protocol.message_frame({"type": "hello", "name": name}))
        self.welcomed = False
        self.got = 0            # lines from others
        self.latencies: list = []  # ns, of lines from another server (or all, alone)

    def read(self, servers: int, now_ns: int) -> None:
        data = self.sock.recv(1 << 20)
        if not data:
            raise RuntimeError(f"{self.name}: the server closed the connection")
        self.decoder.feed(data)
        for body in self.decoder.events():
            if body.startswith(b'{"type":"welcome"'):
                self.welcomed = True
            elif body.startswith(b'{"type":"message"'):
                event = json.loads(body)
                self.got += 1
                origin, sent = event["text"].split(" ", 2)[:2]
                if servers == 1 or int(origin) != self.server:
                    self.latencies.append(now_ns - int(sent))


def _percentile(values: list, q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


def run(servers: int, receivers: int, senders: int, lines: int, folder: str) -> dict:
    """One set-up: ``servers`` 0 means one server alone (no Redis)."""
    redis_process, url = start_redis(folder) if servers else (None, None)
    started = [start_server(url) for _ in range(max(1, servers))]
    count = max(1, servers)
    try:
        members = [Member(f"m{i}", started[i % count][1], i % count)
                   for i in range(receivers + senders)]
        selector = selectors.DefaultSelector()
        for member in members:
            member.sock.setblocking(False)
            selector.register(member.sock, selectors.EVENT_READ | selectors.EVENT_WRITE, member)
        deadline = time.monotonic() + RUN_TIMEOUT_S
        _loop(selector, count, lambda: all(m.welcomed for m in members), deadline)
        time.sleep(0.5)  # the last joins reach every server before the clock starts
        for member in members:
            member.got = 0
        cpu0 = [cpu_seconds(p.pid) for p, _ in started]
        redis0 = cpu_seconds(redis_process.pid) if redis_process else 0.0
        began = time.monotonic()
        for member in members[receivers:]:
            now = time.time_ns()
            member.out += b"".join(protocol.message_frame(
                {"type": "say", "text": f"{member.server} {now} line {n}", "id": str(n)})
                for n in range(lines))
            selector.modify(member.sock, selectors.EVENT_READ | selectors.EVENT_WRITE, member)
        expected = senders * lines * (receivers + senders - 1)
        _loop(selector, count, lambda: sum(m.got for m in members) >= expected, deadline)
        elapsed = time.monotonic() - began
        cpu = sum(cpu_seconds(p.pid) for p, _ in started) - sum(cpu0)
        redis_cpu = (cpu_seconds(redis_process.pid) - redis0) if redis_process else 0.0
        latencies = _paced_latencies(selector, members, members[receivers], count, deadline)
        for member in members:
            member.sock.close()
        return {"servers": servers, "deliveries": expected,
                "deliveries_per_s": expected / elapsed, "seconds": elapsed,
                "server_cpu_us_per_delivery": cpu / expected * 1e6,
                "redis_cpu_s": redis_cpu, "redis_cpu_us_per_delivery": redis_cpu / expected * 1e6,
                "p50_ms": _percentile(latencies, 0.5) / 1e6,
                "p99_ms": _percentile(latencies, 0.99) / 1e6}
    finally:
        for process, _ in started:
            stop(process)
        if redis_process is not None:
            stop(redis_process)


def _paced_latencies(selector, members: list, sender: Member, servers: int,
                     deadline: float) -> list:
    # After the flood: one line every PACE_S from one sender, nothing else going on,
    # so the figure is the path's latency, not the flood's queueing.
    for member in members:
        member.latencies = []
        member.got = 0
    others = len(members) - 1
    for n in range(PACED_LINES):
        sender.out += protocol.message_frame({"type": "say", "id": f"p{n}",
                                              "text": f"{sender.server} {time.time_ns()} paced"})
        selector.modify(sender.sock, selectors.EVENT_READ | selectors.EVENT_WRITE, sender)
        _loop(selector, servers, lambda: sum(m.got for m in members) >= (n + 1) * others,
              deadline)
        time.sleep(PACE_S)
    return [value for m in members for value in m.latencies]


def _loop(selector, servers: int, done, deadline: float) -> None:
    while not done():
        if time.monotonic() > deadline:
            raise RuntimeError("the run did not finish in time")
        for key, events in selector.select(0.1):
            member = key.data
            if events & selectors.EVENT_READ:
                member.read(servers, time.time_ns())
            if events & selectors.EVENT_WRITE and member.out:
                try:
                    sent = member.sock.send(member.out)
                except BlockingIOError:
                    sent = 0
                del member.out[:sent]
            selector.modify(member.sock, selectors.EVENT_READ | (
                selectors.EVENT_WRITE if member.out else 0), member)


def _ratio(value: float, base: float) -> float:
    return value / base if base else float("nan")


def table(results: list) -> str:
    alone = results[0]
    head = ("| set-up | deliveries/s | ratio | server CPU µs/delivery | ratio | Redis CPU s "
            "| Redis µs/delivery | p50 ms | p99 ms |\n|---|---|---|---|---|---|---|---|---|")
    rows = []
    for r in results:
        name = "1 server alone (SQLite)" if r["servers"] == 0 else \
            f"{r['servers']} server{'s' if r['servers'] > 1 else ''} + Redis"
        rows.append(
            f"| {name} | {r['deliveries_per_s']:,.0f} | "
            f"{_ratio(r['deliveries_per_s'], alone['deliveries_per_s']):.2f} | "
            f"{r['server_cpu_us_per_delivery']:.2f} | "
            f"{_ratio(r['server_cpu_us_per_delivery'], alone['server_cpu_us_per_delivery']):.2f} | "
            f"{r['redis_cpu_s']:.2f} | {r['redis_cpu_us_per_delivery']:.2f} | "
            f"{r['p50_ms']:.1f} | {r['p99_ms']:.1f} |")
    return "\n".join([head] + rows)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--receivers", type=int, default=30)
    parser.add_argument("--senders", type=int, default=6)
    parser.add_argument("--lines", type=int, default=1500, help="lines per sender")
    parser.add_argument("--quick", action="store_true", help="small sizes, a smoke run")
    parser.add_argument("--json", action="store_true", help="the raw figures as JSON")
    args = parser.parse_args(argv)
    if shutil.which("redis-server") is None:
        print("redis-server is not installed", file=sys.stderr)
        return 2
    if args.quick:
        args.receivers, args.senders, args.lines = 4, 2, 50
    results = []
    for servers in (0, 1, 2, 3):
        with tempfile.TemporaryDirectory() as folder:  # a fresh Redis each time
            results.append(run(servers, args.receivers, args.senders, args.lines, folder))
    if args.json:
        print(json.dumps(results, indent=1))
    else:
        print(f"{args.receivers} members and {args.senders} senders, {args.lines} lines each")
        print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
