"""Crash recovery: kill -9 the server mid-conversation; nothing acknowledged is lost.

Several ``ChatConnection`` clients send numbered lines while the server process is
killed with SIGKILL and restarted on the same port and database. The clients notice,
reconnect by themselves (resume + since) and resend what was not acknowledged. At the
end every line any client typed must appear exactly once in every client's view and
in the database, in one order for all.

    python bench/crash_recovery.py --clients 4 --lines 60 --kills 2

Only 127.0.0.1 is used; every loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from lanchat.client.connection import ChatConnection  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int, db: str) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, os.path.join(ROOT, "server.py"), "--host", "127.0.0.1",
         "--port", str(port), "--db", db, "--rate", "0", "--log-level", "WARNING"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # wait until it accepts
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited: {proc.stdout.read()}")
            time.sleep(0.02)
    proc.kill()
    raise RuntimeError("server did not start in 10 s")


class View:
    """One client's view: every line in the order it was shown, with its seq."""

    def __init__(self, conn: ChatConnection):
        self.conn = conn
        self.lines: list = []       # (seq, text)
        self.connected = 0
        self.last_connected = 0.0
        self.failed: list = []
        self._thread = threading.Thread(target=self._pump, daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        while True:
            event = self.conn.events.get()
            kind = event["type"]
            if kind == "closed":
                return
            if kind == "connected":
                self.connected += 1
                self.last_connected = time.monotonic()
            elif kind == "message":
                self.lines.append((event["seq"], event["text"]))
            elif kind == "ack" and event.get("text"):
                self.lines.append((event["seq"], event["text"]))
            elif kind == "error" and event.get("text"):
                self.failed.append((event["text"], event.get("code")))


def run(clients: int = 3, lines: int = 40, kills: int = 1, interval: float = 0.01,
        down_for: float = 0.3, timeout: float = 60.0) -> dict:
    """Run the scenario and return its figures (see the module docstring)."""
    tmp = tempfile.mkdtemp(prefix="crash-")
    db = os.path.join(tmp, "chat.db")
    port = free_port()
    proc = start_server(port, db)
    views = []
    try:
        for n in range(clients):
            conn = ChatConnection("127.0.0.1", port, f"user{n}", ping_interval=2.0)
            views.append(View(conn))
            conn.start()
        deadline = time.monotonic() + 10
        while any(v.connected == 0 for v in views):
            if time.monotonic() > deadline:
                raise RuntimeError("clients did not connect")
            time.sleep(0.01)

        typed = []
        typing_done = threading.Event()

        def typist(view: View, n: int) -> None:
            for i in range(lines):
                text = f"user{n} line {i}"
                typed.append(text)
                view.conn.say(text)
                time.sleep(interval)

        typists = [threading.Thread(target=typist, args=(v, n)) for n, v in enumerate(views)]
        for t in typists:
            t.start()
        recoveries = []
        per_kill = lines * interval / (kills + 1)
        for _ in range(kills):
            time.sleep(per_kill)
            killed_at = time.monotonic()
            counts = [v.connected for v in views]
            proc.send_signal(signal.SIGKILL)
            proc.wait(5)
            time.sleep(down_for)
            proc = start_server(port, db)
            deadline = time.monotonic() + 30
            while any(v.connected == c for v, c in zip(views, counts)):
                if time.monotonic() > deadline:
                    raise RuntimeError("clients did not reconnect in 30 s")
                time.sleep(0.01)
            recoveries.append(max(v.last_connected for v in views) - killed_at)
        for t in typists:
            t.join(timeout)
        typing_done.set()

        expected = set(typed)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(not v.conn.pending() and {t for _, t in v.lines} >= expected for v in views):
                break
            time.sleep(0.05)
    finally:
        for v in views:
            v.conn.close()
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()

    stored = [row[0] for row in sqlite3.connect(db).execute(
        "SELECT text FROM events WHERE type = 'message' ORDER BY seq")]
    orders = []
    lost = duplicated = 0
    for v in views:
        texts = [t for _, t in v.lines]
        lost += len(expected - set(texts))
        duplicated += len(texts) - len(set(texts))
        seqs = [s for s, _ in v.lines]
        orders.append(seqs == sorted(seqs))
    acked_everywhere = all(not v.conn.pending() for v in views)
    # One order for all: the seq each client saw for a line is the same everywhere.
    seq_of = {}
    consistent = True
    for v in views:
        for seq, text in v.lines:
            consistent &= seq_of.setdefault(text, seq) == seq
    return {
        "clients": clients, "kills": kills, "lines_typed": len(typed),
        "lines_acked": len(typed) - sum(len(v.failed) for v in views) if acked_everywhere else None,
        "lost": lost, "duplicated": duplicated,
        "db_lines": len(stored), "db_duplicates": len(stored) - len(set(stored)),
        "db_missing": len(expected - set(stored)),
        "each_view_in_seq_order": all(orders), "same_seq_everywhere": consistent,
        "failed": sum(len(v.failed) for v in views),
        "recovery_seconds": [round(r, 3) for r in recoveries],
        "server_down_seconds": down_for,
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--clients", type=int, default=4)
    p.add_argument("--lines", type=int, default=60, help="lines each client types")
    p.add_argument("--kills", type=int, default=2)
    p.add_argument("--down-for", type=float, default=0.5, help="seconds the server stays dead")
    args = p.parse_args()
    figures = run(args.clients, args.lines, args.kills, down_for=args.down_for)
    print(json.dumps(figures, indent=2))
    ok = figures["lost"] == 0 and figures["duplicated"] == 0 and figures["db_duplicates"] == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
