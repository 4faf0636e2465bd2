"""Rooms in ``ChatConnection`` (PROTOCOL.md sections 3-5 and 8): which rooms the
client is in, and the requests ``join`` and ``part``.

``RoomTracker`` is pure state (no socket, no lock of its own): ``#lobby`` and the rooms
asked for at first, then what the server says: a ``welcome``'s ``rooms`` is the truth,
a live ``joined`` adds a room, a live ``part`` or ``kick`` of ourselves removes one
(never ``#lobby``: a kick from it ends the connection). Replayed events change nothing
(section 4). Every ``hello`` asks for ``names()``, so a reconnect returns to them.

``RoomRequests`` is a mixin, like ``presence.PresenceRequests``: ``join`` and ``part``
are ordinary lines (``/join``, ``/part``), acked and resent after a reconnect like any.
"""

from __future__ import annotations

from typing import Iterable, List, Optional

import protocol

LOBBY = protocol.LOBBY


def is_lobby(room: Optional[str]) -> bool:
    """True for ``#lobby`` in any case, and for None (a frame without ``room``)."""
    return room is None or room.casefold() == LOBBY


class RoomTracker:
    """The names of the rooms the client is in, ``#lobby`` first, in joining order."""

    def __init__(self, wanted: Iterable[str] = ()):
        self._names: List[str] = [LOBBY]
        for name in wanted:
            self._add(name)

    def names(self) -> List[str]:
        """A copy of the room names, ``#lobby`` first."""
        return list(self._names)

    def welcome(self, msg: dict) -> None:
        """A welcome names the rooms we are in; one without ``rooms`` means ``#lobby``."""
        rooms = msg.get("rooms")
        fresh = RoomTracker(_room_name(obj) for obj in (rooms if isinstance(rooms, list) else ()))
        self._names = fresh._names  # one rebind: another thread reads whole lists only

    def apply(self, event: dict, me: Optional[str]) -> None:
        """Follow a live ``joined``, or a ``part``/``kick`` naming ``me``."""
        kind = event.get("type")
        if event.get("replay"):
            return
        if kind == "joined":
            self._add(_room_name(event.get("room")))
        elif kind in ("part", "kick") and event.get("name") == me:
            room = event.get("room")
            if isinstance(room, str) and not is_lobby(room):
                self._names = [n for n in self._names if n.casefold() != room.casefold()]

    def _add(self, name) -> None:
        if isinstance(name, str) and name and all(n.casefold() != name.casefold()
                                                  for n in self._names):
            self._names.append(name)


def _room_name(obj) -> Optional[str]:
    return obj.get("room") if isinstance(obj, dict) else None


def _one_word(room: str) -> str:
    if not isinstance(room, str) or not room or len(room.split()) != 1 or room != room.strip():
        raise ValueError(f"a room name is one word, like #games, not {room!r}")
    return room


class RoomRequests:
    """``rooms``, ``join`` and ``part`` for ``ChatConnection`` (a mixin: see the module).

    Uses the connection's ``_rooms`` (a ``RoomTracker``, written by its thread only)
    and ``say``.
    """

    @property
    def rooms(self) -> List[str]:
        """The rooms the client is in (``#lobby`` first), as the server last said."""
        return self._rooms.names()

    def join(self, room: str) -> str:
        """Join (or create) ``room``: sends ``/join ROOM`` from ``#lobby``.

        The server answers ``joined`` (then the room's history), or an error such as
        ``bad_room`` with the returned id.

        Returns:
            the line's id, as ``say`` does.
        Raises:
            ValueError: if ``room`` is not one word.
        """
        room = _one_word(room)
        return self.say(f"/join {room}")

    def part(self, room: str, reason: Optional[str] = None) -> str:
        """Leave ``room``: sends ``/part ROOM [reason]`` as a line in that room.

        Returns:
            the line's id, as ``say`` does.
        Raises:
            ValueError: if ``room`` is not one word.
        """
        room = _one_word(room)
        reason = " ".join((reason or "").split())  # one line: the command takes the rest
        return self.say(f"/part {room} {reason}" if reason else f"/part {room}", room=room)
