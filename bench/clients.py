"""Load-generator clients: one non-blocking socket each, driven by a worker's selector.

Why regular expressions and not ``json.loads``: on a 2-core machine the load
generator competes with the server for CPU, so a received message costs one header
match and two or three compiled-regex searches over the raw bytes. Every frame is
still cut by its 64-byte header (a header that is not ``digits`` plus spaces is a
framing error that ends the client), and a body must look like a JSON object. Only
the fields the checks need are pulled out: ``type``, ``seq`` and the ``text`` prefix
``b<sender>:<n>:<monotonic ns>:`` that every benchmark message starts with.

Nothing here imports the project: the load generator must not change when the server
code does, and it drives the baselines in ``bench/baselines`` the same way.
"""

from __future__ import annotations

import array
import errno
import json
import re
import select
import socket
import time
from typing import Optional

HEADER = 64
RECV_BYTES = 1 << 16  # under glibc's mmap threshold: no mmap/munmap per recv
HEADER_RE = re.compile(rb" *([0-9]+) *")
TYPE_RE = re.compile(rb'"type" ?: ?"([a-z_]+)"')
SEQ_RE = re.compile(rb'"seq" ?: ?([0-9]+)')
TEXT_RE = re.compile(rb'"text" ?: ?"b([0-9]+):([0-9]+):([0-9]+):')
NAME_RE = re.compile(rb'"name" ?: ?"([^"\\]*)"')
CODE_RE = re.compile(rb'"code" ?: ?"([a-z_]+)"')
# Event types that carry the room's one seq order (PROTOCOL.md section 4).
ORDERED_TYPES = frozenset({b"message", b"join", b"leave", b"nick"})
# What an idle client counts in its raw stream: the servers write compact JSON.
JOIN_MARK = b'"type":"join"'
LEAVE_MARK = b'"type":"leave"'
MAX_PROBLEMS = 5  # problem descriptions kept per client (the counts are complete)


def frame(body: bytes) -> bytes:
    """``body`` with its 64-byte ASCII length header."""
    return str(len(body)).encode("ascii").ljust(HEADER) + body


def hello_frame(name: str) -> bytes:
    """The structured client's first frame."""
    return frame(json.dumps({"type": "hello", "name": name}).encode())


def say_frame(sender: int, n: int, text_len: int, marker: str = "") -> bytes:
    """A ``say`` whose text is ``b<sender>:<n>:<now ns>:`` (+ marker), padded to text_len."""
    text = f"b{sender}:{n}:{time.monotonic_ns()}:{marker}".ljust(text_len, "x")
    return frame(b'{"type":"say","text":"%s","id":"%d"}' % (text.encode(), n))


class Client:
    """One socket: connect without blocking, send hello, buffer what must go out.

    Subclasses implement ``on_data(data, now_ns)``. ``closed`` holds why the
    connection ended (``None`` while open); ``welcomed`` is set once the welcome came.
    """

    def __init__(self, name: str, rcvbuf: Optional[int] = None):
        self.name = name
        self.rcvbuf = rcvbuf
        self.sock: Optional[socket.socket] = None
        self.out = bytearray()
        self.connecting = False
        self.welcomed = False
        self.closed: Optional[str] = None
        self.reading = True
        self.started_ns = 0
        self.welcomed_ns = 0

    def connect(self, port: int) -> None:
        """Start a non-blocking connect to 127.0.0.1:port; hello goes once connected."""
        self.started_ns = time.monotonic_ns()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if self.rcvbuf:  # before connect, so the window is small from the start
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.rcvbuf)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setblocking(False)
        self.sock = sock
        err = sock.connect_ex(("127.0.0.1", port))
        if err not in (0, errno.EINPROGRESS):
            self.fail(f"connect: {errno.errorcode.get(err, err)}")
            return
        self.connecting = True
        self.out += hello_frame(self.name)

    @property
    def wants_write(self) -> bool:
        return self.closed is None and (self.connecting or bool(self.out))

    @property
    def wants_read(self) -> bool:
        return self.closed is None and self.reading and not self.connecting

    def on_writable(self) -> None:
        """Finish the connect, then send as much of ``out`` as the socket takes."""
        if self.connecting:
            err = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                self.fail(f"connect: {errno.errorcode.get(err, err)}")
                return
            self.connecting = False
        if self.out:
            try:
                sent = self.sock.send(self.out)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                self.fail(f"send: {errno.errorcode.get(exc.errno, exc)}")
                return
            del self.out[:sent]

    def on_readable(self, limit: int = RECV_BYTES) -> int:
        """Read once (at most ``limit`` bytes) and hand the data on; returns bytes read."""
        try:
            data = self.sock.recv(limit)
        except (BlockingIOError, InterruptedError):
            return 0
        except OSError as exc:
            self.fail("reset" if exc.errno == errno.ECONNRESET
                      else f"recv: {errno.errorcode.get(exc.errno, exc)}")
            return 0
        if not data:
            self.fail("eof")
            return 0
        self.on_data(data, time.monotonic_ns())
        return len(data)

    def on_data(self, data: bytes, now_ns: int) -> None:
        raise NotImplementedError

    def fail(self, why: str) -> None:
        """Mark the connection ended (first reason wins); the worker unregisters it."""
        if self.closed is None:
            self.closed = why
        self.connecting = False

    def close(self) -> None:
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass


class Member(Client):
    """A structured client that checks every frame it gets.

    Args:
        name: its name; ``index`` its sender number (``b<index>:`` in its texts).
        senders: how many clients send (indices 0..senders-1), ``per_sender`` each.
        send_count: how many messages this one sends (0: none).
        interval_ns, phase_ns: 0 for a burst; otherwise message k is due at
            go + phase + k * interval.
        window: in a burst, at most this many unacknowledged messages (0: send all
            at once, never wait for acks).
        strict: also ``json.loads`` every body (the slow reader: few frames).
        text_len: message text length.
        latency: record send -> receive nanoseconds for every delivery.

    Completeness: a bitmap per sender tells new from duplicate; a delivery whose n is
    not above the last one from that sender is out of order; every ordered event's
    seq must be above the previous one. ``remaining`` counts deliveries and acks
    still owed to this client; ``expects`` says whether the workload waits for them.
    """

    expects = True

    def __init__(self, name: str, index: int, senders: int, per_sender: int,
                 send_count: int = 0, interval_ns: int = 0, phase_ns: int = 0,
                 window: int = 0, strict: bool = False, text_len: int = 100,
                 latency: bool = False, rcvbuf: Optional[int] = None):
        super().__init__(name, rcvbuf)
        self.index = index
        self.senders = senders
        self.per_sender = per_sender
        self.send_count = send_count
        self.interval_ns = interval_ns
        self.phase_ns = phase_ns
        self.window = window
        self.strict = strict
        self.text_len = text_len
        self.buf = bytearray()
        self.seen = [bytearray(per_sender) for _ in range(senders)]
        self.last_n = [-1] * senders
        from_others = senders - (1 if index < senders else 0)
        self.remaining = from_others * per_sender + send_count
        self.latencies = array.array("q") if latency else None
        self.sent = 0
        self.sending = False
        self.next_due_ns: Optional[int] = None
        self.last_ns = 0
        self.last_seq = -1
        self.users = 0
        self.counts = {"frames": 0, "delivered": 0, "duplicates": 0, "out_of_order": 0,
                       "seq_regressions": 0, "acks": 0, "errors": 0, "joins": 0,
                       "leaves": 0, "bad_bodies": 0, "framing_errors": 0,
                       "other_messages": 0, "bytes": 0}
        self.left: list = []
        self.problems: list = []

    @property
    def members_seen(self) -> int:
        """Members this client knows of: welcome's users + joins - leaves."""
        return self.users + self.counts["joins"] - self.counts["leaves"]

    def start_sending(self, go_ns: int) -> None:
        """Queue the burst (or its first window), or schedule the first paced message."""
        if not self.send_count:
            return
        if self.interval_ns:
            self.next_due_ns = go_ns + self.phase_ns
        else:
            self.sending = True
            self._top_up()

    def _top_up(self) -> None:
        """Burst: queue what the window allows (everything without a window) and send."""
        allowed = (min(self.send_count, self.counts["acks"] + self.window) if self.window
                   else self.send_count)
        if allowed > self.sent:
            self.out += b"".join(say_frame(self.index, n, self.text_len)
                                 for n in range(self.sent, allowed))
            self.sent = allowed
            self.on_writable()

    def send_due(self, now_ns: int) -> None:
        """Paced sending: queue every message that is due by ``now_ns``."""
        while self.next_due_ns is not None and self.next_due_ns <= now_ns:
            self.out += say_frame(self.index, self.sent, self.text_len)
            self.sent += 1
            self.next_due_ns = (None if self.sent >= self.send_count
                                else self.next_due_ns + self.interval_ns)
        if self.out:
            self.on_writable()

    def problem(self, kind: str, detail: str) -> None:
        self.counts[kind] += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(f"{self.name}: {kind}: {detail}")

    def on_data(self, data: bytes, now_ns: int) -> None:
        if self.counts["framing_errors"]:
            return
        self.counts["bytes"] += len(data)
        buf = self.buf
        buf += data
        pos, end = 0, len(buf)
        while end - pos >= HEADER:
            m = HEADER_RE.fullmatch(buf, pos, pos + HEADER)
            if m is None:
                self.problem("framing_errors", f"bad header {bytes(buf[pos:pos + HEADER])!r}")
                return
            start = pos + HEADER
            stop = start + int(m.group(1))
            if stop > end:
                break
            pos = stop
            if stop > start:
                self.on_body(buf, start, stop, now_ns)
        if pos:
            del buf[:pos]
        if self.window and self.sending:
            self._top_up()

    def on_body(self, buf: bytearray, start: int, stop: int, now_ns: int) -> None:
        """Check one body (``buf[start:stop]``) and account for it."""
        counts = self.counts
        counts["frames"] += 1
        if buf[start] != 0x7B or buf[stop - 1] != 0x7D:  # { ... }
            self.problem("bad_bodies", repr(bytes(buf[start:start + 80])))
            return
        if self.strict:
            try:
                json.loads(buf[start:stop])
            except ValueError as exc:
                self.problem("bad_bodies", f"not JSON ({exc})")
                return
        m = TYPE_RE.search(buf, start, stop)
        kind = m.group(1) if m else b""
        if kind in ORDERED_TYPES:
            seq_m = SEQ_RE.search(buf, start, stop)
            seq = int(seq_m.group(1)) if seq_m else -1
            if seq <= self.last_seq:
                self.problem("seq_regressions", f"seq {seq} after {self.last_seq}")
            self.last_seq = seq
        if kind == b"message":
            self.on_message(buf, start, stop, now_ns)
        elif kind == b"ack":
            counts["acks"] += 1
            if counts["acks"] <= self.send_count:
                self.remaining -= 1
                self.last_ns = now_ns
        elif kind == b"join":
            counts["joins"] += 1
        elif kind == b"leave":
            counts["leaves"] += 1
            name_m = NAME_RE.search(buf, start, stop)
            self.left.append(name_m.group(1).decode() if name_m else "?")
        elif kind == b"welcome":
            welcome = json.loads(buf[start:stop])
            self.users = len(welcome.get("users") or [welcome.get("name")])
            self.last_seq = max(self.last_seq, welcome.get("seq", -1))
            self.welcomed = True
            self.welcomed_ns = now_ns
        elif kind == b"error":
            code_m = CODE_RE.search(buf, start, stop)
            self.problem("errors", code_m.group(1).decode() if code_m else "?")

    def on_message(self, buf: bytearray, start: int, stop: int, now_ns: int) -> None:
        m = TEXT_RE.search(buf, start, stop)
        if m is None:
            self.counts["other_messages"] += 1
            return
        sender, n = int(m.group(1)), int(m.group(2))
        if sender >= self.senders or n >= self.per_sender or sender == self.index:
            self.problem("other_messages", f"b{sender}:{n}")
            return
        seen = self.seen[sender]
        if seen[n]:
            self.problem("duplicates", f"b{sender}:{n}")
            return
        seen[n] = 1
        if n <= self.last_n[sender]:
            self.problem("out_of_order", f"b{sender}:{n} after {self.last_n[sender]}")
        self.last_n[sender] = n
        self.counts["delivered"] += 1
        self.remaining -= 1
        self.last_ns = now_ns
        if self.latencies is not None:
            self.latencies.append(now_ns - int(m.group(3)))

    def missing(self) -> int:
        """Deliveries owed to this client that never came."""
        return sum(self.per_sender - seen.count(1)
                   for i, seen in enumerate(self.seen) if i != self.index)


class Staller(Member):
    """Joins (reads until its welcome) and then never reads again."""

    expects = False
    draining = False

    def on_data(self, data: bytes, now_ns: int) -> None:
        if not self.draining:
            super().on_data(data, now_ns)

    def on_body(self, buf: bytearray, start: int, stop: int, now_ns: int) -> None:
        super().on_body(buf, start, stop, now_ns)
        if self.welcomed:
            self.reading = False

    def drain(self, quiet_s: float, limit_s: float) -> int:
        """Read what waits (unchecked) until EOF/reset, ``quiet_s`` of silence or ``limit_s``.

        Returns the bytes read; ``closed`` tells whether the server had dropped us.
        """
        self.reading = self.draining = True
        total = 0
        deadline = time.monotonic() + limit_s
        quiet_until = time.monotonic() + quiet_s
        while self.closed is None:
            left = min(deadline, quiet_until) - time.monotonic()
            if left <= 0:
                break
            readable, _, _ = select.select([self.sock], [], [], left)
            if readable:
                got = self.on_readable()
                total += got
                if got:
                    quiet_until = time.monotonic() + quiet_s
        return total


class SlowReader(Member):
    """Reads at ``rate`` bytes/s once welcomed (a token bucket), checking every body.

    The worker calls ``read_paced`` every few milliseconds instead of reading when
    the socket is readable. Every body is also parsed with ``json.loads``.
    """

    expects = False

    def __init__(self, name: str, rate: float, **member_args):
        super().__init__(name, strict=True, **member_args)
        self.rate = rate
        self.tokens = 0.0
        self.last_tick = 0.0

    @property
    def wants_read(self) -> bool:
        return super().wants_read and not self.welcomed

    def read_paced(self, now: float) -> None:
        """Read what the bucket allows since the last call (at most 50 ms' worth)."""
        if not self.welcomed or self.closed is not None:
            return
        if self.last_tick:
            self.tokens = min(self.tokens + (now - self.last_tick) * self.rate,
                              self.rate * 0.05)
        self.last_tick = now
        while self.tokens >= 1 and self.closed is None:
            got = self.on_readable(int(self.tokens))
            if not got:
                return
            self.tokens -= got


class IdleClient(Client):
    """Joins and then only drains: counts joins/leaves and looks for one marker.

    Frames are decoded only up to the welcome; after that the stream is scanned raw
    with ``bytes.count``/``find`` (a join fan-out to thousands of clients is millions
    of frames, too many to cut one by one in Python).
    """

    def __init__(self, name: str, marker: bytes):
        super().__init__(name)
        self.marker = marker
        self.keep = max(len(marker), len(JOIN_MARK), len(LEAVE_MARK)) - 1
        self.buf = bytearray()
        self.tail = b""
        self.users = 0
        self.joins = 0
        self.leaves = 0
        self.marker_ns = 0
        self.error = ""

    @property
    def members_seen(self) -> int:
        return self.users + self.joins - self.leaves

    def on_data(self, data: bytes, now_ns: int) -> None:
        if not self.welcomed:
            self.buf += data
            data = self._until_welcome(now_ns)
            if not data:
                return
        # Count only marks that end in the new data: one may straddle the tail.
        chunk = self.tail + data
        carried = len(self.tail)
        self.joins += chunk.count(JOIN_MARK, max(0, carried - len(JOIN_MARK) + 1))
        self.leaves += chunk.count(LEAVE_MARK, max(0, carried - len(LEAVE_MARK) + 1))
        if not self.marker_ns and chunk.find(self.marker) >= 0:
            self.marker_ns = now_ns
        self.tail = chunk[-self.keep:]

    def _until_welcome(self, now_ns: int) -> bytes:
        """Cut frames until the welcome; returns the bytes after it (raw from then on)."""
        buf = self.buf
        while len(buf) >= HEADER:
            m = HEADER_RE.fullmatch(buf, 0, HEADER)
            if m is None:
                self.fail("bad header before welcome")
                return b""
            stop = HEADER + int(m.group(1))
            if stop > len(buf):
                return b""
            body = bytes(buf[HEADER:stop])
            del buf[:stop]
            kind = TYPE_RE.search(body)
            if kind and kind.group(1) == b"welcome":
                self.users = len(json.loads(body).get("users") or [1])
                self.welcomed = True
                self.welcomed_ns = now_ns
                rest = bytes(buf)
                self.buf = bytearray()
                return rest
            if kind and kind.group(1) == b"error":
                code = CODE_RE.search(body)
                self.error = code.group(1).decode() if code else "?"
        return b""
