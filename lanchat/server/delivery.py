"""One journal batch's deliveries, gathered so that each member gets one ``send``.

The journal commits events a batch at a time and then runs each event's delivery, in
seq order. Sending every event to every member as it comes costs a syscall per event
and member: a batch of 300 lines in a room of 20 makes 6,000 sends. A ``Delivery``
gathers the batch instead. Events for a room's members go on one common list, each
tagged with its room; a member whose stream differs (it sent one of the events and
gets an ``ack`` instead, it joined or left a room during the batch, it got a private
message or a reply, it reads two rooms that both had events) gets a stream of its
own, which takes the common events of its rooms it has not yet taken (a C-speed list
slice while the batch holds one room's events) whenever something is added for it
alone. ``collect`` then gives every member its bytes: each room's frames joined once
and shared by all who take them as they are, and one joined string per own stream.
So a member costs one ``send`` per batch, and an event meant for a room costs one list
append, however many members it has. A crowded room's joins and leaves
(``crowd``) become one notice per run of them (``lanchat.server.crowd``).
"""

from __future__ import annotations

from typing import Optional, Union

import protocol
from lanchat import codec
from lanchat.server.crowd import CrowdNotice


class NameList:
    """Members' names as the inside of a JSON array, kept encoded for welcomes.

    A join appends its name (amortised O(1)); a leave or a rename marks the list for
    a rebuild the next time it is needed, so a crowd joining costs a copy of the list
    per welcome, not an encoding of every name in it.
    """

    def __init__(self):
        self._quoted: dict = {}  # key -> the name as a JSON string, UTF-8
        self._encoded = bytearray()
        self._stale = False

    def add(self, key: str, name: str) -> None:
        quoted = protocol.quote(name).encode("utf-8")
        self._quoted[key] = quoted
        if not self._stale:
            if self._encoded:
                self._encoded += b","
            self._encoded += quoted

    def remove(self, key: str) -> None:
        del self._quoted[key]
        self._stale = True

    def encoded(self) -> bytearray:
        """The names, comma-separated JSON strings in the order they were added."""
        if self._stale:
            self._encoded = bytearray(b",".join(self._quoted.values()))
            self._stale = False
        return self._encoded


class Outgoing:
    """One event and its frames, each encoded at most once per dialect."""

    __slots__ = ("event", "_body", "_json", "_others")

    def __init__(self, event: dict):
        self.event = event
        self._body: Optional[bytes] = None
        self._json: Optional[bytes] = None
        self._others: Optional[dict] = None  # dialect -> its bytes (b"": nothing to show)

    def body(self) -> str:
        """The event as JSON text: the journal's row."""
        return self._utf8().decode("utf-8")

    def _utf8(self) -> bytes:
        if self._body is None:
            self._body = codec.encode_event(self.event)
        return self._body

    def json_frame(self) -> bytes:
        """The structured clients' frame."""
        if self._json is None:
            body = self._utf8()
            self._json = protocol.frame_header(len(body)) + body
        return self._json

    def frame(self, dialect) -> bytes:
        """The event as ``dialect`` (``lanchat.dialects.writers``) writes it; ``b""``
        when that kind has nothing to show for it (typing, for a tutorial client)."""
        if dialect.structured:
            return self.json_frame()
        others = self._others
        if others is None:
            others = self._others = {}
        data = others.get(dialect)
        if data is None:
            data = others[dialect] = dialect.event(self.event)
        return data


class _Stream:
    """What one member gets that differs from a room's common frames."""

    __slots__ = ("parts", "taken", "member")

    def __init__(self, member, taken: int):
        self.parts: list = []  # frames (bytes), in order
        self.taken = taken     # common events up to here are in parts (or skipped)
        self.member = member


class Delivery:
    """The sends of one journal batch, gathered per member (see the module text).

    Members are ``members.Member`` objects with ``plain`` (not structured), ``dialect``
    (how a plain one is written to: ``lanchat.dialects.writers``), ``welcomed``, ``gone`` and
    ``reading`` (the keys of the rooms whose events they get, changed only inside a
    batch's deliveries, after ``changing``); only the thread running the batch touches
    a ``Delivery``.
    """

    def __init__(self):
        self._common: list = []       # Outgoing, each for one room's readers
        self._common_json: list = []  # their structured frames, in the same order
        self._rooms: list = []        # the room key of each common event
        self._mixed = False           # events of more than one room in this batch
        self._streams: dict = {}      # Member -> _Stream
        self.after: list = []         # callables to run once the batch is sent
        self.built = 0                # bytes of the buffers collect() made
        self._crowd: Optional[CrowdNotice] = None  # a crowded room's run of joins, leaves

    def __bool__(self) -> bool:
        return bool(self._common or self._streams or self._crowd)

    def _stream(self, member) -> _Stream:
        stream = self._streams.get(member)
        if stream is None:
            stream = self._streams[member] = _Stream(member, 0)
        return stream

    def _catch_up(self, stream: _Stream, upto: int) -> None:
        # The common events it has not taken, of the rooms it reads now.
        start = stream.taken
        if start < upto:
            member = stream.member
            rooms = self._rooms
            reading = member.reading
            if not self._mixed:  # one room so far (the common case): all or nothing
                picked = range(start, upto) if rooms[start] in reading else ()
            else:
                picked = [i for i in range(start, upto) if rooms[i] in reading]
            if len(picked) == upto - start:
                if member.plain:
                    dialect = member.dialect
                    stream.parts.extend([out.frame(dialect) for out in self._common[start:upto]])
                else:
                    stream.parts.extend(self._common_json[start:upto])
            elif member.plain:
                dialect = member.dialect
                stream.parts.extend([self._common[i].frame(dialect) for i in picked])
            else:
                stream.parts.extend([self._common_json[i] for i in picked])
        stream.taken = upto

    def to_room(self, room: str, out: Outgoing, exclude=None) -> None:
        """``out`` goes to every member reading ``room`` except ``exclude``."""
        self.to_room_many(room, [out], exclude)

    def to_room_many(self, room: str, outs: list, exclude=None) -> None:
        """``to_room(room, out, exclude)`` for each of ``outs``, in order."""
        if not outs:
            return
        if self._crowd is not None:
            self._end_crowd()
        start = len(self._common)
        self._common.extend(outs)
        self._common_json.extend([out.json_frame() for out in outs])
        if not self._mixed and self._rooms and self._rooms[0] != room:
            self._mixed = True
        self._rooms.extend([room] * len(outs))
        if exclude is not None and (exclude.welcomed or exclude in self._streams):
            stream = self._stream(exclude)
            self._catch_up(stream, start)
            stream.taken = len(self._common)

    def crowd(self, room: str, name: str, joined: bool, users: int, seq: int) -> None:
        """``name`` joined (or left) the crowded ``room`` (its name as shown) at ``seq``,
        which then had ``users`` members: told to its readers in one ``crowd`` notice with the
        rest of this run of joins and leaves (``lanchat.server.crowd``), placed where
        the run ends: before the next event for a room, or at the end of the batch.
        Members welcomed during the run get it too (they ignore what they had)."""
        notice = self._crowd
        if notice is None or notice.room != room:
            if notice is not None:
                self._end_crowd()
            notice = self._crowd = CrowdNotice(room)
        if joined:
            notice.join(name)
        else:
            notice.leave(name)
        notice.users, notice.seq = users, seq

    def announce(self, room: str, out: Outgoing, crowd: Optional[int], exclude=None) -> None:
        """A ``join`` or ``leave`` in ``room`` (its name as shown): to its readers but
        ``exclude``, or, in a crowded room (``crowd``: its size after the event, from
        ``crowd.crowd_size``), into the run's crowd notice."""
        if crowd is not None:
            event = out.event
            self.crowd(room, event["name"], event["type"] == "join", crowd, event["seq"])
        else:
            self.to_room(room.casefold(), out, exclude)

    def _end_crowd(self) -> None:
        notice, self._crowd = self._crowd, None
        self.to_room_many(notice.key, [Outgoing(notice.event())])

    def one(self, member, item: Union[Outgoing, bytes, None]) -> None:
        """``item`` (an event, or a frame) goes to ``member`` alone, after what it has.

        None is nothing to send (a reply a plain client has no line for).
        """
        if item is None:
            return
        stream = self._stream(member)
        self._catch_up(stream, len(self._common))
        stream.parts.append(item if type(item) is bytes else item.frame(member.dialect))

    def starting(self, member) -> None:
        """``member`` is welcomed now: it gets what comes from here on, nothing before."""
        self._streams[member] = _Stream(member, len(self._common))

    def changing(self, member) -> None:
        """``member``'s rooms are about to change: what came before goes to it as it
        reads now (call before changing ``member.reading``)."""
        if self._crowd is not None:
            self._end_crowd()
        self._catch_up(self._stream(member), len(self._common))

    def collect(self, readers: dict) -> list:
        """``[(member, bytes)]`` for every member with something to get. Room lock held.

        ``readers`` maps each room key to ``(structured, plain)``: the members who get
        its events (welcomed, not gone), by kind; the plain ones' bytes are made once
        per dialect among them. A member with a stream of its own
        gets that instead, if it is still welcomed and not gone; one who reads several
        of the rooms that had events gets its own, in order.
        """
        if self._crowd is not None:
            self._end_crowd()
        streams = self._streams
        sends: list = []
        built = 0
        common = self._common
        if common:
            active = dict.fromkeys(self._rooms) if self._mixed else {self._rooms[0]: None}
            if len(active) == 1:  # the common case: one room's events, one shared buffer
                shares = {next(iter(active)): (self._common_json, common)}
            else:
                shares = {}
                for room in active:
                    picked = [i for i, key in enumerate(self._rooms) if key == room]
                    shares[room] = ([self._common_json[i] for i in picked],
                                    [common[i] for i in picked])
                seen: dict = {}
                for room in active:
                    for group in readers.get(room, ((), ())):
                        for member in group:
                            if member not in streams:
                                seen[member] = seen.get(member, 0) + 1
                for member, count in seen.items():
                    if count > 1:  # events of several rooms: its own stream, in order
                        streams[member] = _Stream(member, 0)
            for room, (frames, outs) in shares.items():
                structured, plain = readers.get(room, ((), ()))
                if structured:
                    data = b"".join(frames)
                    built += len(data)
                    sends += [(member, data) for member in structured if member not in streams]
                if plain:  # the tutorial dialects: each one's bytes made once
                    made: dict = {}
                    for member in plain:
                        if member in streams:
                            continue
                        dialect = member.dialect
                        data = made.get(dialect)
                        if data is None:
                            data = made[dialect] = dialect.join([out.frame(dialect) for out in outs])
                            built += len(data)
                        if data:
                            sends.append((member, data))
        end = len(common)
        for member, stream in streams.items():
            if member.gone or not member.welcomed:
                continue
            self._catch_up(stream, end)
            data = member.dialect.join(stream.parts) if member.plain else b"".join(stream.parts)
            if data:
                built += len(data)
                sends.append((member, data))
        self.built = built
        return sends
