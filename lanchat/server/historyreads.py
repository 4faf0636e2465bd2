"""Reading the history back: a joiner's replay, a room's history, ``/history``.

A mixin of ``journal.Journal`` (it reads ``self._db``). Call these only from a
delivery's ``prepare`` (the journal's batch, after the commit of everything up to the
event being delivered), so what they read is exactly what was stored before it.
"""

from __future__ import annotations

from typing import Optional

import protocol
from lanchat.server.eventrows import EVENT_COLUMNS, event

REPLAY_CAP = 5000          # most events one `since` replay sends before a notice


class HistoryReads:
    """The journal's reading side."""

    def replay(self, session: str, *, since: Optional[int], until: int, limit: int) -> tuple:
        """Events a session may see, oldest first, and how many were left out.

        Of #lobby and the events of no room (private lines, leaves, nicks): a joiner is
        in #lobby only; each other room it enters brings its own (``room_messages``).
        With ``since``: every event after it (joins, leaves and nicks too); past
        ``REPLAY_CAP`` only the newest that many. Without: the last ``limit``
        messages. Private messages only for the sessions of their two parties (not
        whoever holds a party's name now). Call it only from a delivery callback.

        Returns:
            (list of event dicts, each marked ``replay``; number left out)
        """
        visible = "(private = 0 OR session = ? OR recipient_session = ?) " \
                  "AND (room IS NULL OR room = '#lobby')"
        if since is not None:
            # SQLite integers are 64-bit; a client may send any JSON integer.
            since = max(-2 ** 63, min(since, 2 ** 63 - 1))
            rows = self._db.execute(
                f"SELECT {EVENT_COLUMNS}, session, msg_id FROM events WHERE seq > ? AND seq <= ? "
                f"AND {visible} ORDER BY seq DESC LIMIT ?",
                (since, until, session, session, REPLAY_CAP + 1)).fetchall()[::-1]
            left_out = 0
            if len(rows) > REPLAY_CAP:
                left_out = self._db.execute(
                    f"SELECT COUNT(*) FROM events WHERE seq > ? AND seq <= ? AND {visible}",
                    (since, until, session, session)).fetchone()[0] - REPLAY_CAP
                rows = rows[1:]
        else:
            if limit <= 0:
                return [], 0
            rows = self._db.execute(
                f"SELECT {EVENT_COLUMNS}, session, msg_id FROM events WHERE type = 'message' "
                f"AND seq <= ? AND {visible} ORDER BY seq DESC LIMIT ?",
                (until, session, session, limit)).fetchall()[::-1]
            left_out = 0
        return _replayed(rows, session), left_out

    def recent_messages(self, session: str, limit: int, until: int,
                        room: str = protocol.LOBBY) -> list:
        """The last ``limit`` messages of a room the session may see (``/history``)."""
        if room == protocol.LOBBY:
            return self.replay(session, since=None, until=until, limit=limit)[0]
        return self.room_messages(session, room, limit, until)

    def room_messages(self, session: str, room: str, limit: int, until: int,
                      since: Optional[int] = None) -> list:
        """The last ``limit`` messages of the room with key ``room`` (not #lobby),
        oldest first, each marked ``replay`` (a room's history when one joins it); with
        ``since``, every event of the room after it instead (the newest REPLAY_CAP)."""
        if since is None and limit <= 0:
            return []
        if since is None:
            query, args = "type = 'message' AND room = ? AND seq <= ?", (room, until, limit)
        else:
            since = max(-2 ** 63, min(since, 2 ** 63 - 1))
            query, args = "room = ? AND seq > ? AND seq <= ?", (room, since, until, REPLAY_CAP)
        rows = self._db.execute(f"SELECT {EVENT_COLUMNS}, session, msg_id FROM events WHERE {query} "
                                "ORDER BY seq DESC LIMIT ?", args).fetchall()[::-1]
        return _replayed(rows, session)


def _replayed(rows: list, session: str) -> list:
    """``(EVENT_COLUMNS..., session, msg_id)`` rows as events marked ``replay``."""
    events = []
    for row in rows:
        line = event(*row[:-2])
        row_session, msg_id = row[-2], row[-1]
        # Every event from history says so (PROTOCOL.md section 4): a client must not
        # apply an old join, leave or nick to the welcome's user list.
        line["replay"] = True
        if row_session == session and msg_id is not None:
            line["id"] = msg_id  # lets a resuming client settle its outbox
        events.append(line)
    return events
