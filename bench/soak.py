"""Soak: a few hundred clients with random behaviour against a real server process.

    python bench/soak.py                       # 300 clients, 3 minutes
    python bench/soak.py --clients 50 --seconds 20

The server runs as a subprocess (``server.py`` on 127.0.0.1, a free port, a fresh
SQLite file). The clients are not threads: a few worker processes each drive their
share of the sockets from one ``selectors`` loop, so 300 clients cost a few percent of
a core. Every client lives a series of sessions, each with a random role:

* ``chatter``: says lines with ids at random intervals, renames itself, sends private
  messages, ``/me``, ``/who``, pings; leaves by ``bye``, FIN, RST or a plain close.
* ``idler``: joins and only pings now and then.
* ``plain``: a tutorial-style client sending plain text lines (and ``!DISCONNECT``).
* ``slow``: joins with a tiny receive buffer, then stops reading for 40-120 s (it
  still pings, like a frozen UI); then it looks whether the server dropped it, resets
  and comes back. On Linux loopback the kernel's send buffer of the server's socket
  grows to about 4 MB (``tcp_wmem``) before the server's own queue (``--max-send-queue``)
  even starts to fill, so at soak rates these readers are usually not dropped; the
  drop itself is proven by the stalled-reader test in ``tests/test_limits.py``.
* ``resetter``: joins, says a little, and vanishes with an RST (SO_LINGER 0).
* ``bad``: sends one bad input (bad headers, oversized frames, broken UTF-8 or JSON,
  half frames, random bytes, ...) and records what the server answered and whether it
  closed the connection.

A few ``checker`` clients (spread over the workers) stay connected the whole time,
chat with ids and decode everything. At the end each checker's acknowledged lines must
have reached every other checker exactly once, in seq order.

Every ``--interval`` seconds the script samples the server process (threads, open file
descriptors, RSS from ``/proc/<pid>``) and the deliveries (message frames the clients
received) and prints a row; at the end a summary and the checks. Exit status 0 when
every check passed. Every loop is bounded; the script stops by itself.
"""

from __future__ import annotations

import argparse
import collections
import heapq
import json
import multiprocessing
import os
import queue
import random
import selectors
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import protocol  # noqa: E402
from lanchat.dialects import detect  # noqa: E402

CHECKERS = 4
CHECKER_SAY_INTERVAL = 1.0  # mean seconds between a checker's lines
ROLES = ("chatter", "idler", "plain", "slow", "resetter", "bad")
ROLE_WEIGHTS = (40, 18, 10, 8, 10, 14)
MESSAGE_PREFIX = b'{"type":"message"'
PLAIN_ACK = b"Msg received"
GRACE = 4.0               # seconds checkers keep reading after the last line
STATS_EVERY = 1.0         # seconds between a worker's stats reports
SLOW_RCVBUF = 4096

# Every bad input the ``bad`` role sends: (name, bytes, whether to say hello first).
HUGE = protocol.HARD_MAX_FRAME + 1


def _bad_inputs(max_frame: int) -> list:
    frame = protocol.encode_frame
    return [
        ("bad header '+10'", b"+10".ljust(64), True),
        ("bad header '1_0'", b"1_0".ljust(64), False),
        ("bad header '-1'", b"-1".ljust(64), True),
        ("bad header '0x10'", b"0x10".ljust(64), False),
        ("bad header of NUL bytes", b"\x00" * 64, True),
        ("bad header of random bytes", bytes(random.getrandbits(8) | 0x80 for _ in range(64)), False),
        ("bad header: HTTP request", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".ljust(64), False),
        ("bad header: TLS ClientHello", bytes.fromhex("16030100a5010000a10303") + b"\x00" * 53, False),
        ("declared size over 1 MiB", str(HUGE).encode().ljust(64), True),
        ("declared size 10^30", b"1" + b"0" * 30 + b" " * 33, True),
        ("oversized body (discarded)", frame(b"o" * (max_frame + 1)), True),
        ("body not UTF-8", frame(b"\xff\xfe\xc0\xaf"), True),
        ("body not JSON", frame(b"{not json"), True),
        ("JSON that is not an object", frame(b'["hello"]'), True),
        ("JSON without type", frame(b'{"text":"x"}'), True),
        ("unknown type", frame(b'{"type":"launch"}'), True),
        ("say with a number as text", frame(b'{"type":"say","text":42}'), True),
        ("say with a 70-character id", frame(json.dumps({"type": "say", "text": "x", "id": "i" * 70}).encode()), True),
        ("lone surrogate escape", frame(b'{"type":"say","text":"\\ud800"}'), True),
        ("text too long", frame(json.dumps({"type": "say", "text": "t" * 5000}).encode()), True),
        ("empty text", frame(b'{"type":"say","text":"  "}'), True),
        ("deeply nested JSON", frame(b"[" * min(max_frame, 60000)), True),
        ("5000-digit integer", frame(b'{"type":"ping","id":' + b"7" * 5000 + b"}"), True),
        ("huge since in hello", frame(b'{"type":"hello","name":"bigsince","since":1' + b"0" * 40 + b"}"), False),
        ("hello with a bad name", frame(b'{"type":"hello","name":"a b\\u001b"}'), False),
        ("say before hello", frame(b'{"type":"say","text":"early"}'), False),
        ("second hello", frame(b'{"type":"hello","name":"again"}'), True),
        ("unknown command", frame(b'{"type":"say","text":"/frobnicate"}'), True),
        ("random bytes as first frame", frame(bytes(random.getrandbits(8) for _ in range(200))), False),
        ("keepalives only", protocol.KEEPALIVE * 20, True),
        ("truncated frame, then reset", frame(b'{"type":"say","text":"cut here"}')[:80], True),
        ("half header (slowloris)", b"12", True),
    ]


# ----------------------------------------------------------------- the clients

class World:
    """One worker's clients, selector, timers and counters."""

    def __init__(self, worker: int, address, args, end: float):
        self.worker = worker
        self.address = address
        self.args = args
        self.end = end
        self.rng = random.Random(args.seed * 1000 + worker)
        self.selector = selectors.DefaultSelector()
        self.timers: list = []
        self._tick = 0
        self.stats = collections.Counter()
        self.outcomes = collections.defaultdict(collections.Counter)  # bad input -> outcome
        self.leave_reasons = collections.Counter()
        self.latencies: list = []
        self.bad_inputs = _bad_inputs(args.max_frame)
        self.clients: list = []

    def at(self, when: float, client, session: int) -> None:
        """Plan ``client``'s next action; it replaces the one planned before."""
        self._tick += 1
        client.due = self._tick
        heapq.heappush(self.timers, (when, self._tick, client, session))

    def run_timers(self, now: float) -> None:
        while self.timers and self.timers[0][0] <= now:
            _, tick, client, session = heapq.heappop(self.timers)
            if client.session == session and client.due == tick:
                client.on_timer(now)


class Client:
    """One simulated user: a series of sessions, each with a random role."""

    def __init__(self, world: World, index: int, checker: bool = False):
        self.world = world
        self.index = index
        self.checker = checker
        self.base = f"c{index}" if checker else f"u{index}"
        self.session = 0
        self.sock = None
        self.role = None
        self.registered = 0
        self.due = 0
        # Checker records.
        self.join_seq = None
        self.acked: list = []
        self.received: list = []
        self.last_seq = 0
        self.order_ok = True
        self.dropped = None

    # ------------------------------------------------------------ sessions

    def start(self, now: float) -> None:
        world = self.world
        self.session += 1
        self.role = "checker" if self.checker else world.rng.choices(ROLES, ROLE_WEIGHTS)[0]
        world.stats[f"sessions:{self.role}"] += 1
        self.out = bytearray()
        self.decoder = protocol.FrameDecoder(max_body=protocol.HARD_MAX_FRAME)
        self.raw_answers = False  # a bad input that made a dialect answering in text
        self.connected = False
        self.welcomed = False
        self.reading = True
        self.closing = False
        self.pending: dict = {}
        self.users: list = []
        self.answers: list = []
        self.said = 0
        self.lifetime_end = now + world.rng.uniform(20, 90)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if self.role == "slow":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SLOW_RCVBUF)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setblocking(False)
        self.sock = sock
        err = sock.connect_ex(world.address)
        if err not in (0, 115, 36, 10035):  # EINPROGRESS variants
            self.end_session(now, f"connect failed ({os.strerror(err)})")
            return
        self._update_interest(want_write=True)
        world.at(now + 10, self, self.session)  # connect timeout

    def end_session(self, now: float, why: str, how: str = "close") -> None:
        """Close this session's socket (how: close, reset) and plan the next one."""
        world = self.world
        if self.sock is not None:
            if self.registered:
                world.selector.unregister(self.sock)
                self.registered = 0
            try:
                if how == "reset":
                    self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.sock.close()
            except OSError:
                pass
            self.sock = None
        world.stats[f"ended:{why}"] += 1
        if self.checker:
            if now < world.end and self.dropped is None:
                self.dropped = why
            self.session += 1
            return
        self.session += 1
        if now < world.end:
            world.at(now + world.rng.uniform(0.5, 4), self, self.session)

    # ------------------------------------------------------------ I/O

    def _update_interest(self, want_write: bool = False) -> None:
        if self.sock is None:
            return
        events = (selectors.EVENT_READ if self.reading and self.connected else 0) | \
            (selectors.EVENT_WRITE if (self.out or want_write) else 0)
        if events == self.registered:
            return
        if not events:
            self.world.selector.unregister(self.sock)
        elif not self.registered:
            self.world.selector.register(self.sock, events, self)
        else:
            self.world.selector.modify(self.sock, events, self)
        self.registered = events

    def send(self, data: bytes) -> None:
        if self.sock is None:
            return
        self.out += data
        self.flush()

    def flush(self) -> None:
        if not self.connected or not self.out:
            self._update_interest()
            return
        try:
            sent = self.sock.send(self.out)
            del self.out[:sent]
        except (BlockingIOError, InterruptedError):
            pass
        except OSError as exc:
            if self.role == "slow":
                self.world.stats["slow readers dropped by the server"] += 1
            self.end_session(time.monotonic(), f"send failed ({exc.strerror})")
            return
        self._update_interest()

    def on_event(self, mask: int, now: float) -> None:
        if not self.connected:
            err = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                self.end_session(now, f"connect failed ({os.strerror(err)})")
                return
            self.connected = True
            self.world.stats["connects"] += 1
            self.on_connected(now)
            return
        if mask & selectors.EVENT_WRITE:
            self.flush()
            if self.sock is None:
                return
        if mask & selectors.EVENT_READ:
            try:
                data = self.sock.recv(262144)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                self.on_closed(now, f"reset by server ({exc.strerror})")
                return
            if not data:
                self.on_closed(now, "closed by server")
                return
            self.world.stats["bytes_in"] += len(data)
            if self.raw_answers:
                self.answers.append("text " + repr(data[:24].decode("utf-8", "replace")))
                return
            self.decoder.feed(data)
            try:
                for body in self.decoder.events():
                    if not isinstance(body, protocol.Oversized):
                        self.on_body(body, now)
                    if self.sock is None:
                        return
            except protocol.ProtocolError as exc:
                self.world.stats["server sent a bad frame"] += 1
                self.end_session(now, f"bad frame from server: {exc.message}")

    # ------------------------------------------------------------ behaviour

    def on_connected(self, now: float) -> None:
        world = self.world
        role = self.role
        if role == "plain":
            self.send(protocol.encode_frame(f"hello from plain {self.base}"))
            world.at(now + world.rng.expovariate(1 / world.args.say_interval), self, self.session)
            return
        if role == "bad":
            name, data, hello_first = world.rng.choice(world.bad_inputs)
            self.bad_name = name
            world.stats["bad inputs sent"] += 1
            if hello_first:
                self.send(protocol.message_frame({"type": "hello", "name": f"bad{self.index}"}))
            elif detect.decide(data) in (detect.LINE, detect.HTTP):
                # First bytes that make the line dialect or an HTTP request (PROTOCOL.md
                # section 2): the answers are lines or an HTTP 400, not frames.
                self.raw_answers = True
            self.send(data)
            wait = world.args.frame_timeout + 5 if "slowloris" in name else 3.0
            self.bad_deadline = now + wait
            world.at(self.bad_deadline, self, self.session)
            return
        self.send(protocol.message_frame({"type": "hello", "name": self.base}))
        world.at(now + 10, self, self.session)  # welcome timeout, replaced on welcome

    def on_timer(self, now: float) -> None:
        world = self.world
        if self.sock is None:
            if now < world.end and (not self.checker or self.session == 0):
                self.start(now)
            return
        if not self.connected:
            self.end_session(now, "connect timed out")
            return
        role = self.role
        if role == "bad":
            self.finish_bad(now, closed=False)
            return
        if role == "slow" and self.closing:
            world.stats["slow readers not dropped"] += 1
            self.end_session(now, "slow reader reset", how="reset")
            return
        if self.closing:
            self.end_session(now, "left (server did not close after bye)")
            return
        if not self.welcomed and role != "plain":
            self.end_session(now, "no welcome in 10 s")
            return
        if now >= world.end:
            if self.checker and now < world.end + GRACE:
                world.at(world.end + GRACE, self, self.session)  # read what is on the way
            elif self.checker:
                self.send(protocol.message_frame({"type": "bye", "reason": "soak over"}))
                self.closing = True
                world.at(now + 3, self, self.session)
            return
        if role not in ("checker", "slow") and now >= self.lifetime_end:
            self.leave(now)
            return
        rng = world.rng
        interval = world.args.say_interval
        if role in ("chatter", "checker", "resetter"):
            self.chat(now)
            if role == "resetter" and self.said >= rng.randint(1, 4):
                world.stats["resets sent"] += 1
                self.end_session(now, "client reset", how="reset")
                return
            if role == "checker":  # checkers talk more: they are the loss detectors
                interval = min(interval, CHECKER_SAY_INTERVAL)
            world.at(now + rng.expovariate(1 / interval), self, self.session)
        elif role == "idler":
            self.send(protocol.message_frame({"type": "ping", "id": self.said}))
            self.said += 1
            world.at(now + rng.uniform(10, 25), self, self.session)
        elif role == "plain":
            line = rng.choice([f"plain line {self.said}", "/who", f"/nick p{self.index}x{self.said}",
                               "/me reads", f"plain line {self.said} with ünïcode ✓"])
            self.said += 1
            self.send(protocol.encode_frame(line))
            world.at(now + rng.expovariate(1 / interval), self, self.session)
        elif role == "slow":
            if self.reading:
                # Stop reading (a frozen UI): the kernel buffers fill, then the server's
                # queue. It still pings, so only the send queue limit can drop it.
                self.reading = False
                self._update_interest()
                world.stats["slow readers stalled"] += 1
                self.stall_end = now + rng.uniform(40, 120)
                world.at(min(now + 15, self.stall_end), self, self.session)
            elif now < self.stall_end:
                self.send(protocol.message_frame({"type": "ping", "id": "still here"}))
                if self.sock is not None:
                    world.at(min(now + 15, self.stall_end), self, self.session)
            else:
                # Read again for a moment: did the server drop us meanwhile? Then go.
                self.reading = True
                self.closing = True
                self._update_interest()
                world.at(now + 3, self, self.session)

    def chat(self, now: float) -> None:
        rng = self.world.rng
        self.said += 1
        msg_id = f"{self.base}-{self.session}-{self.said}"
        if self.role == "checker":
            text = f"{self.base} line {self.said}"
        else:
            pick = rng.random()
            if pick < 0.06:
                text = f"/nick {self.base}n{rng.randint(0, 999)}"
            elif pick < 0.12 and self.users:
                text = f"/msg {rng.choice(self.users)} psst {self.said}"
            elif pick < 0.16:
                text = "/me waves"
            elif pick < 0.18:
                text = "/who"
            elif pick < 0.20:
                self.send(protocol.message_frame({"type": "ping", "id": msg_id}))
                return
            else:
                text = f"{self.base} says {self.said} " + "x" * rng.randint(0, 200)
        self.pending[msg_id] = (now, text)
        self.world.stats["says sent"] += 1
        self.send(protocol.message_frame({"type": "say", "text": text, "id": msg_id}))

    def leave(self, now: float) -> None:
        world = self.world
        how = world.rng.choice(["bye", "bye", "fin", "reset", "close"])
        world.stats[f"left by {how}"] += 1
        if self.role == "plain" and how == "bye":
            self.send(protocol.encode_frame("!DISCONNECT"))
        elif how == "bye":
            self.send(protocol.message_frame({"type": "bye", "reason": "soak"}))
        if how in ("bye", "fin"):
            if how == "fin":
                try:
                    self.sock.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
            self.closing = True
            self.reading = True
            self._update_interest()
            world.at(now + 5, self, self.session)
            return
        self.end_session(now, f"client {how}", how="reset" if how == "reset" else "close")

    def finish_bad(self, now: float, closed: bool) -> None:
        codes = ",".join(sorted(set(self.answers))) or "no answer"
        self.world.outcomes[self.bad_name][f"{codes}; {'closed' if closed else 'stayed open'}"] += 1
        self.end_session(now, "bad input done", how="reset" if not closed else "close")

    def on_closed(self, now: float, why: str) -> None:
        if self.role == "bad":
            self.finish_bad(now, closed=True)
            return
        if self.role == "slow" and self.closing:
            self.world.stats["slow readers dropped by the server"] += 1
        self.end_session(now, "left" if self.closing else why)

    def on_body(self, body: bytes, now: float) -> None:
        world = self.world
        stats = world.stats
        if body.startswith(MESSAGE_PREFIX):
            stats["deliveries"] += 1
            if not self.checker:
                return
        if self.role == "plain":
            if body == PLAIN_ACK:
                stats["plain acks"] += 1
            elif body.startswith(b"error:"):
                stats["plain errors"] += 1
            else:
                stats["deliveries"] += 1
            return
        try:
            message = json.loads(body)
        except ValueError:
            if self.role == "bad":  # it became a plain connection: its answers are lines
                if body == PLAIN_ACK or body.startswith(b"error:"):
                    self.answers.append("line " + repr(body[:40].decode("utf-8", "replace")))
            else:
                stats["unreadable frames"] += 1
            return
        kind = message.get("type")
        if kind == "error":
            self.answers.append(message.get("code"))
            stats[f"error:{message.get('code')}"] += 1
            pending = self.pending.pop(message.get("id"), None)
            if self.checker and pending is not None:
                self.dropped = f"line refused: {message}"
            return
        if self.role == "bad":
            if kind not in ("message", "join", "leave", "nick"):
                self.answers.append(kind)
            return
        if kind == "welcome":
            self.welcomed = True
            self.users = [u for u in message.get("users", []) if u != message.get("name")][:50]
            if self.checker:
                self.join_seq = message["seq"]
                self.last_seq = message["seq"]
            world.at(now + world.rng.uniform(0.2, 2), self, self.session)
        elif kind == "ack":
            pending = self.pending.pop(message.get("id"), None)
            if pending is not None:
                stats["acks"] += 1
                world.latencies.append(now - pending[0])
                if self.checker:
                    self.acked.append((message["seq"], pending[1]))
        elif kind == "pong":
            stats["pongs"] += 1
        if self.checker and kind in ("message", "join", "leave", "nick"):
            seq = message.get("seq")
            if not isinstance(seq, int) or seq <= self.last_seq:
                self.order_ok = False
            else:
                self.last_seq = seq
            if kind == "message" and message.get("from", "").startswith("c") \
                    and not message.get("replay"):
                self.received.append((seq, message["from"], message["text"]))
            if kind == "leave" and self.index == 0:
                world.leave_reasons[message.get("reason")] += 1


def worker_main(worker: int, indexes: list, checker_indexes: list, address, args,
                start_at: float, end_at: float, reports) -> None:
    """One worker process: drive ``indexes`` clients until ``end_at`` (+ grace)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Clocks: the parent passes wall times; convert once to monotonic.
    offset = time.monotonic() - time.time()
    start, end = start_at + offset, end_at + offset
    world = World(worker, address, args, end)
    ramp = min(10.0, max(1.0, (end - start) / 6))
    for index in indexes:
        client = Client(world, index, checker=index in checker_indexes)
        world.clients.append(client)
        world.at(start + (0 if client.checker else world.rng.uniform(0.5, ramp)), client, 0)
    next_report = time.monotonic() + STATS_EVERY
    hard_stop = end + GRACE + 6
    ended = False
    while True:
        now = time.monotonic()
        if now >= hard_stop:
            break
        if now >= end and not ended:
            ended = True  # everyone but the checkers goes now; the checkers drain
            for client in world.clients:
                if not client.checker and client.sock is not None:
                    client.end_session(now, "soak over")
                elif client.checker:
                    world.at(end + GRACE, client, client.session)
        if ended and all(c.sock is None for c in world.clients):
            break
        timeout = 0.2
        if world.timers:
            timeout = max(0.0, min(timeout, world.timers[0][0] - now))
        for key, mask in world.selector.select(timeout):
            client = key.data
            if client.sock is not None and key.fileobj is client.sock:
                client.on_event(mask, time.monotonic())
        world.run_timers(time.monotonic())
        if now >= next_report:
            next_report = now + STATS_EVERY
            world.stats["live sockets"] = sum(1 for c in world.clients if c.sock is not None)
            reports.put(("stats", worker, dict(world.stats)))
    world.stats["live sockets"] = 0
    checkers = {c.base: {"join_seq": c.join_seq, "acked": c.acked, "received": c.received,
                         "order_ok": c.order_ok, "dropped": c.dropped}
                for c in world.clients if c.checker}
    latencies = sorted(world.latencies)
    reports.put(("final", worker, {
        "stats": dict(world.stats), "checkers": checkers,
        "outcomes": {k: dict(v) for k, v in world.outcomes.items()},
        "leave_reasons": dict(world.leave_reasons),
        "latencies": latencies[:: max(1, len(latencies) // 2000)]}))


# ----------------------------------------------------------------- the server

def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def sample(pid: int) -> dict:
    """Threads, open fds and RSS (MiB) of a process, from /proc."""
    fields = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return {"threads": int(fields["Threads"]), "fds": len(os.listdir(f"/proc/{pid}/fd")),
            "rss_mb": int(fields["VmRSS"].split()[0]) / 1024}


def wait_listening(address, proc, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited early with {proc.returncode}")
        try:
            socket.create_connection(address, timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("the server did not start listening in time")


# ----------------------------------------------------------------- checks

def check_checkers(checkers: dict) -> list:
    """Every checker's acked lines reached every other checker once, in seq order."""
    problems = []
    for name, mine in checkers.items():
        if mine["join_seq"] is None:
            problems.append(f"{name} never joined")
            continue
        if mine["dropped"]:
            problems.append(f"{name} was dropped: {mine['dropped']}")
        if not mine["order_ok"]:
            problems.append(f"{name} saw seqs out of order or twice")
        for other, theirs in checkers.items():
            if other == name or theirs["join_seq"] is None:
                continue
            expected = sorted((seq, text) for seq, text in map(tuple, mine["acked"])
                              if seq > theirs["join_seq"])
            got = [(seq, text) for seq, sender, text in theirs["received"] if sender == name]
            if got != expected:
                missing = sorted(set(expected) - set(got))
                problems.append(f"{other} got {len(got)} of {name}'s {len(expected)} acked lines"
                                f" (missing {missing[:3]}, duplicates {len(got) - len(set(got))})")
    return problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--clients", type=int, default=300, help="simulated clients")
    parser.add_argument("--minutes", type=float, default=3.0, help="how long the load runs")
    parser.add_argument("--seconds", type=float, default=None, help="overrides --minutes")
    parser.add_argument("--workers", type=int, default=2, help="client processes")
    parser.add_argument("--interval", type=float, default=10.0, help="seconds between samples")
    parser.add_argument("--say-interval", type=float, default=8.0,
                        help="mean seconds between one chatter's lines")
    parser.add_argument("--seed", type=int, default=1, help="random seed")
    parser.add_argument("--max-frame", type=int, default=protocol.DEFAULT_MAX_FRAME,
                        help="the server's --max-frame-bytes")
    parser.add_argument("--frame-timeout", type=float, default=10.0, help="the server's --frame-timeout")
    parser.add_argument("--max-send-queue", type=int, default=65536,
                        help="the server's --max-send-queue (small, so stalled readers are dropped)")
    parser.add_argument("--rate", type=float, default=0.0, help="the server's --rate")
    parser.add_argument("--json", metavar="FILE", help="also write samples and summary as JSON")
    args = parser.parse_args(argv)
    duration = args.seconds if args.seconds is not None else args.minutes * 60
    random.seed(args.seed)

    tmp = tempfile.mkdtemp(prefix="chat-soak-")
    port = free_port()
    address = ("127.0.0.1", port)
    log_path = os.path.join(tmp, "server.log")
    command = [sys.executable, os.path.join(ROOT, "server.py"), "--host", "127.0.0.1",
               "--port", str(port), "--db", os.path.join(tmp, "soak.db"), "--rate", str(args.rate),
               "--max-per-ip", "100000", "--max-clients", str(max(1000, args.clients * 2)),
               "--max-frame-bytes", str(args.max_frame), "--frame-timeout", str(args.frame_timeout),
               "--idle-timeout", "60", "--max-send-queue", str(args.max_send_queue),
               # Its plain clients count replies one frame each (v1's framing).
               "--plain-replies", "framed", "--log-level", "WARNING"]
    with open(log_path, "w") as log_file:
        server = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT)
    try:
        wait_listening(address, server)
        return run(args, duration, address, server, log_path, tmp)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(5)


def run(args, duration: float, address, server, log_path: str, tmp: str) -> int:
    pid = server.pid
    print(f"soak: {args.clients} clients ({CHECKERS} checkers) in {args.workers} processes for "
          f"{duration:.0f} s against server pid {pid} on {address[0]}:{address[1]} "
          f"(data in {tmp})", flush=True)
    context = multiprocessing.get_context("fork")
    reports = context.Queue()
    indexes = list(range(args.clients))
    checker_indexes = set(range(min(CHECKERS, args.clients)))
    start_at = time.time() + 0.5
    end_at = start_at + duration
    workers = []
    for worker in range(args.workers):
        mine = indexes[worker::args.workers]
        proc = context.Process(target=worker_main, args=(worker, mine, checker_indexes, address, args,
                                                          start_at, end_at, reports), daemon=True)
        proc.start()
        workers.append(proc)

    latest = {w: {} for w in range(args.workers)}
    finals = {}
    samples = []
    header = (f"{'t(s)':>6} {'clients':>7} {'threads':>7} {'fds':>6} {'RSS MiB':>8} "
              f"{'deliveries':>10} {'deliv/s':>8} {'acks':>7} {'errors':>6}")
    print(header, flush=True)

    def totals() -> collections.Counter:
        total = collections.Counter()
        for stats in latest.values():
            total.update(stats)
        return total

    def take_sample(t: float) -> None:
        total = totals()
        row = {"t": round(t, 1), "clients": total["live sockets"], **sample(pid),
               "deliveries": total["deliveries"], "acks": total["acks"],
               "errors": sum(v for k, v in total.items() if k.startswith("error:"))}
        previous = samples[-1] if samples else {"t": 0.0, "deliveries": 0}
        span = row["t"] - previous["t"]
        row["deliv_per_s"] = round((row["deliveries"] - previous["deliveries"]) / span, 1) if span > 0 else 0
        samples.append(row)
        print(f"{row['t']:>6.0f} {row['clients']:>7} {row['threads']:>7} {row['fds']:>6} "
              f"{row['rss_mb']:>8.1f} {row['deliveries']:>10} {row['deliv_per_s']:>8.0f} "
              f"{row['acks']:>7} {row['errors']:>6}", flush=True)

    began = time.time()
    take_sample(0.0)
    next_sample = began + args.interval
    hard_stop = end_at + GRACE + 20
    while len(finals) < len(workers) and time.time() < hard_stop:
        try:
            kind, worker, payload = reports.get(timeout=0.5)
        except queue.Empty:
            kind = None
        if kind == "stats":
            latest[worker] = payload
        elif kind == "final":
            finals[worker] = payload
            latest[worker] = payload["stats"]
        if server.poll() is not None:
            print(f"the server died with {server.returncode}", flush=True)
            break
        if time.time() >= next_sample and time.time() < end_at + 1:
            take_sample(time.time() - began)
            next_sample += args.interval
    for proc in workers:
        proc.join(5)
        if proc.is_alive():
            proc.terminate()

    # After every client closed: what does the idle server hold now?
    settle_deadline = time.monotonic() + 15
    while server.poll() is None and time.monotonic() < settle_deadline:
        now = sample(pid)
        if now["threads"] <= samples[0]["threads"] and now["fds"] <= samples[0]["fds"]:
            break
        time.sleep(0.2)
    idle = sample(pid) if server.poll() is None else None
    take_sample(time.time() - began)

    server.send_signal(signal.SIGTERM)
    try:
        exit_code = server.wait(15)
    except subprocess.TimeoutExpired:
        exit_code = None

    total = totals()
    checkers = {}
    outcomes = collections.defaultdict(collections.Counter)
    leave_reasons = collections.Counter()
    latencies = []
    for final in finals.values():
        checkers.update(final["checkers"])
        for name, counts in final["outcomes"].items():
            outcomes[name].update(counts)
        leave_reasons.update(final["leave_reasons"])
        latencies.extend(final["latencies"])
    latencies.sort()
    with open(log_path) as log_file:
        server_log = log_file.read()
    crashes = [line for line in server_log.splitlines()
               if "unexpected error" in line or " ERROR " in line or "Traceback" in line]

    problems = check_checkers(checkers)
    if len(finals) < len(workers):
        problems.append(f"only {len(finals)} of {len(workers)} workers reported")
    if exit_code != 0:
        problems.append(f"the server exited with {exit_code} on SIGTERM")
    if crashes:
        problems.append(f"the server logged {len(crashes)} errors, first: {crashes[0]}")
    if total["server sent a bad frame"]:
        problems.append("the server sent malformed frames")
    live = samples[1:-1] or samples
    if idle is not None and (idle["threads"] > samples[0]["threads"] or idle["fds"] > samples[0]["fds"]):
        problems.append(f"after all clients left the server holds {idle['threads']} threads and "
                        f"{idle['fds']} fds (at start {samples[0]['threads']} and {samples[0]['fds']})")

    def pct(p):
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000 if latencies else 0

    print("\nsummary")
    for key in ("threads", "fds", "rss_mb"):
        values = [s[key] for s in samples]
        print(f"  {key:8} first {values[0]:>7g}  peak {max(values):>7g}  last {values[-1]:>7g}")
    if idle is not None:
        print(f"  idle after the soak: {idle['threads']} threads, {idle['fds']} fds, "
              f"{idle['rss_mb']:.1f} MiB")
    rates = [s["deliv_per_s"] for s in live[1:]] or [0]
    print(f"  deliveries {total['deliveries']} in {duration:.0f} s: {total['deliveries'] / duration:.0f}/s "
          f"on average, peak {max(rates):.0f}/s over {args.interval:g} s")
    print(f"  lines acked {total['acks']} (of {total['says sent']} sent), ack latency "
          f"p50 {pct(0.5):.1f} ms, p99 {pct(0.99):.1f} ms, max {pct(1.0):.1f} ms")
    print("  behaviour: " + ", ".join(f"{k} {v}" for k, v in sorted(total.items())
                                      if k.startswith(("sessions:", "left by", "resets", "slow",
                                                       "bad inputs", "connects", "plain"))))
    print("  errors the clients got: " + ", ".join(f"{k[6:]} {v}" for k, v in sorted(total.items())
                                                  if k.startswith("error:")))
    print("  leave reasons (seen by c0): " + ", ".join(f"{k} {v}" for k, v in leave_reasons.most_common()))
    print("  bad inputs and what the server did:")
    for name in sorted(outcomes):
        print(f"    {name}: " + "; ".join(f"[{k}] x{v}" for k, v in outcomes[name].most_common()))
    print(f"  server exit status on SIGTERM: {exit_code}")
    acked = {name: len(c["acked"]) for name, c in checkers.items()}
    print(f"  checkers' acked lines: {acked}")
    if args.json:
        with open(args.json, "w") as out:
            json.dump({"samples": samples, "idle": idle, "totals": dict(total),
                       "outcomes": {k: dict(v) for k, v in outcomes.items()},
                       "leave_reasons": dict(leave_reasons), "problems": problems}, out, indent=1)
    if problems:
        print("CHECKS FAILED:")
        for problem in problems:
            print("  - " + problem)
        return 1
    print("checks passed: no acknowledged line lost, duplicated or reordered; no server errors; "
          "threads and fds back to the baseline; clean exit")
    return 0


if __name__ == "__main__":
    sys.exit(main())
