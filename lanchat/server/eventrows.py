"""An event as a row of the history's ``events`` table, and a row as its event again.

Most rows are chat lines, and a chat line's JSON repeats what the row's columns hold
(its seq, time, type, room) around the one part that is its own, the text. So a chat
line is stored narrow: its parts in columns (``name``, ``text``, ``kind``, ``place``:
its room's name, or the addressee's for a private line) and ``body`` empty, about
half the bytes and no JSON in the row. Every other event (joins, leaves, modes,
topics, nicks...) and any chat line of another shape keeps its JSON in ``body``.

``event`` rebuilds the very dict that was stored: the same keys in the same order,
the same values (a chat line is stored narrow only if its values come back from
SQLite as they went in), so a replayed line encodes to the bytes that were broadcast.
A history written before narrow rows (``database.open_database`` adds the columns)
has every line in ``body``, and reads back the same way.
"""

from __future__ import annotations

import json
from typing import Optional

import protocol

# The events table's columns, in the order ``row`` gives them.
COLUMNS = ("seq", "ts", "type", "sender", "recipient", "private", "session",
           "recipient_session", "msg_id", "body", "room", "name", "text", "kind", "place")
INSERT = "INSERT INTO events (%s) VALUES (%s)" % (", ".join(COLUMNS),
                                                 ", ".join("?" * len(COLUMNS)))
# What ``event`` reads, in its order: select these to rebuild a row's event.
EVENT_COLUMNS = "body, seq, ts, name, text, kind, place, room"

_ROOM_LINE = ("type", "seq", "ts", "from", "text", "kind", "room")
_PRIVATE_LINE = ("type", "seq", "ts", "from", "text", "kind", "to")


def row(event: dict, *, sender: Optional[str] = None, recipient: Optional[str] = None,
        session: Optional[str] = None, recipient_session: Optional[str] = None,
        msg_id: Optional[str] = None, body: Optional[str] = None) -> tuple:
    """The events row of ``event`` (``COLUMNS``).

    Args:
        sender: casefolded name of whoever caused it.
        recipient: casefolded name of a private line's addressee; a ban's address.
        session, recipient_session: the sender's and a private addressee's tokens.
        msg_id: the sender's say id (chat lines).
        body: the event's JSON if the caller has it already (used for the events
            that are not stored narrow; encoded here otherwise).
    """
    keys = tuple(event)
    if (keys == _ROOM_LINE or keys == _PRIVATE_LINE) and event["type"] == "message":
        seq, ts, name, text, kind, place = (event["seq"], event["ts"], event["from"],
                                            event["text"], event["kind"], event[keys[6]])
        if type(seq) is int and type(ts) is float and type(name) is str \
                and type(text) is str and type(kind) is str and type(place) is str:
            room = place.casefold() if keys[6] == "room" else None
            return (seq, ts, "message", sender, recipient, 1 if kind == "private" else 0,
                    session, recipient_session, msg_id, "", room, name, text, kind, place)
    room = event.get("room")
    return (event["seq"], event["ts"], event["type"], sender, recipient,
            1 if event.get("kind") == "private" else 0, session, recipient_session, msg_id,
            body if body is not None else protocol.ENCODE(event),
            room.casefold() if isinstance(room, str) else None, None, None, None, None)


def event(body: str, seq: int, ts: float, name: Optional[str], text: Optional[str],
          kind: Optional[str], place: Optional[str], room: Optional[str]) -> dict:
    """The event of a row, from its ``EVENT_COLUMNS``: a new dict the caller may change."""
    if text is None:
        return json.loads(body)
    line = {"type": "message", "seq": seq, "ts": ts, "from": name, "text": text, "kind": kind}
    line["room" if room is not None else "to"] = place
    return line
