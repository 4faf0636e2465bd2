"""An event as a row of the history's ``events`` table, and a row as its event again.

Most rows are lines said in a room, and such a line's JSON repeats what the row's
columns hold (its seq, time, type, room) around the part that is its own, the text.
So it is stored narrow: its parts in columns (``name``, ``text``, ``kind``,
``room_name``), ``body`` empty, and only the columns replay and dedupe read (not
``sender``: its name says who). Every other event (private lines, joins, leaves,
modes, topics, nicks...) and any line of another shape keeps its JSON in ``body``.

``statements`` turns a batch's rows into a few ``INSERT``s: a row's length says its
shape (a narrow line's ``LINE_COLUMNS`` or any other event's ``WHOLE_COLUMNS``), and
each statement inserts up to ``CHUNKS[0]`` rows of one shape. Binding costs SQLite
about 0.1 us a value, so a line binds the nine values it needs, not fifteen; and one
statement of many rows is stepped once, where ``executemany`` steps (and lets go of
the GIL, waking another thread) once a row. The statements are a handful of fixed
strings, prepared once and reused from the connection's statement cache.

``event`` rebuilds the very dict that was stored: the same keys in the same order,
the same values (a line is stored narrow only if its values come back from SQLite as
they went in), so a replayed line encodes to the bytes that were broadcast. A
history written before narrow rows (``database.open_database`` adds the columns) has
every line in ``body``, and reads back the same way.
"""

from __future__ import annotations

import json
from itertools import chain
from typing import Optional

import protocol

# A narrow line's columns, in the order of its row (type 'message', body '', private 0).
LINE_COLUMNS = ("seq", "ts", "session", "msg_id", "room", "name", "text", "kind", "room_name")
# Any other event's columns, in the order of its row (the narrow ones are NULL).
WHOLE_COLUMNS = ("seq", "ts", "type", "sender", "recipient", "private", "session",
                 "recipient_session", "msg_id", "body", "room")
CHUNKS = (128, 32, 8, 1)  # rows per INSERT: a batch of 512 lines is four statements


def _insert(columns: str, values: str, count: int) -> str:
    return f"INSERT INTO events ({columns}) VALUES {', '.join([values] * count)}"


_LINE_VALUES = "('message', '', 0, %s)" % ", ".join("?" * len(LINE_COLUMNS))
_WHOLE_VALUES = "(%s)" % ", ".join("?" * len(WHOLE_COLUMNS))
# (a row's length, rows) -> the INSERT of that many rows of that shape
INSERTS = {(len(LINE_COLUMNS), count): _insert("type, body, private, " + ", ".join(LINE_COLUMNS),
                                               _LINE_VALUES, count) for count in CHUNKS}
INSERTS.update({(len(WHOLE_COLUMNS), count): _insert(", ".join(WHOLE_COLUMNS), _WHOLE_VALUES,
                                                     count) for count in CHUNKS})


def statements(rows: list) -> list:
    """``[(sql, values)]`` that insert ``rows`` (made by ``row``), in any order."""
    shapes: dict = {}
    for made in rows:
        shape = shapes.get(len(made))
        if shape is None:
            shape = shapes[len(made)] = []
        shape.append(made)
    out = []
    for size, same in shapes.items():
        start, left = 0, len(same)
        for count in CHUNKS:
            while left >= count:
                out.append((INSERTS[size, count],
                            tuple(chain.from_iterable(same[start:start + count]))))
                start += count
                left -= count
    return out


# What ``event`` reads, in its order: select these to rebuild a row's event.
EVENT_COLUMNS = "body, seq, ts, name, text, kind, room_name"

_ROOM_LINE = ("type", "seq", "ts", "from", "text", "kind", "room")


def row(event: dict, *, sender: Optional[str] = None, recipient: Optional[str] = None,
        session: Optional[str] = None, recipient_session: Optional[str] = None,
        msg_id: Optional[str] = None, body: Optional[str] = None) -> tuple:
    """The events row of ``event``: narrow for a line said in a room, else whole.

    Args:
        sender: casefolded name of whoever caused it.
        recipient: casefolded name of a private line's addressee; a ban's address.
        session, recipient_session: the sender's and a private addressee's tokens.
        msg_id: the sender's say id (chat lines).
        body: the event's JSON if the caller has it already (used for the events
            that are not stored narrow; encoded here otherwise).
    """
    ts = event.get("ts")
    # (SQLite gives -0.0 back as 0.0, and NaN as NULL: such a time goes whole.)
    if type(ts) is float and ts != 0.0 and ts == ts and tuple(event) == _ROOM_LINE \
            and event["type"] == "message":
        _, seq, ts, name, text, kind, place = event.values()
        if type(seq) is int and type(name) is type(text) is type(kind) is type(place) is str:
            return (seq, ts, session, msg_id, place.casefold(), name, text, kind, place)
    room = event.get("room")
    return (event["seq"], event["ts"], event["type"], sender, recipient,
            1 if event.get("kind") == "private" else 0, session, recipient_session, msg_id,
            body if body is not None else protocol.ENCODE(event),
            room.casefold() if isinstance(room, str) else None)


def event(body: str, seq: int, ts: float, name: Optional[str], text: Optional[str],
          kind: Optional[str], room_name: Optional[str]) -> dict:
    """The event of a row, from its ``EVENT_COLUMNS``: a new dict the caller may change."""
    if text is None:
        return json.loads(body)
    return {"type": "message", "seq": seq, "ts": ts, "from": name, "text": text,
            "kind": kind, "room": room_name}
