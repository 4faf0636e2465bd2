"""Rooms in commands (PROTOCOL.md section 8): ``/join #room``, ``/part [#room]
[reason]``, ``/rooms`` (``/list``), and the ways into and out of a room other commands
use (a hello's rooms, a kick or ban from a room).

Entering a room is a stored ``join`` with the room (to its other members), and for the
one who enters a ``joined`` with the room object, then the room's history (the last
``--history`` messages, ``replay: true``), then the ack; from that delivery on it gets
the room's events. Leaving is a stored ``part`` to the room's members, the one who
leaves included, after which it gets no more of them; the last member leaving ends
the room (its history stays, and comes back if the room is made again).
"""

from __future__ import annotations

import logging
import sqlite3
from typing import Optional

import protocol
from lanchat.errors import MessageError, StoreUnavailable
from lanchat.server import welcomes
from lanchat.server.delivery import Delivery, Outgoing
from lanchat.server.members import Member
from lanchat.server.room import MAX_REASON, Room
from lanchat.server.rooms import ChatRoom
from lanchat.text import one_line, room_problem

log = logging.getLogger("chat.room")


def valid_room(name: str) -> str:
    """``name`` if it is a room name; else ``MessageError(bad_room)`` saying why."""
    problem = room_problem(name)
    if problem:
        raise MessageError(protocol.BAD_ROOM, f"{name[:40]!r} is not a room name: {problem}")
    return name


def _room_name(arg: str) -> str:
    name = arg.strip().split(" ", 1)[0]
    if not name:
        raise MessageError(protocol.BAD_ARGUMENT, "say which room: /join #name")
    return valid_room(name)


def enter(room: Room, member: Member, name: str, msg_id: Optional[str],
          ack: bool = True, since: Optional[int] = None) -> None:
    """``member`` joins the room called ``name``, making it if needed (its maker is its
    op); room lock held. Its history is the last ``--history`` messages, or with
    ``since`` (a reconnect) every event of the room after it.
    Raises ``MessageError`` (``banned``, ``too_many_rooms``)."""
    where = room.rooms.get(name)
    if where is not None and member in where.members:
        if ack and not member.plain:
            room.ack(member, msg_id)  # already in it
        return
    config = room.config
    if len(member.rooms) - 1 >= config.max_rooms_per_user:  # #lobby is not counted
        raise MessageError(protocol.TOO_MANY_ROOMS, f"you are in {config.max_rooms_per_user} "
                           "rooms already, the most there may be; /part one first")
    if where is None:
        if len(room.rooms.rooms) - 1 >= config.max_rooms:
            raise MessageError(protocol.TOO_MANY_ROOMS, f"this server has {config.max_rooms} "
                               "rooms already, the most it allows; join one of them (/rooms)")
        modes = room.rooms.modes.get(name.casefold())
        if modes is not None and modes.ban_of(member.key, member.address) is not None:
            raise MessageError(protocol.BANNED, f"you are banned from {modes.room}")
    elif where.modes.ban_of(member.key, member.address) is not None:
        raise MessageError(protocol.BANNED, f"you are banned from {where.name}")
    # The seq before anything changes: in a group it may be unavailable. Nothing may
    # raise after it, or the seq would be a hole the group's reader waits on.
    seq, now = room.next_seq()
    if where is None:
        where = room.rooms.make(name, member.session)
    where.members[member] = None
    member.rooms[where.key] = where
    room.membership.note_rooms(member)
    event = {"type": "join", "seq": seq, "ts": now, "name": member.name, "room": where.name}
    users = room.room_object(where, member)
    away = {name: message for name, message in room.membership.away_names().items()
            if name in users["users"]}
    joined = {"type": "joined", "seq": seq, "room": users, "away": away}
    if room.shared:  # the group's events below seq that come meanwhile are folded in
        room.welcomes.add(member, where.key)
    out = Outgoing(event)

    def history() -> list:  # after the commit, outside the room lock
        try:
            return room.journal.room_messages(member.session, where.key, room.config.history,
                                              seq - 1, since)
        except (sqlite3.Error, StoreUnavailable) as exc:
            log.error("could not read the history of %s for %s: %s", where.name, member.name, exc)
            return []

    def deliver(delivery: Delivery, past: list) -> None:
        room.broadcast(delivery, out, exclude=member, room=where.key)
        if member.gone or member not in where.members:
            return
        delivery.one(member, member.frame(welcomes.joined_ready(room, member, where, joined)))
        for event_past in past if not member.plain else ():
            delivery.one(member, protocol.message_frame(event_past))
        if ack and not member.plain:
            room.stage_ack(delivery, member, msg_id, None)
        delivery.changing(member)
        where.start_reading(member)

    room.journal.submit(event, deliver, sender=member.key, now=now, prepare=history)


def enter_rooms(room: Room, member: Member, names: tuple, since: Optional[int] = None) -> None:
    """The rooms a hello names, and those its resumed session was in, after #lobby:
    each is entered as with ``/join`` (a ``joined`` each); a refusal is an ``error``
    with the room."""
    state = room.membership.sessions.get(member.session)
    wanted = dict.fromkeys([*names, *(state.rooms if state is not None else ())])
    for name in wanted:
        if name.casefold() == protocol.LOBBY:
            continue
        try:
            valid_room(name)
            with room.lock:
                if member.gone:
                    return
                enter(room, member, name, None, ack=False, since=since)
        except MessageError as exc:
            room.error(member, exc.code, exc.message, room=name[:40])


def leave_room(room: Room, member: Member, where: ChatRoom, event: dict,
               msg_id: Optional[str] = None, ack: Optional[Member] = None) -> None:
    """Store ``event`` (a ``part`` or a ``kick``) and take ``member`` out of ``where``
    once the room's members, ``member`` included, have it; ``ack`` gets its ack after.
    Room lock held."""
    room.rooms.take_out(member, where, room.membership)
    seq, now = room.next_seq()
    event = {"type": event["type"], "seq": seq, "ts": now, "room": where.name, **event}
    out = Outgoing(event)

    def deliver(delivery: Delivery) -> None:
        room.broadcast(delivery, out, room=where.key)
        if ack is not None and not ack.plain:
            room.stage_ack(delivery, ack, msg_id, None)
        delivery.changing(member)
        where.stop_reading(member)

    room.journal.submit(event, deliver, sender=member.key, now=now)


def join(room: Room, member: Member, arg: str, msg_id: Optional[str], where: ChatRoom) -> None:
    """``/join #room``: enter a room, making it if needed. A plain client has one room
    besides #lobby: joining another leaves the one it had."""
    name = _room_name(arg)
    with room.lock:
        if member.gone:
            return
        if member.plain and member.current != protocol.LOBBY and member.current != name.casefold():
            old = room.rooms.get(member.current)
            if old is not None and member in old.members:
                leave_room(room, member, old, {"type": "part", "name": member.name,
                                               "reason": "joined another room"})
        enter(room, member, name, msg_id)
        if member.plain:
            member.current = name.casefold()


def part(room: Room, member: Member, arg: str, msg_id: Optional[str], where: ChatRoom) -> None:
    """``/part [#room] [reason]``: leave that room (default: the say's room)."""
    first, _, rest = arg.partition(" ")
    if first.startswith("#"):
        name, reason = _room_name(first), rest
    else:
        name, reason = where.name, arg
    with room.lock:
        target = room.rooms.get(name)
        if target is not None and target.lobby:
            raise MessageError(protocol.CANNOT_PART_LOBBY, "everyone is in #lobby; /quit leaves")
        if target is None or member not in target.members:
            raise MessageError(protocol.NOT_IN_ROOM, f"you are not in {name[:40]}")
        leave_room(room, member, target, {"type": "part", "name": member.name,
                                          "reason": one_line(reason, MAX_REASON) or "left"},
                   msg_id, ack=member)


def rooms_list(room: Room, member: Member, _arg: str, msg_id: Optional[str],
               where: ChatRoom) -> None:
    """``/rooms`` (``/list``): every room on the server, with its topic and head count."""
    with room.lock:
        listed = [r.summary() for r in sorted(room.rooms.rooms.values(), key=lambda r: r.key)]
    room.reply(member, {"type": "rooms", "rooms": listed})
    if not member.plain:
        room.ack(member, msg_id)


def find(room: Room, member: Member, name: str) -> ChatRoom:
    """The room called ``name`` that ``member`` is in (the room a say names).

    Raises:
        MessageError: ``bad_room``, ``no_such_room`` or ``not_in_room``.
    """
    where = room.rooms.get(name)
    if where is None:
        raise MessageError(protocol.NO_SUCH_ROOM, f"there is no room {valid_room(name)}")
    if member not in where.members:
        raise MessageError(protocol.NOT_IN_ROOM, f"you are not in {where.name}; /join it first")
    return where


COMMANDS = {"join": join, "part": part, "rooms": rooms_list, "list": rooms_list}
