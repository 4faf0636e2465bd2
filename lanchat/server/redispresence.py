"""Who is in a group of servers: names unique across the group, servers alive.

Every name in use is a field of one Redis hash (``KEY_NAMES``: name key -> ``[name,
server, session]``), claimed by a Lua script (``claim``) so two ``hello``s for one
name sent at the same moment to two servers never both get it. A claim succeeds if
nobody holds the name, if its holder is the same session (a resume, on any server),
or if the holder's server is dead.

Each server says it is alive with a key that expires (``alive_key``, ``ALIVE_MS``),
set again every ``BEAT_SECONDS`` by its heartbeat thread; one whose key has been
missing for ``GRACE_SECONDS`` (while this server reached Redis) is dead. The same thread looks for
names held by servers whose key has expired and hands them to ``reap``: one Lua
script takes them out and stores a ``leave`` (reason ``connection lost``) for each
in the log, with its seq, atomically, so exactly one server does it however many
notice, and every server delivers those leaves like any other event.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from typing import Callable, Optional

import redis

from lanchat.errors import StoreUnavailable
from lanchat.server.redishistory import KEY_LOG, KEY_SEQ, NO_ROOM, room_key

log = logging.getLogger("chat.redis")

KEY_NAMES = "lanchat:names"
ALIVE_MS = 4000       # a server's alive key lasts this long after its last beat
BEAT_SECONDS = 1.0    # how often a server says it is alive and looks for dead ones
# A server is dead once its key has been missing this long while this server could
# reach Redis: after Redis itself was down, every server beats again before any
# decides another is dead.
GRACE_SECONDS = 2.0
UNREACHABLE_NAMES = "the chat's shared store (Redis) cannot be reached now to take a name; " \
    "try again in a moment"
REAPER = "group"      # the origin of the leaves a reap stores (no server's own)
PENDING_MAX = 1000    # names not given back (Redis failing) kept for the heartbeat


class Breaker:
    """The calls made holding the room lock (a seq, a name) fail at once for
    ``BREAK_SECONDS`` after one failed: while Redis stalls, each would otherwise hold
    the lock for a whole socket timeout in turn, and every connection, pong and
    delivery of this server would wait behind them all."""

    BREAK_SECONDS = 1.0

    def __init__(self):
        self._until = 0.0

    def open(self) -> bool:
        return time.monotonic() < self._until

    def tripped(self) -> None:
        self._until = time.monotonic() + self.BREAK_SECONDS


def alive_key(origin: str) -> str:
    return "lanchat:alive:" + origin


_CLAIM = """
local held = redis.call('HGET', KEYS[1], ARGV[1])
if held then
  local holder = cjson.decode(held)
  if holder[3] ~= ARGV[4] and holder[2] ~= ARGV[3]
     and redis.call('EXISTS', 'lanchat:alive:' .. holder[2]) == 1 then
    return 0
  end
  if holder[3] ~= ARGV[4] and holder[2] == ARGV[3] then
    return 0
  end
end
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode({ARGV[2], ARGV[3], ARGV[4]}))
return 1
"""

# Gives a name back if this server holds it for the session, and then, if ARGV[4]
# (a name) is given, stores its leave unless another server holds the name now (the
# person is back there): a leave this server could not store while Redis failed.
# The seq is raised to ARGV[9] first, as ``redisjournal._TAKE`` does.
_RELEASE = """
local held = redis.call('HGET', KEYS[1], ARGV[1])
if held then
  local holder = cjson.decode(held)
  if holder[2] ~= ARGV[2] or holder[3] ~= ARGV[3] then return 0 end
  redis.call('HDEL', KEYS[1], ARGV[1])
end
if ARGV[4] == '' then return 0 end
if tonumber(redis.call('GET', KEYS[2]) or '0') < tonumber(ARGV[9]) then
  redis.call('SET', KEYS[2], ARGV[9])
end
local seq = redis.call('INCR', KEYS[2])
local body = cjson.encode({type = 'leave', seq = seq, ts = tonumber(ARGV[5]),
                           name = ARGV[4], reason = ARGV[6]})
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[8], '*', 's', seq, 'o', ARGV[7], 'e', body)
redis.call('ZADD', KEYS[4], seq, cjson.encode({body, cjson.null, cjson.null, 0, cjson.null, 'leave'}))
return 1
"""

_REAP = """
if redis.call('EXISTS', 'lanchat:alive:' .. ARGV[1]) == 1 then return {} end
local all = redis.call('HGETALL', KEYS[1])
local gone = {}
for i = 1, #all, 2 do
  local ok, holder = pcall(cjson.decode, all[i + 1])
  if ok and type(holder) == 'table' and holder[2] == ARGV[1] then
    redis.call('HDEL', KEYS[1], all[i])
    local seq = redis.call('INCR', KEYS[2])
    local body = cjson.encode({type = 'leave', seq = seq, ts = tonumber(ARGV[2]),
                               name = holder[1], reason = 'connection lost'})
    redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[4], '*', 's', seq, 'o', ARGV[3], 'e', body)
    redis.call('ZADD', KEYS[4], seq,
               cjson.encode({body, cjson.null, cjson.null, 0, cjson.null, 'leave'}))
    table.insert(gone, holder[1])
  end
end
return gone
"""


class GroupNames:
    """The group's names and this server's heartbeat.

    Args:
        client: the journal's Redis client; origin: this server's id in the log;
        server_name: what its alive key says (for a person reading Redis);
        maxlen: the log's approximate length (as the journal trims it).
    """

    def __init__(self, client: redis.Redis, origin: str, server_name: str, maxlen: int,
                 breaker: Breaker, floor: Callable[[], int]):
        self.floor = floor  # the highest seq this server has seen (a leave's seq is above)
        self.redis = client
        self.breaker = breaker
        self.origin = origin
        self.server_name = server_name
        self.maxlen = maxlen
        self._claim = client.register_script(_CLAIM)
        self._release = client.register_script(_RELEASE)
        self._reap = client.register_script(_REAP)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat_loop, name="heartbeat", daemon=True)
        self._failing = False
        self._missing: dict = {}  # origin -> when its alive key was first seen missing
        # (key, session) of names not given back while Redis failed; the heartbeat
        # gives them back once it answers. The lock keeps a retry and a claim of the
        # same name (a resume) from crossing.
        self._pending: deque = deque(maxlen=PENDING_MAX)
        self._pending_lock = threading.Lock()
        self.beat()  # alive before the first claim

    def beat(self) -> None:
        self.redis.set(alive_key(self.origin), self.server_name, px=ALIVE_MS)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop beating; gone from the group at once (its users have left by now)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(3)
        try:
            self.redis.delete(alive_key(self.origin))
        except redis.RedisError:
            pass  # it expires by itself

    def claim(self, key: str, name: str, session: str) -> bool:
        """Take ``name`` (its key) for ``session`` on this server; False if someone
        else in the group has it. Raises ``StoreUnavailable``."""
        if self.breaker.open():
            raise StoreUnavailable(UNREACHABLE_NAMES)
        try:
            with self._pending_lock:
                got = bool(self._claim(keys=[KEY_NAMES], args=[key, name, self.origin, session]))
                if got and any(pending[0] == key for pending in self._pending):
                    self._pending = deque((p for p in self._pending if p[0] != key),
                                          maxlen=PENDING_MAX)
                return got
        except redis.RedisError as exc:
            self.breaker.tripped()
            raise StoreUnavailable(UNREACHABLE_NAMES + f" ({exc})") from None

    def release(self, key: str, session: str, leave: Optional[tuple] = None) -> None:
        """Give ``key`` back, if this server still holds it for ``session``, and store
        ``leave`` (``(name, reason)``) if given: while Redis fails, the heartbeat does
        it once Redis answers (the last ``PENDING_MAX`` kept)."""
        pending = (key, session, leave, time.time())
        if self.breaker.open():
            log.info("could not give the name %s back yet: Redis is failing", key)
            self._pending.append(pending)
            return
        try:
            self._give_back(pending)
        except redis.RedisError as exc:
            self.breaker.tripped()
            log.info("could not give the name %s back yet: %s", key, exc)
            self._pending.append(pending)

    def _give_back(self, pending: tuple) -> None:
        key, session, leave, when = pending
        name, reason = leave or ("", "")
        self._release(keys=[KEY_NAMES, KEY_SEQ, KEY_LOG, room_key(NO_ROOM)],
                      args=[key, self.origin, session, name, when, reason, REAPER,
                            self.maxlen, self.floor()])

    def _release_pending(self) -> None:
        # Heartbeat: the names not given back, oldest first; stops at a failure.
        with self._pending_lock:
            while self._pending:
                self._give_back(self._pending[0])
                self._pending.popleft()

    def holders(self) -> dict:
        """``{name key: (name, origin)}`` of every name in the group."""
        found = {}
        for key, value in self.redis.hgetall(KEY_NAMES).items():
            try:
                holder = json.loads(value)
            except ValueError:
                holder = None
            if isinstance(holder, list) and len(holder) >= 2 and all(
                    isinstance(part, str) for part in holder[:2]):
                found[key] = (holder[0], holder[1])
            else:  # not written by a server of this version: not a name anyone holds
                log.warning("the group's name %r is unreadable (%r); ignored", key, value[:80])
        return found

    def _beat_loop(self) -> None:
        while not self._stop.wait(BEAT_SECONDS):
            try:
                self.beat()
                self._release_pending()
                self._reap_dead()
                if self._failing:
                    self._failing = False
                    log.warning("heartbeat: Redis is reachable again")
            except redis.RedisError as exc:
                self._missing.clear()  # what was seen before the outage does not count
                if not self._failing:
                    self._failing = True
                    log.error("heartbeat: Redis cannot be reached (%s); retrying", exc)
            except Exception:  # never end the heartbeat: the group would reap this server
                log.exception("heartbeat: looking for dead servers failed")

    def _reap_dead(self) -> None:
        origins = {origin for _, origin in self.holders().values() if origin != self.origin}
        now = time.monotonic()
        for origin in list(self._missing):
            if origin not in origins:
                del self._missing[origin]
        for origin in origins:
            if self.redis.exists(alive_key(origin)):
                self._missing.pop(origin, None)
                continue
            if now - self._missing.setdefault(origin, now) < GRACE_SECONDS:
                continue
            gone = self._reap(keys=[KEY_NAMES, KEY_SEQ, KEY_LOG, room_key(NO_ROOM)],
                              args=[origin, time.time(), REAPER, self.maxlen])
            if gone:
                log.warning("a server of the group stopped answering: %d of its users "
                            "left (connection lost)", len(gone))
