"""One journal batch's deliveries, gathered so that each member gets one ``send``.

The journal commits events a batch at a time and then runs each event's delivery, in
seq order. Sending every event to every member as it comes costs a syscall per event
and member: a batch of 300 lines in a room of 20 makes 6,000 sends. A ``Delivery``
gathers the batch instead. Events for everyone go on one common list; a member whose
stream differs from it (it sent one of the events and gets an ``ack`` instead, it
joined during the batch, it got a private message or a reply) gets a stream of its own,
which takes the common events it has not yet taken (a C-speed list slice) whenever
something is added for it alone. ``collect`` then gives every member its bytes: the
common frames joined once and shared by all who take them as they are, and one
joined string per own stream. So a member costs one ``send`` per batch, and an event
meant for everyone costs one list append, however many members there are.
"""

from __future__ import annotations

from typing import Optional, Union

import protocol
from lanchat import eventtext

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
    """One event and its frames, each encoded at most once."""

    __slots__ = ("event", "_body", "_json", "_plain")

    def __init__(self, event: dict):
        self.event = event
        self._body: Optional[str] = None
        self._json: Optional[bytes] = None
        self._plain: Optional[bytes] = None

    def body(self) -> str:
        """The event as JSON text: the structured frame's body and the journal's row."""
        if self._body is None:
            self._body = protocol.encode_event(self.event)
        return self._body

    def frame(self, plain: bool) -> bytes:
        if plain:
            if self._plain is None:
                # An event with no line for a tutorial client (typing) is no frame.
                line = eventtext.describe(self.event)
                self._plain = b"" if line is None else protocol.encode_frame(line)
            return self._plain
        if self._json is None:
            self._json = protocol.encode_frame(self.body())
        return self._json


class _Stream:
    """What one member gets that differs from the common list."""

    __slots__ = ("parts", "taken", "plain")

    def __init__(self, taken: int, plain: bool):
        self.parts: list = []  # frames (bytes), in order
        self.taken = taken     # common events up to here are in parts (or skipped)
        self.plain = plain


class Delivery:
    """The sends of one journal batch, gathered per member (see the module text).

    Members are ``room.Member`` objects; only the thread running the batch touches a
    ``Delivery``.
    """

    def __init__(self):
        self._common: list = []       # Outgoing, for every welcomed member
        self._common_json: list = []  # their structured frames, in the same order
        self._streams: dict = {}      # Member -> _Stream
        self.after: list = []         # callables to run once the batch is sent
        self.built = 0                # bytes of the buffers collect() made

    def __bool__(self) -> bool:
        return bool(self._common or self._streams)

    def _stream(self, member) -> _Stream:
        stream = self._streams.get(member)
        if stream is None:
            stream = self._streams[member] = _Stream(0, member.plain)
        return stream

    def _catch_up(self, stream: _Stream, upto: int) -> None:
        if stream.taken < upto:
            if stream.plain:
                stream.parts.extend([out.frame(True) for out in self._common[stream.taken:upto]])
            else:
                stream.parts.extend(self._common_json[stream.taken:upto])
        stream.taken = upto

    def everyone(self, out: Outgoing, exclude=None) -> None:
        """``out`` goes to every welcomed member except ``exclude``."""
        self.everyone_many([out], exclude)

    def everyone_many(self, outs: list, exclude=None) -> None:
        """``everyone(out, exclude)`` for each of ``outs``, in order."""
        if not outs:
            return
        start = len(self._common)
        self._common.extend(outs)
        self._common_json.extend([out.frame(False) for out in outs])
        if exclude is not None and (exclude.welcomed or exclude in self._streams):
            stream = self._stream(exclude)
            self._catch_up(stream, start)
            stream.taken = len(self._common)

    def one(self, member, item: Union[Outgoing, bytes, None]) -> None:
        """``item`` (an event, or a frame) goes to ``member`` alone, after what it has.

        None is nothing to send (a reply a plain client has no line for).
        """
        if item is None:
            return
        stream = self._stream(member)
        self._catch_up(stream, len(self._common))
        stream.parts.append(item if type(item) is bytes else item.frame(member.plain))

    def starting(self, member) -> None:
        """``member`` is welcomed now: it gets what comes from here on, nothing before."""
        self._streams[member] = _Stream(len(self._common), member.plain)

    def collect(self, structured, plain) -> list:
        """``[(member, bytes)]`` for every member with something to get. Room lock held.

        ``structured`` and ``plain`` are the members who get events (welcomed, not
        gone), by kind; a member with a stream of its own gets that instead, if it is
        still welcomed and not gone.
        """
        streams = self._streams
        sends: list = []
        built = 0
        if self._common:
            data = b"".join(self._common_json)
            built += len(data)
            sends += [(member, data) for member in structured if member not in streams]
            if plain:
                data = b"".join([out.frame(True) for out in self._common])
                if data:
                    built += len(data)
                    sends += [(member, data) for member in plain if member not in streams]
        end = len(self._common)
        for member, stream in streams.items():
            if member.gone or not member.welcomed:
                continue
            self._catch_up(stream, end)
            data = b"".join(stream.parts)
            if data:
                built += len(data)
                sends.append((member, data))
        self.built = built
        return sends
