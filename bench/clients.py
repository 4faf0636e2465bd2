"""Load-generator clients: one non-blocking socket each, driven by a worker's selector.

Why regular expressions and not ``json.loads``: on a 2-core machine the load
generator competes with the server for CPU, so a received message costs one header
match and two or three compiled-regex searches over the raw bytes. Every frame is
still cut by its 64-byte header (a header that is not ``digits`` plus spaces is a
framing error that ends the client), and a body must look like a JSON object. Only
the fields the checks need are pulled out: ``type``, ``seq`` and the ``text`` prefix
``b<sender>:<n>:<monotonic ns>:`` that every benchmark message starts with (and,
for a member of a room other than ``#lobby``, the message's ``room``).

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
from typing import Iterable, Optional

HEADER = 64
RECV_BYTES = 1 << 16  # under glibc's mmap threshold: no mmap/munmap per recv
HEADER_RE = re.compile(rb" *([0-9]+) *")
TYPE_RE = re.compile(rb'"type" ?: ?"([a-z_]+)"')
SEQ_RE = re.compile(rb'"seq" ?: ?([0-9]+)')
TEXT_RE = re.compile(rb'"text" ?: ?"b([0-9]+):([0-9]+):([0-9]+):')
NAME_RE = re.compile(rb'"name" ?: ?"([^"\\]*)"')
CODE_RE = re.compile(rb'"code" ?: ?"([a-z_]+)"')
ROOM_RE = re.compile(rb'"room" ?: ?"([^"\\]*)"')
ID_RE = re.compile(rb'"id" ?: ?"([^"\\]*)"')
REPLAY_RE = re.compile(rb'"replay" ?: ?true')
LOBBY = b"#lobby"
JOIN_ID = "join"  # the id of a member's ``/join #room`` say
# Event types that carry the room's one seq order (PROTOCOL.md section 4).
ORDERED_TYPES = frozenset({b"message", b"join", b"leave", b"nick"})
# What an idle client counts in its raw stream: the servers write compact JSON.
JOIN_MARK = b'"type":"join"'
LEAVE_MARK = b'"type":"leave"'
# A crowded room's joins and leaves, one notice per batch (docs/protocol.md, "Crowded
# rooms"): its "users" is the room's size after them.
CROWD_MARK = b'{"type":"crowd"'
CROWD_USERS_RE = re.compile(rb'\{"type":"crowd","room":"[^"]*","seq":\d+,"users":(\d+)[,}]')
CROWD_HEAD = 128  # bytes that always hold a notice's head up to its "users"
MAX_PROBLEMS = 5  # problem descriptions kept per client (the counts are complete)


def frame(body: bytes) -> bytes:
    """``body`` with its 64-byte ASCII length header."""
    return str(len(body)).encode("ascii").ljust(HEADER) + body


def hello_frame(name: str) -> bytes:
    """The structured client's first frame."""
    return frame(json.dumps({"type": "hello", "name": name}).encode())


def say_frame(sender: int, n: int, text_len: int, marker: str = "",
              room: Optional[str] = None) -> bytes:
    """A ``say`` whose text is ``b<sender>:<n>:<now ns>:`` (+ marker), padded to text_len;
    to ``room`` when one is given (PROTOCOL.md section 3), else to ``#lobby``."""
    text = f"b{sender}:{n}:{time.monotonic_ns()}:{marker}".ljust(text_len, "x")
    if room is None:
        return frame(b'{"type":"say","text":"%s","id":"%d"}' % (text.encode(), n))
    return frame(b'{"type":"say","text":"%s","id":"%d","room":"%s"}'
                 % (text.encode(), n, room.encode()))


def join_room_frame(room: str) -> bytes:
    """The ``say`` of ``/join <room>`` with the id ``JOIN_ID`` (PROTOCOL.md section 8)."""
    return frame(json.dumps({"type": "say", "text": f"/join {room}", "id": JOIN_ID}).encode())


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
        self.out += self.hello()

    def hello(self) -> bytes:
        """What goes out first, once connected (other dialects override it)."""
        return hello_frame(self.name)

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
        room: a room other than ``#lobby`` to join once welcomed (``/join``, id
            ``JOIN_ID``) and to send to; ``room_size`` its members, this one included.
        peers: the senders whose messages this one must get (default: every other
            sender); a message from anyone else, or naming another room, is a
            ``wrong_room`` problem.

    Completeness: a bitmap per peer tells new from duplicate; a delivery whose n is
    not above the last one from that sender is out of order; every ordered event's
    seq must be above the previous one. ``remaining`` counts deliveries and acks
    still owed to this client; ``expects`` says whether the workload waits for them.

    With a room, the member counts as settled (``settled``) once it has its
    ``joined``, the room's history (``replay: true`` events, counted as ``replayed``
    and not checked), the ack of its ``/join`` (not counted in ``acks``) and a
    ``join`` of the room from every member that came after it.
    """

    expects = True

    def __init__(self, name: str, index: int, senders: int, per_sender: int,
                 send_count: int = 0, interval_ns: int = 0, phase_ns: int = 0,
                 window: int = 0, strict: bool = False, text_len: int = 100,
                 latency: bool = False, rcvbuf: Optional[int] = None,
                 room: Optional[str] = None, room_size: int = 0,
                 peers: Optional[Iterable[int]] = None):
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
        self.peers = sorted(set(range(senders)) - {index} if peers is None else peers)
        self.seen: list = [None] * senders
        for peer in self.peers:
            self.seen[peer] = bytearray(per_sender)
        self.last_n = [-1] * senders
        self.expected_deliveries = len(self.peers) * per_sender
        self.remaining = self.expected_deliveries + send_count
        self.room = room
        self.room_key = room.encode() if room else None
        self.room_size = room_size
        self.room_users = 0          # from ``joined``
        self.room_acked = False      # the /join's ack came
        self.in_history = False      # between ``joined`` and the /join's ack
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
                       "other_messages": 0, "bytes": 0, "room_joins": 0, "wrong_room": 0,
                       "replayed": 0}
        self.left: list = []
        self.problems: list = []

    @property
    def members_seen(self) -> int:
        """Members this client knows of: welcome's users + joins - leaves."""
        return self.users + self.counts["joins"] - self.counts["leaves"]

    def settled(self, total: int) -> bool:
        """Whether every join has arrived: ``total`` in ``#lobby`` and, with a room,
        the room entered (joined, history, ack) and all ``room_size`` members in it."""
        if self.members_seen < total:
            return False
        return self.room is None or (self.room_acked and self.room_users
                                     + self.counts["room_joins"] >= self.room_size)

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
            self.out += b"".join(self.say(n) for n in range(self.sent, allowed))
            self.sent = allowed
            self.on_writable()

    def send_due(self, now_ns: int) -> None:
        """Paced sending: queue every message that is due by ``now_ns``."""
        while self.next_due_ns is not None and self.next_due_ns <= now_ns:
            self.out += self.say(self.sent)
            self.sent += 1
            self.next_due_ns = (None if self.sent >= self.send_count
                                else self.next_due_ns + self.interval_ns)
        if self.out:
            self.on_writable()

    def say(self, n: int) -> bytes:
        """The bytes of this member's message ``n`` (other dialects override it)."""
        return say_frame(self.index, n, self.text_len, room=self.room)

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
        if self.in_history and REPLAY_RE.search(buf, start, stop):
            counts["replayed"] += 1  # the room's history: older seqs, not deliveries
            return
        if kind in ORDERED_TYPES:
            seq_m = SEQ_RE.search(buf, start, stop)
            seq = int(seq_m.group(1)) if seq_m else -1
            if seq <= self.last_seq:
                self.problem("seq_regressions", f"seq {seq} after {self.last_seq}")
            self.last_seq = seq
        if kind == b"message":
            self.on_message(buf, start, stop, now_ns)
        elif kind == b"ack":
            if self.room is not None and not self.room_acked:
                id_m = ID_RE.search(buf, start, stop)
                if id_m and id_m.group(1) == JOIN_ID.encode():
                    self.room_acked = True
                    self.in_history = False
                    return
            counts["acks"] += 1
            if counts["acks"] <= self.send_count:
                self.remaining -= 1
                self.last_ns = now_ns
        elif kind == b"join":
            self.on_join(buf, start, stop)
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
            if self.room is not None:
                self.out += join_room_frame(self.room)
                if self.sock is not None:  # (checker tests feed frames without one)
                    self.on_writable()
        elif kind == b"joined":
            joined = json.loads(buf[start:stop])
            self.room_users = len((joined.get("room") or {}).get("users") or ())
            self.in_history = True
        elif kind == b"error":
            code_m = CODE_RE.search(buf, start, stop)
            self.problem("errors", code_m.group(1).decode() if code_m else "?")

    def on_join(self, buf: bytearray, start: int, stop: int) -> None:
        """A ``join``: of ``#lobby`` (or of the one room, without rooms) or of our room."""
        if self.room is None:
            self.counts["joins"] += 1
            return
        m = ROOM_RE.search(buf, start, stop)
        room = m.group(1) if m else LOBBY
        if room == LOBBY:
            self.counts["joins"] += 1
        elif room == self.room_key:
            self.counts["room_joins"] += 1
        else:
            self.problem("wrong_room", f"join of {room.decode(errors='replace')}")

    def on_message(self, buf: bytearray, start: int, stop: int, now_ns: int) -> None:
        m = TEXT_RE.search(buf, start, stop)
        if m is None:
            self.counts["other_messages"] += 1
            return
        sender, n = int(m.group(1)), int(m.group(2))
        if sender >= self.senders or n >= self.per_sender or sender == self.index:
            self.problem("other_messages", f"b{sender}:{n}")
            return
        if self.room_key is not None:
            room_m = ROOM_RE.search(buf, start, stop)
            if room_m is None or room_m.group(1) != self.room_key:
                where = room_m.group(1).decode(errors="replace") if room_m else "no room"
                self.problem("wrong_room", f"b{sender}:{n} in {where}")
                return
        self.deliver(sender, n, int(m.group(3)), now_ns)

    def deliver(self, sender: int, n: int, sent_ns: int, now_ns: int) -> None:
        """Account for message ``n`` of ``sender`` (sent at ``sent_ns``) arriving now."""
        seen = self.seen[sender]
        if seen is None:
            self.problem("wrong_room", f"b{sender}:{n} from outside {self.room or 'the room'}")
            return
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
            self.latencies.append(now_ns - sent_ns)

    def missing(self) -> int:
        """Deliveries owed to this client that never came."""
        return sum(self.per_sender - self.seen[peer].count(1) for peer in self.peers)


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
    of frames, too many to cut one by one in Python). A ``crowd`` notice's ``users``
    (the room's size) replaces what was counted before it.
    """

    def __init__(self, name: str, marker: bytes):
        super().__init__(name)
        self.marker = marker
        self.keep = max(len(marker), len(JOIN_MARK), len(LEAVE_MARK), len(CROWD_MARK)) - 1
        self.head = b""  # a crowd notice's head cut short by the end of a read
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

    def settled(self, total: int) -> bool:
        """Whether the join fan-out is over for this client: it knows of ``total``."""
        return self.members_seen >= total

    def on_data(self, data: bytes, now_ns: int) -> None:
        if not self.welcomed:
            self.buf += data
            data = self._until_welcome(now_ns)
            if not data:
                return
        # Count only marks that end in the new data: one may straddle the tail.
        chunk = self.head + data if self.head else self.tail + data
        carried = 0 if self.head else len(self.tail)
        self.head = b""
        self._count(chunk, carried)
        if not self.marker_ns and chunk.find(self.marker) >= 0:
            self.marker_ns = now_ns
        self.tail = chunk[-self.keep:]

    def _count(self, chunk: bytes, carried: int) -> None:
        """Count the joins and leaves ending after ``carried``, in order with the crowd
        notices (each one's size replaces the count so far)."""
        join_from = max(0, carried - len(JOIN_MARK) + 1)
        leave_from = max(0, carried - len(LEAVE_MARK) + 1)
        start = max(0, carried - len(CROWD_MARK) + 1)
        while True:
            at = chunk.find(CROWD_MARK, start)
            stop = len(chunk) if at < 0 else at
            self.joins += chunk.count(JOIN_MARK, join_from, stop)
            self.leaves += chunk.count(LEAVE_MARK, leave_from, stop)
            if at < 0:
                return
            head = CROWD_USERS_RE.match(chunk, at)
            if head is None:
                if len(chunk) - at < CROWD_HEAD:  # the rest comes with the next read
                    self.head = bytes(chunk[at:])
                else:
                    self.fail("a crowd notice without users")
                return
            self.users, self.joins, self.leaves = int(head.group(1)), 0, 0
            start = join_from = leave_from = head.end()

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
