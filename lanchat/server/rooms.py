"""Rooms: #lobby, which everyone connected is in, and the rooms people make with /join
(PROTOCOL.md section 8).

A ``ChatRoom`` has two views of who is in it, like the server as a whole: ``members``
(decided under the room lock, when a join or part is given its seq: names, limits,
room objects) and the reader sets (who gets its events, changed when the journal
delivers that join or part, in seq order: ``Delivery`` reads them). Its ops, bans,
mutes, slow mode and topic are a ``RoomModes`` kept by ``RoomList`` for the room's
name while the server runs (and rebuilt from stored events at start), so a room that
ends when its last member leaves comes back with its bans and topic if it is made
again; its ops do not come back (the one who makes it again is its op).
"""

from __future__ import annotations

from typing import Optional

import protocol
from lanchat.server.moderation import RoomModes


class ChatRoom:
    """One room. Args: name (as first made), modes (its ``RoomModes``)."""

    def __init__(self, name: str, modes: RoomModes):
        self.name = name
        self.key = name.casefold()
        self.modes = modes
        self.members: dict = {}        # Member -> None, in join order (decided)
        self.json_readers: dict = {}   # Member -> None: who gets its events, by kind
        self.plain_readers: dict = {}

    @property
    def lobby(self) -> bool:
        return self.key == protocol.LOBBY

    def names(self) -> list:
        """The members' names, in join order."""
        return [member.name for member in self.members]

    def summary(self) -> dict:
        """The room as ``/rooms`` lists it."""
        return {"room": self.name, "topic": self.modes.topic, "users": len(self.members)}

    def start_reading(self, member) -> None:
        """``member`` gets the room's events from now on (delivery time)."""
        (self.plain_readers if member.plain else self.json_readers)[member] = None
        member.reading.add(self.key)

    def stop_reading(self, member) -> None:
        """``member`` gets no more of the room's events (delivery time)."""
        self.json_readers.pop(member, None)
        self.plain_readers.pop(member, None)
        member.reading.discard(self.key)


class RoomList:
    """Every room by key, #lobby always among them, and every room name's modes.

    Args:
        modes: ``{room key: RoomModes}`` rebuilt from stored events (may be empty).
    """

    def __init__(self, modes: dict):
        self.modes = modes
        self.rooms: dict = {}
        self.lobby = self._make(protocol.LOBBY)

    def _make(self, name: str) -> ChatRoom:
        key = name.casefold()
        modes = self.modes.get(key)
        if modes is None:
            modes = self.modes[key] = RoomModes(name)
        room = self.rooms[key] = ChatRoom(name, modes)
        return room

    def get(self, name: str) -> Optional[ChatRoom]:
        """The room called ``name`` (any case), or None."""
        return self.rooms.get(name.casefold())

    def modes_of(self, name: str) -> RoomModes:
        """The modes of the room called ``name``, whether or not it exists now."""
        key = name.casefold()
        if key not in self.modes:
            self.modes[key] = RoomModes(name)
        return self.modes[key]

    def opened(self, name: str) -> ChatRoom:
        """The room called ``name``, made (with no op here) if it does not exist: a
        room someone made on another server of the group."""
        return self.get(name) or self._make(name)

    def make(self, name: str, creator_session: str) -> ChatRoom:
        """A new room; its maker is its op."""
        room = self._make(name)
        room.modes.ops.add(creator_session)
        return room

    def ended(self, room: ChatRoom) -> bool:
        """Forget a room nobody is in (never #lobby); True if it ended. Its modes stay
        (bans, mutes, slow mode, topic), its ops go."""
        if room.lobby or room.members or self.rooms.get(room.key) is not room:
            return False
        del self.rooms[room.key]
        room.modes.clear_ops()
        return True

    def take_out(self, member, room: ChatRoom, membership) -> None:
        """``member`` is no longer in ``room`` (a part or a kick, here or on another
        server of the group): ``membership`` notes its rooms, a plain client reading it
        reads #lobby again, and the room ends if nobody is left. Room lock held."""
        room.members.pop(member, None)
        member.rooms.pop(room.key, None)
        membership.note_rooms(member)
        if member.plain and member.current == room.key:
            member.current = protocol.LOBBY
        self.ended(room)

    def readers(self) -> dict:
        """``{key: (structured readers, plain readers)}`` for ``Delivery.collect``."""
        return {key: (room.json_readers, room.plain_readers) for key, room in self.rooms.items()}
