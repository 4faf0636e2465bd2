"""A group's history in Redis: the keys, and reading them back (``--redis``).

The shared log itself is one Redis Stream (``KEY_LOG``), the order every server
delivers in. Beside it each event is kept in a sorted set per room, scored by its
seq (``room_key``; the events of no room, private lines, leaves and nicks, in
``room_key("")``), so a joiner's replay, a room's history, ``/history`` and
``since`` are range queries, exact in seq order. ``mode`` and ``topic`` events are
also kept, untrimmed, in ``KEY_MODES``: a server starting rebuilds every room's
moderation from them, as ``moderation.py`` does from the SQLite events.

A mixin of ``redisjournal.RedisJournal`` (it reads ``self.redis``), with the same
reading side as ``historyreads.HistoryReads``; call these only from a delivery's
``prepare`` (the reader thread, after everything up to the event delivered).
"""

from __future__ import annotations

import json
from typing import Optional

import redis

import protocol
from lanchat.errors import StoreUnavailable
from lanchat.server.historyreads import REPLAY_CAP
from lanchat.server.journal import KNOWN_IDS_LOADED

KEY_LOG = "lanchat:log"            # the stream: fields s (seq), o (origin), e (event), m (meta)
KEY_SEQ = "lanchat:seq"            # the last seq given out (INCR)
KEY_MODES = "lanchat:modes"        # mode and topic events: [body, recipient], by seq
KEY_SESSIONS = "lanchat:sessions"  # session token -> last name
NO_ROOM = ""                       # the room key of events of no room
IDS_KEPT = KNOWN_IDS_LOADED         # say ids kept per session (one server reloads as many)


def room_key(room: str) -> str:
    """The sorted set of a room's events (its key, casefolded)."""
    return "lanchat:room:" + room


def ids_key(session: str) -> str:
    """The hash of a session's say ids: id -> seq (a resend to any server is acked
    with its first seq)."""
    return "lanchat:ids:" + session


def ids_order_key(session: str) -> str:
    """The sorted set of a session's say ids by seq: which ones are the newest, so
    the hash keeps ``IDS_KEPT`` and a resume loads at most that many."""
    return "lanchat:idorder:" + session


def pack(event_body: str, session: Optional[str], msg_id: Optional[str], private: int,
         recipient_session: Optional[str], kind: str) -> str:
    """One sorted-set member: the event as broadcast and what reading it back needs."""
    return json.dumps([event_body, session, msg_id, private, recipient_session, kind],
                      separators=(",", ":"))


def _clamp(value: int) -> int:
    return max(-2 ** 63, min(value, 2 ** 63 - 1))


class RedisHistory:
    """The reading side of the group's history (a mixin before ``Journal`` in
    ``RedisJournal``: ``HistoryReads.recent_messages`` comes to these ``replay`` and
    ``room_messages``)."""

    redis = None  # the RedisJournal's client

    # ----------------------------------------------------------- loading at start

    def sessions(self, now: float) -> dict:
        """None loaded at start: a resumed session is fetched (``fetch_session``)."""
        return {}

    def known_ids(self) -> dict:
        """None loaded at start: ``fetch_session`` brings a session's say ids."""
        return {}

    def fetch_session(self, token: str) -> Optional[tuple]:
        """``(name, {say id: seq})`` of a session any server of the group made, or
        None. Raises ``StoreUnavailable``-mapped redis errors to the caller."""
        with self.redis.pipeline(transaction=False) as pipe:
            pipe.hget(KEY_SESSIONS, token)
            pipe.zrevrange(ids_order_key(token), 0, IDS_KEPT - 1, withscores=True)
            name, ids = pipe.execute()
        if name is None:
            return None
        return name, {key: int(seq) for key, seq in ids}

    def mode_events(self) -> list:
        """Every ``mode`` and ``topic`` event of the group, oldest first, with its
        recipient (a ban's address)."""
        return [(json.loads(body), recipient) for body, recipient in
                (json.loads(item) for item in self.redis.zrange(KEY_MODES, 0, -1))]

    def membership_events(self, upto: str) -> list:
        """The joins, parts, kicks, leaves, nicks and ``+op``/``-op`` still in the log
        up to the stream id ``upto``, oldest first: who is in which room (and its op),
        for a server starting."""
        events, start = [], "-"
        while True:
            chunk = self.redis.xrange(KEY_LOG, start, upto, count=2000)
            for entry_id, fields in chunk:
                body = fields["e"]
                if not body.startswith('{"type":"message"'):
                    event = json.loads(body)
                    kind = event.get("type")
                    if kind in ("join", "part", "kick", "leave", "nick") or (
                            kind == "mode" and event.get("change") in ("+op", "-op")):
                        events.append(event)
            if len(chunk) < 2000:
                return events
            start = "(" + chunk[-1][0]

    # ------------------------------------------------------------------ reading

    def _range(self, keys: tuple, low: str, high: int, newest: int) -> list:
        # The newest ``newest`` items of each key with low < seq <= high, merged in
        # seq order: (seq, packed item).
        try:
            with self.redis.pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.zrevrangebyscore(key, high, low, start=0, num=newest, withscores=True)
                found = pipe.execute()
        except redis.RedisError as exc:
            raise StoreUnavailable(f"Redis cannot be reached ({exc})") from None
        merged = sorted((int(score), item) for items in found for item, score in items)
        return merged

    def replay(self, session: str, *, since: Optional[int], until: int, limit: int) -> tuple:
        """As ``HistoryReads.replay``: #lobby's events and those of no room a session
        may see, oldest first, and how many were left out."""
        keys = (room_key(protocol.LOBBY), room_key(NO_ROOM))
        if since is not None:
            rows = [item for _, item in self._range(keys, f"({_clamp(since)}", until,
                                                    REPLAY_CAP * 2 + 1)]
            visible = [row for row in map(json.loads, rows) if _visible(row, session)]
            left_out = max(0, len(visible) - REPLAY_CAP)
            return _replayed(visible[left_out:], session), left_out
        if limit <= 0:
            return [], 0
        # Messages only; leaves and joins among them are skipped, so read a margin.
        rows = [json.loads(item) for _, item in self._range(keys, "-inf", until, limit * 4 + 50)]
        messages = [row for row in rows if row[5] == "message" and _visible(row, session)]
        return _replayed(messages[-limit:], session), 0

    def room_messages(self, session: str, room: str, limit: int, until: int,
                      since: Optional[int] = None) -> list:
        """As ``HistoryReads.room_messages``, from the room's sorted set."""
        if since is None and limit <= 0:
            return []
        if since is None:
            rows = [json.loads(item) for _, item in
                    self._range((room_key(room),), "-inf", until, limit * 2 + 20)]
            rows = [row for row in rows if row[5] == "message"][-limit:]
        else:
            rows = [json.loads(item) for _, item in
                    self._range((room_key(room),), f"({_clamp(since)}", until, REPLAY_CAP)]
        return _replayed(rows, session)


def _visible(row: list, session: str) -> bool:
    # A private line only for the sessions of its two parties.
    return not row[3] or row[1] == session or row[4] == session


def _replayed(rows: list, session: str) -> list:
    """Packed items as events marked ``replay`` (as ``historyreads._replayed``)."""
    events = []
    for body, row_session, msg_id, _, _, _ in rows:
        event = json.loads(body)
        event["replay"] = True
        if row_session == session and msg_id is not None:
            event["id"] = msg_id
        events.append(event)
    return events
