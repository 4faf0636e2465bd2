"""The group's journal: the same seams as ``journal.Journal``, with Redis as the store.

Servers started with the same ``--redis`` are one chat (PROTOCOL.md section 11,
docs/cluster.md). The order is one Redis Stream: a seq is taken with ``INCRBY`` under
the room lock (``take_seqs``; so the local state decided with it, a name or a mode,
has its place in the group's order), and each batch is written by one Lua script (``rediswrite``):
``XADD`` to the stream, the event into its room's sorted set (history), the say id
into the session's hash (a say id stored before is not stored twice), the session's
name. Nothing is delivered by the writer: one
reader thread per server does a blocking ``XREAD`` of the stream and delivers every
event in seq order, its own (the callbacks the room gave ``submit``, so acks and
welcomes are made exactly as on one server, after Redis has the event) and the other
servers' (``remote(delivery, event)``: the room applies it and fans it out to its
own sockets), a batch at a time through the room's ``deliver_batch``.

Two servers may take seqs 5 and 6 and write 6 first: the reader holds 6 until 5 has
come. A seq taken by a server that died before writing it never comes; after
``GAP_SECONDS`` the reader goes on without it. Entries without an event (replies)
are delivered right after the last event this server took a seq for, as on one
server they are delivered right after the event submitted before them.

A Redis that comes back empty (no persistence, a flush) would give seqs again that
were delivered: ``take_seqs`` first raises the counter to the highest seq this server
has seen (``_TAKE``), so the group carries on in one increasing order.

If Redis cannot be reached, ``take_seqs`` raises ``StoreUnavailable`` (the line or
join is refused with ``unavailable``), a failed write refuses its lines (not acked),
and the reader retries; each is logged once when it starts failing and once when
it works again.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from functools import partial
from typing import Callable, Optional

import redis

from lanchat.errors import StoreUnavailable
from lanchat.server.journal import Journal
from lanchat.server.redispresence import Breaker, GroupNames
from lanchat.server.redisrelay import Relay
from lanchat.server import rediswrite
from lanchat.server.rediswrite import BatchWriter
from lanchat.server.redishistory import KEY_LOG, KEY_SEQ, RedisHistory

log = logging.getLogger("chat.redis")

GAP_SECONDS = 2.0     # how long the reader waits for a seq taken but not written
READ_BLOCK_MS = 200   # one XREAD's wait (the reader checks for gaps and stopping between)
# Takes seqs, never below ARGV[2] (the highest seq the calling server has seen): a
# Redis restarted without persistence (or flushed) starts its counter at 0 again,
# and every server would drop the events with seqs it has already delivered. Returns
# {last, 1 if the counter was behind and was raised}.
_TAKE = """
local floor = tonumber(ARGV[2])
local behind = 0
if tonumber(redis.call('GET', KEYS[1]) or '0') < floor then
  redis.call('SET', KEYS[1], floor)
  behind = 1
end
return {redis.call('INCRBY', KEYS[1], ARGV[1]), behind}
"""
UNREACHABLE = "the chat's shared store (Redis) cannot be reached now; try again in a moment"


def connect(url: str) -> redis.Redis:
    """A client of ``url`` with bounded waits; ``StoreUnavailable`` if it cannot be used."""
    try:
        client = redis.Redis.from_url(url, decode_responses=True, socket_timeout=3,
                                      socket_connect_timeout=2, health_check_interval=10)
        client.ping()
    except (ValueError, redis.RedisError) as exc:
        raise StoreUnavailable(f"cannot use Redis at {url}: {exc}") from None
    return client


def _event(body: str) -> dict:
    """The event of another server's log entry; ``ValueError`` if it is not one."""
    event = json.loads(body)
    if not isinstance(event, dict) or not isinstance(event.get("type"), str):
        raise ValueError("not an event object")
    return event


class _Failing:
    """Logs a failing operation once when it starts failing and once when it works."""

    def __init__(self, what: str):
        self.what = what
        self.down = False

    def failed(self, exc: Exception) -> None:
        if not self.down:
            self.down = True
            log.error("%s: Redis cannot be reached (%s); retrying", self.what, exc)

    def worked(self) -> None:
        if self.down:
            self.down = False
            log.warning("%s: Redis is reachable again", self.what)


class RedisJournal(RedisHistory, Journal):
    """A journal on Redis: ``submit``/``submit_rows``/``run_inline`` as ``Journal``'s.

    Args:
        url: ``redis://HOST:PORT/DB``.
        keep: events kept per room (``--history`` plus ``--redis-window``).
    """

    shared = True  # the room takes seqs here (take_seqs), not by counting
    row = staticmethod(rediswrite.row)  # whole events: the group's log holds their JSON

    def __init__(self, url: str, keep: int, server_name: str = "chat"):
        self.path = url
        self.redis = connect(url)
        self.keep = max(1, keep)
        self.origin = secrets.token_hex(8)  # this server's entries in the stream
        self._breaker = Breaker()  # the calls made holding the room lock fail fast
        try:
            self.last_seq = int(self.redis.get(KEY_SEQ) or 0)
            newest = self.redis.xrevrange(KEY_LOG, count=1)
            self.names = GroupNames(self.redis, self.origin, server_name, self.keep * 4,
                                    self._breaker, lambda: self._highest_seen())
            self.relay = Relay(self.redis, self.origin, self._heard)
            self._writer = BatchWriter(self.redis, self.origin, self.keep)
            self._take = self.redis.register_script(_TAKE)
        except redis.RedisError as exc:
            raise StoreUnavailable(f"cannot use Redis at {url}: {exc}") from None
        self._read_from = newest[0][0] if newest else "0-0"
        self._delivered = int(newest[0][1]["s"]) if newest else self.last_seq
        self._last_key = self._delivered   # the last seq this server wrote or took
        self._local: dict = {}   # seq -> [(prepare, deliver)] of this server's entries
        self._gone: set = set()  # this server's seqs whose write failed
        self._unwritten: set = set()  # seqs this server took and has not yet written
        self._taken = self._delivered  # the highest seq this server took
        self._deliver_lock = threading.Lock()  # _delivered, _local, _gone; one batch at a time
        self._lock = threading.Condition()
        self._pending: list = []
        self._committing = False
        self._closing = False
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._commit_loop, name="journal", daemon=True)
        self._reader = threading.Thread(target=self._read_loop, name="redis-reader", daemon=True)
        self._deliver_batch: Callable[[list], None] = lambda actions: None
        self._remote: Callable = lambda delivery, event: None
        self._seq_health = _Failing("taking a seq")
        self._write_health = _Failing("storing events")
        self._read_health = _Failing("reading the log")
        self.batches = 0
        self.failed: Optional[str] = None

    def membership_events(self) -> list:
        """``RedisHistory.membership_events`` up to where this server's reader starts."""
        return RedisHistory.membership_events(self, self._read_from)

    def start(self, deliver_batch: Optional[Callable[[list], None]] = None,
              remote: Optional[Callable] = None) -> None:
        """Start the writer and the reader. ``remote(delivery, event)`` delivers an
        event another server stored (run in a batch, like the callbacks)."""
        if deliver_batch is not None:
            self._deliver_batch = deliver_batch
        if remote is not None:
            self._remote = remote
        self._thread.start()
        self._reader.start()
        self.names.start()
        self.relay.start()

    # ------------------------------------------------------------------ seqs

    def take_seqs(self, count: int) -> int:
        """Take ``count`` consecutive seqs of the group's order (room lock held);
        returns the last. Raises ``StoreUnavailable``."""
        if self._breaker.open():
            raise StoreUnavailable(UNREACHABLE)
        try:
            last, behind = self._take(keys=[KEY_SEQ], args=[count, self._highest_seen()])
        except redis.RedisError as exc:
            self._breaker.tripped()
            self._seq_health.failed(exc)
            raise StoreUnavailable(UNREACHABLE) from None
        self._seq_health.worked()
        last = int(last)
        if behind:
            log.error("Redis's seq counter was behind the seqs this server has seen (Redis "
                      "restarted without persistence, or flushed?): raised it, the group goes "
                      "on; the history from before is lost (docs/cluster.md)")
        self._taken = max(self._taken, last)
        self._unwritten.update(range(last - count + 1, last + 1))
        return last

    def _highest_seen(self) -> int:
        # The floor of the next seq: what this server took, wrote or delivered.
        return max(self._taken, self._last_key, self._delivered)

    # ------------------------------------------------------------------ writing

    def _run(self, batch: list) -> None:
        try:
            self._store(batch)
        except Exception:
            log.exception("delivery failed")
        finally:
            with self._lock:
                self._committing = False
                if self._pending or self._closing:
                    self._lock.notify()

    def _store(self, batch: list) -> None:
        # Register each entry's callbacks under the seq they follow, then write the
        # batch; the reader delivers them when that seq comes back from the stream.
        now: list = []
        keys: list = []
        with self._deliver_lock:
            for entry in batch:
                if entry.rows:
                    seqs = [row[0] for row in entry.rows]
                    key = max(seqs)
                    self._last_key = max(self._last_key, key)
                    for seq in seqs:
                        self._local.setdefault(seq, [])
                        self._unwritten.discard(seq)
                    keys.append((entry, seqs))
                else:
                    key = self._last_key
                if entry.deliver is None:
                    continue
                if key <= self._delivered and not entry.rows:
                    now.append((entry.prepare, entry.deliver))
                else:
                    self._local.setdefault(key, []).append((entry.prepare, entry.deliver))
            if now:
                self._deliver_batch(now)
        if not self._write(batch):
            self._refuse(keys)

    def _write(self, batch: list) -> bool:
        # True if stored; a say id stored before (a resend that reached two servers)
        # is not stored again: its entry hears the first seq, its seq is a gap.
        rows = [row for entry in batch for row in entry.rows]
        sessions = [entry.session for entry in batch if entry.session is not None]
        if not rows and not sessions:
            return True
        try:
            repeats = self._writer.write(rows, sessions)
        except redis.RedisError as exc:
            self._write_health.failed(exc)
            self.failed = str(exc)
            return False
        self._write_health.worked()
        self.batches += 1
        if repeats:
            with self._deliver_lock:
                for entry in batch:
                    mine = {seq: first for seq, first in repeats.items()
                            if any(row[0] == seq for row in entry.rows)}
                    if mine and entry.repeated is not None:
                        entry.repeated(mine)
                self._gone.update(repeats)
        return True

    def _refuse(self, keys: list) -> None:
        # The batch was not stored: its lines are refused (not acked), its seqs are
        # gaps the reader steps over, the replies queued behind them go out now.
        actions = []
        with self._deliver_lock:
            for entry, seqs in keys:
                for seq in seqs:
                    self._gone.add(seq)
                    for prepare, deliver in self._local.pop(seq, []):
                        if deliver is entry.deliver:
                            if entry.refused is not None:
                                actions.append((None, entry.refused))
                        else:
                            actions.append((prepare, deliver))
            if actions:
                self._deliver_batch(actions)

    # ------------------------------------------------------------------ reading

    def _read_loop(self) -> None:
        waiting: dict = {}  # seq -> (when it came, origin, event or None if it is ours)
        last_id = self._read_from
        while not self._stopped.is_set():
            try:
                got = self.redis.xread({KEY_LOG: last_id}, count=1000, block=READ_BLOCK_MS)
            except redis.RedisError as exc:
                self._read_health.failed(exc)
                self._stopped.wait(0.5)
                continue
            self._read_health.worked()
            came = time.monotonic()
            for _, entries in got or ():
                for entry_id, fields in entries:
                    last_id = entry_id
                    try:
                        seq = int(fields["s"])
                        origin = fields["o"]
                        event = None if origin == self.origin else _event(fields["e"])
                    except (KeyError, TypeError, ValueError) as exc:
                        # Not written by a server of this version: skipped (a seq it
                        # had is a gap), the reader goes on.
                        log.error("entry %s of the log cannot be read (%r); skipped", entry_id, exc)
                        continue
                    if seq > self._delivered:
                        waiting[seq] = (came, origin, event)
            try:
                self._deliver_ready(waiting)
            except Exception:  # never end the reader: nothing here would be delivered again
                log.exception("delivering from the log failed")

    def _deliver_ready(self, waiting: dict) -> None:
        # Deliver what is next in seq order, stepping over seqs that never came.
        with self._deliver_lock:
            actions: list = []
            while True:
                seq = self._delivered + 1
                if seq in waiting:
                    _, origin, event = waiting.pop(seq)
                    if origin == self.origin:
                        if seq not in self._gone:
                            actions += self._local.pop(seq, [])
                    elif event is not None:
                        actions.append((None, partial(self._remote, event=event)))
                elif seq in self._gone or (
                        waiting and seq not in self._local and seq not in self._unwritten
                        and time.monotonic() - min(
                            came for came, _, _ in waiting.values()) > GAP_SECONDS):
                    if seq not in self._gone:
                        log.warning("seq %d was taken but never stored (a server stopped?); "
                                    "going on without it", seq)
                    actions += self._local.pop(seq, [])
                else:
                    break
                self._gone.discard(seq)
                self._delivered = seq
            if actions:
                self._deliver_batch(actions)

    def _heard(self, event: dict) -> None:
        # Typing or away from another server: delivered between two batches.
        with self._deliver_lock:
            self._deliver_batch([(None, partial(self._remote, event=event))])

    def settled(self, timeout: float) -> bool:
        """Wait until everything this server wrote has been delivered (bounded)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._deliver_lock:
                if self._delivered >= self._last_key:
                    return True
            time.sleep(0.02)
        return False

    def close(self, timeout: float = 5.0) -> None:
        """Store what is queued, deliver it (bounded), stop both threads."""
        self._stop_committer(timeout)
        self.settled(min(timeout, 2.0))
        self._stopped.set()
        if self._reader.is_alive():
            self._reader.join(timeout)
        self.names.stop()
        self.relay.stop()
        self.redis.close()
