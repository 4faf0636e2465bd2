"""Writing one batch of a group's events to Redis: one Lua script, all or none.

For each event the script ``XADD``s it to the log, adds it to its room's sorted set
(and a ``mode`` or ``topic`` to ``KEY_MODES``), and records its say id in the
session's hash (the newest ``IDS_KEPT``, by a companion sorted set); a say id the session already used, on any server of the group, is
not stored again: the script returns its first seq instead, so a resend that reached
two servers is stored once (the journal acks it with that seq). A script runs
atomically, so no other server's write falls inside a batch.
"""

from __future__ import annotations

import json
from typing import Optional

import redis

import protocol

from lanchat.server import redishistory
from lanchat.server.redishistory import (KEY_LOG, KEY_MODES, KEY_SESSIONS, NO_ROOM, ids_key,
                                         ids_order_key, pack, room_key)

IDS_DAYS = 7  # a session's say ids are kept this long after its last line

_WRITE = """
local rows = cjson.decode(ARGV[4])
local repeats = {}
local touched = {}
for _, r in ipairs(rows) do
  local seq, ids, msgid, logged, rkey, packed, moded = r[1], r[2], r[3], r[4], r[5], r[6], r[7]
  local first = false
  if ids ~= cjson.null then
    first = redis.call('HGET', ids, msgid)
    if not first then
      local order = r[8]
      redis.call('HSET', ids, msgid, seq)
      redis.call('ZADD', order, seq, msgid)
      local over = math.min(redis.call('ZCARD', order) - tonumber(ARGV[7]), 1000)  -- unpack's limit
      if over > 0 then
        redis.call('HDEL', ids, unpack(redis.call('ZRANGE', order, 0, over - 1)))
        redis.call('ZREMRANGEBYRANK', order, 0, over - 1)
      end
      redis.call('EXPIRE', ids, ARGV[3])
      redis.call('EXPIRE', order, ARGV[3])
    end
  end
  if first then
    table.insert(repeats, seq)
    table.insert(repeats, tonumber(first))
  else
    redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 's', seq, 'o', ARGV[2], 'e', logged)
    redis.call('ZADD', rkey, seq, packed)
    if moded ~= cjson.null then redis.call('ZADD', KEYS[2], seq, moded) end
    touched[rkey] = true
  end
end
local sessions = cjson.decode(ARGV[5])
for _, s in ipairs(sessions) do redis.call('HSET', KEYS[3], s[1], s[2]) end
for rkey, _ in pairs(touched) do redis.call('ZREMRANGEBYRANK', rkey, 0, -tonumber(ARGV[6]) - 1) end
return repeats
"""


def row(event: dict, *, sender: Optional[str] = None, recipient: Optional[str] = None,
        session: Optional[str] = None, recipient_session: Optional[str] = None,
        msg_id: Optional[str] = None, body: Optional[str] = None) -> tuple:
    """The row ``BatchWriter.write`` takes for ``event`` (the arguments are those of
    ``eventrows.row``): the event's JSON as it goes into the group's log, whole."""
    room = event.get("room")
    return (event["seq"], event["ts"], event["type"], sender, recipient,
            1 if event.get("kind") == "private" else 0, session, recipient_session,
            msg_id, body if body is not None else protocol.ENCODE(event),
            room.casefold() if isinstance(room, str) else None)


class BatchWriter:
    """Args: client; origin (this server's id in the log); keep (events per room)."""

    def __init__(self, client: redis.Redis, origin: str, keep: int):
        self.origin = origin
        self.keep = keep
        self._script = client.register_script(_WRITE)

    def write(self, rows: list, sessions: list) -> dict:
        """Store ``row`` tuples and ``(token, name, when)`` sessions; returns
        ``{seq: first seq}`` of the rows whose say id was stored before (not stored
        again). Raises ``redis.RedisError``."""
        packed = []
        for (seq, ts, kind, sender, recipient, private, session, recipient_session,
             msg_id, body, room) in rows:
            logged = body
            if kind == "mode" and recipient is not None:  # a ban's address, for the
                # other servers (removed before clients get the event)
                logged = json.dumps({**json.loads(body), "address": recipient})
            packed.append([
                seq, ids_key(session) if msg_id is not None and session is not None else None,
                msg_id, logged, room_key(room or NO_ROOM),
                pack(body, session, msg_id, private, recipient_session, kind),
                json.dumps([body, recipient]) if kind in ("mode", "topic") else None,
                ids_order_key(session) if session is not None else None])
        found = self._script(
            keys=[KEY_LOG, KEY_MODES, KEY_SESSIONS],
            args=[self.keep * 4, self.origin, IDS_DAYS * 86400, json.dumps(packed),
                  json.dumps([[token, name] for token, name, _ in sessions]), self.keep,
                  redishistory.IDS_KEPT])
        return {int(found[i]): int(found[i + 1]) for i in range(0, len(found), 2)}
