"""Memory per idle connection, measured precisely: RSS and tracemalloc, in-process.

    python bench/memprobe.py --conns 2000            # RSS per connection
    python bench/memprobe.py --conns 2000 --trace    # and tracemalloc's top sites

The server runs in this process (so tracemalloc sees its allocations); the clients
run in a child process: ``--conns`` structured clients connect, say hello, and then
only drain what they are sent. RSS (VmRSS) is read when the server is up and again
when every client has its welcome and nothing has arrived for a second (the join
fan-out is over). ``bench/run.py --only conns`` measures the same from outside with
5,000 clients; this is the quick, repeatable probe used to cut memory per connection
(bench/README.md, "Memory per connection").
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing
import os
import resource
import selectors
import socket
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import protocol  # noqa: E402
from lanchat.server.config import ServerConfig  # noqa: E402
from lanchat.server.listener import ChatServer  # noqa: E402
from lanchat.server.memtrim import _malloc_trim  # noqa: E402

QUIET_SECONDS = 1.0
BUDGET_SECONDS = 120.0


def rss_kib() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


def rss_by_mapping() -> dict:
    """KiB resident by kind of mapping: thread stacks (the 8 MiB default, or what
    ``threading.stack_size`` set), malloc's heap and arenas, small anonymous maps
    (CPython's frame stacks, pymalloc arenas), files."""
    kinds: dict = {}
    kind = "other"
    stack_kib = (threading.stack_size() or resource.getrlimit(resource.RLIMIT_STACK)[0]) // 1024
    with open("/proc/self/smaps") as smaps:
        for line in smaps:
            fields = line.split()
            if "-" in fields[0] and len(fields) >= 5:
                start, end = (int(part, 16) for part in fields[0].split("-"))
                size = (end - start) // 1024
                path = fields[5] if len(fields) > 5 else ""
                if path == "[heap]":
                    kind = "heap"
                elif path:
                    kind = "files" if not path.startswith("[") else path
                elif size == stack_kib:
                    kind = f"thread stacks ({stack_kib} KiB maps)"
                elif size >= 1024:
                    kind = "malloc arenas and big maps (>=1 MiB)"
                else:
                    kind = "small maps (<1 MiB: frame stacks, pymalloc)"
            elif fields[0] == "Rss:":
                kinds[kind] = kinds.get(kind, 0) + int(fields[1])
    return kinds


def _raise_fd_limit(want: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))


def clients(address, count: int, pipe) -> None:
    """The child: ``count`` structured clients join, then drain until told to stop."""
    _raise_fd_limit(count + 100)
    selector = selectors.DefaultSelector()
    welcomed = 0
    seen = {}
    last_data = time.monotonic()

    def drain(timeout: float) -> None:
        nonlocal welcomed, last_data
        for key, _ in selector.select(timeout):
            try:
                data = key.fileobj.recv(262144)
            except OSError:
                data = b""
            if not data:
                selector.unregister(key.fileobj)
                continue
            last_data = time.monotonic()
            if not seen[key.fileobj]:
                if b'"welcome"' in data:
                    seen[key.fileobj] = True
                    welcomed += 1

    for number in range(count):
        sock = socket.create_connection(address)
        sock.sendall(protocol.message_frame({"type": "hello", "name": f"m{number}"}))
        sock.setblocking(False)
        seen[sock] = False
        selector.register(sock, selectors.EVENT_READ)
        if number % 64 == 63:
            drain(0)
    deadline = time.monotonic() + BUDGET_SECONDS
    while time.monotonic() < deadline:
        drain(0.05)
        if welcomed == count and time.monotonic() - last_data > QUIET_SECONDS:
            break
    pipe.send(welcomed)
    pipe.recv()  # stop
    for sock in seen:
        sock.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conns", type=int, default=2000)
    parser.add_argument("--trace", action="store_true", help="tracemalloc's top allocation sites")
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    _raise_fd_limit(args.conns + 200)
    if args.trace:
        import tracemalloc
        tracemalloc.start(1)
    config = ServerConfig(host="127.0.0.1", port=0, db=":memory:", rate=0,
                          max_clients=args.conns + 10, max_per_ip=args.conns + 10,
                          idle_timeout=3600)
    server = ChatServer(config)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    gc.collect()
    if _malloc_trim is not None:
        _malloc_trim(0)
    before = rss_kib()
    maps_before = rss_by_mapping()
    snap_before = tracemalloc.take_snapshot() if args.trace else None
    parent, child = multiprocessing.Pipe()
    proc = multiprocessing.Process(target=clients, args=(server.server_address, args.conns, child))
    started = time.monotonic()
    proc.start()
    welcomed = parent.recv()
    took = time.monotonic() - started
    gc.collect()
    after = rss_kib()
    maps_after = rss_by_mapping()
    trim_started = time.perf_counter()
    if _malloc_trim is not None:
        _malloc_trim(0)
    trim_ms = (time.perf_counter() - trim_started) * 1000
    trimmed = rss_kib()
    threads = threading.active_count()
    print(f"joined {welcomed}/{args.conns} in {took:.1f} s; threads {threads} "
          f"+ {server.connection_threads()} connection threads (not threading.Threads)")
    print(f"RSS {before} KiB -> {after} KiB: {(after - before) / args.conns:.2f} KiB/conn "
          f"({(trimmed - before) / args.conns:.2f} after a malloc_trim of {trim_ms:.1f} ms)")
    for kind in sorted(maps_after, key=lambda k: maps_before.get(k, 0) - maps_after[k]):
        print(f"  {(maps_after[kind] - maps_before.get(kind, 0)) / args.conns:6.2f} KiB/conn  {kind}")
    if args.trace:
        snap = tracemalloc.take_snapshot()
        stats = snap.compare_to(snap_before, "lineno")
        total = sum(stat.size_diff for stat in stats)
        print(f"tracemalloc: {total / args.conns / 1024:.2f} KiB/conn of Python objects")
        for stat in stats[:args.top]:
            frame = stat.traceback[0]
            print(f"  {stat.size_diff / args.conns:8.0f} B/conn {stat.count_diff / args.conns:6.2f} "
                  f"blocks/conn  {os.path.relpath(frame.filename, ROOT)}:{frame.lineno}")
    parent.send("stop")
    proc.join(30)
    server.close_gracefully(flush_seconds=1.0)


if __name__ == "__main__":
    main()
