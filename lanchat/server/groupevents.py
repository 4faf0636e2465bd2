"""Events another server of the group stored, applied and delivered here.

``redisjournal.RedisJournal``'s reader hands each one to ``deliver``, in seq order,
in a batch whose ``Delivery`` it shares with this server's own events (room lock
held). The event first changes this server's picture of the group, as the other
server's own callbacks changed its state (who is in the chat and in which rooms, a
room's topic and modes), then goes to the members here who would have had it.

The people on other servers are ``Remote`` entries: in ``Membership.remote`` (so the
welcome's ``users`` and the names taken are the group's) and in the rooms' member
lists (so ``/who``, ``/rooms`` and room objects count them); nothing is ever sent to
one, as a room's readers are this server's members only.

Ops are the group's: a ``+op``/``-op`` (and a kick, which ends one) is applied by every
server, to the session of its own member (``RoomModes.ops``) or to the name of a
``Remote`` (``RoomModes.remote_ops``), so room objects list the ops wherever they are
connected; whoever makes a room is its op everywhere. A kick stored by another server
is applied here, as a local kick, when its target is connected here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Optional

import protocol
from lanchat.errors import StoreUnavailable
from lanchat.text import name_key, numbered_name
from lanchat.server.crowd import crowd_size
from lanchat.server.delivery import Delivery, Outgoing

log = logging.getLogger("chat.redis")


@dataclass(eq=False)
class Remote:
    """Someone connected to another server of the group."""

    name: str
    rooms: dict = field(default_factory=dict)  # key -> ChatRoom it is in
    session: str = ""       # not known here: never an op by session on this server
    welcomed: bool = True
    gone: bool = False
    plain: bool = False
    kicked: bool = False
    away: Optional[str] = None

    @property
    def key(self) -> str:
        return name_key(self.name)


def present(room, name: str, where):
    """The ``Member`` here or the ``Remote`` called ``name`` who is in the room
    ``where`` (a ``ChatRoom``), or None (room lock held)."""
    roster = room.membership
    person = roster.get(name) or roster.remote.get(name_key(name))
    if person is None or not person.welcomed or person.gone or person not in where.members:
        return None
    return person


def holds_op(where, person) -> bool:
    """``person`` (a ``Member`` or a ``Remote``) is an op of ``where`` (admins aside)."""
    if isinstance(person, Remote):
        return person.key in where.modes.remote_ops
    return person.session in where.modes.ops


def with_remote_ops(room, where, names: list) -> list:
    """``names`` (the ops of ``where`` here) and its ops on the group's other servers,
    sorted (every server lists them alike; room lock held)."""
    remote = room.membership.remote
    names = names + [remote[key].name for key in where.modes.remote_ops
                     if key in remote and remote[key] in where.members]
    return sorted(names, key=name_key)


def set_op(where, person, on: bool) -> None:
    """``person`` (a ``Member`` or a ``Remote``) is an op of ``where``, or no longer
    (room lock held)."""
    if isinstance(person, Remote):
        (where.modes.remote_ops.add if on else where.modes.remote_ops.discard)(person.key)
    else:
        (where.modes.ops.add if on else where.modes.ops.discard)(person.session)


def out_of_room(room, person: Remote, where) -> None:
    """A remote person parted or was kicked from ``where`` (room lock held)."""
    where.members.pop(person, None)
    person.rooms.pop(where.key, None)
    room.rooms.ended(where)


def claim_name(room, wanted: str, token: str) -> str:
    """``wanted``, or ``wanted_2``... : the first nobody in the group holds, claimed
    for ``token`` in Redis (room lock held). Raises ``StoreUnavailable``."""
    roster, names = room.membership, room.journal.names
    number = 1
    while True:
        candidate = wanted if number == 1 else numbered_name(wanted, number)
        key = name_key(candidate)
        if key not in roster.members and names.claim(key, candidate, token):
            forget(room, key)  # a resume from a dead server, before its users were reaped
            return candidate
        number += 1


def claim_join(room, wanted: str, token: str) -> tuple:
    """A join's name (``claim_name``) and its ``(seq, time)``: ``(name, seq, time)``
    (room lock held). If the seq cannot be taken the name is given back, so a refused
    join holds nothing. Raises ``StoreUnavailable``."""
    name = claim_name(room, wanted, token)
    try:
        seq, now = room.next_seq()
    except StoreUnavailable:
        room.journal.names.release(name_key(name), token)
        raise
    return name, seq, now


def left_later(room, member, reason: str) -> None:
    """``member`` left but its leave could not take a seq (Redis failing; room lock
    held): the heartbeat gives its name back and stores the leave once Redis answers,
    so the other servers do not keep a ghost."""
    log.info("%s (%s) left: %s (told to the group once Redis answers)",
             member.name, member.peer, reason)
    room.journal.names.release(member.key, member.session, leave=(member.name, reason))


def load(room) -> None:
    """The people already on the group's other servers, and their rooms (at start):
    the log's joins, parts and leaves replayed, then checked against the names the
    group holds now."""
    for event in room.journal.membership_events():
        _apply(room, None, event)
    holders = room.journal.names.holders()
    for key in list(room.membership.remote):
        if key not in holders:
            forget(room, key)
    for name, _ in holders.values():
        add_remote(room, name)


def add_remote(room, name: str) -> Remote:
    """Someone on another server is in #lobby (room lock held)."""
    key = name_key(name)
    known = room.membership.remote.get(key)
    if known is not None:
        return known
    person = Remote(name)
    room.membership.add_remote(person)
    person.rooms[protocol.LOBBY] = room.rooms.lobby
    room.rooms.lobby.members[person] = None
    return person


def forget(room, key: str) -> Optional[Remote]:
    """Take a remote person out of every room and the names (room lock held)."""
    person = room.membership.remote.get(key)
    if person is None:
        return None
    room.membership.drop_remote(person)
    for modes in room.rooms.modes.values():
        modes.remote_ops.discard(key)
    for where in person.rooms.values():
        where.members.pop(person, None)
        room.rooms.ended(where)
    person.rooms = {}
    return person


def _replaced(room, member, delivery: Delivery) -> None:
    # Its session resumed on another server: gone from here without a leave (the
    # group sees it joined there), its old connection closed.
    delivery.changing(member)
    member.gone = True
    room.membership.drop(member)
    for where in member.rooms.values():
        where.members.pop(member, None)
        where.stop_reading(member)
        room.rooms.ended(where)
    member.rooms = {}
    if member.kick is not None:
        delivery.after.append(lambda: member.kick("replaced"))


def _kicked(room, delivery: Optional[Delivery], event: dict, where_name: str):
    # A kick another server stored: a remote target is out of the room (of #lobby when
    # its leave comes); a target connected here is kicked as by a local op. Returns
    # what to do once the kick is queued to the room (its target stops reading it).
    where = room.rooms.get(where_name)
    name = str(event.get("name"))
    if where is None:
        return None
    person = room.membership.remote.get(name_key(name))
    if person is not None and person in where.members:
        set_op(where, person, False)
        if not where.lobby:
            out_of_room(room, person, where)
        return None
    target = room.membership.get(name)
    if delivery is None or target is None or target.gone or target not in where.members:
        return None
    set_op(where, target, False)
    if where.lobby:
        target.kicked = True
        reason = event.get("reason")
        leave = f"kicked by {event.get('by')}" + (f": {reason}" if reason else "")
        if target.kick is not None:
            delivery.after.append(lambda: target.kick(leave, flush=True))
        return None
    room.rooms.take_out(target, where, room.membership)

    def stop_reading(later: Delivery) -> None:
        later.changing(target)
        where.stop_reading(target)
    return stop_reading


def _op_changed(room, event: dict, where_name: str) -> None:
    # +op or -op given on another server: to the member here or the remote person.
    where = room.rooms.get(where_name)
    person = present(room, str(event.get("target")), where) if where is not None else None
    if person is not None:
        set_op(where, person, event.get("change") == "+op")


def _apply(room, delivery: Optional[Delivery], event: dict):
    # What the event changes here, before it is delivered (no delivery: at start,
    # when nobody is connected here yet). Returns None, or what to do once the event
    # is queued (with the delivery).
    kind = event["type"]
    roster = room.membership
    where_name = event.get("room") if isinstance(event.get("room"), str) else None
    if kind == "join" and isinstance(event.get("name"), str):
        if where_name is None or where_name.casefold() == protocol.LOBBY:
            local = roster.get(event["name"])
            if local is not None and not local.gone:
                # The name moved to another server: the same session resumed there.
                _replaced(room, local, delivery)
            add_remote(room, event["name"])
        else:
            person = roster.remote.get(name_key(event["name"]))
            if person is not None:
                where = room.rooms.get(where_name)
                if where is None:  # made by this join: its maker is its op
                    where = room.rooms.opened(where_name)
                    set_op(where, person, True)
                where.members[person] = None
                person.rooms[where.key] = where
    elif kind == "part" and where_name is not None:
        person = roster.remote.get(name_key(str(event.get("name"))))
        where = room.rooms.get(where_name)
        if person is not None and where is not None:
            out_of_room(room, person, where)
    elif kind == "kick" and where_name is not None:
        return _kicked(room, delivery, event, where_name)
    elif kind == "leave" and isinstance(event.get("name"), str):
        forget(room, name_key(event["name"]))
    elif kind == "nick":
        person = roster.remote.get(name_key(str(event.get("old"))))
        if person is not None:
            # Out under the old name and in under the new, in the same rooms (not
            # through forget, which would end a room they alone are in) and an op
            # where they were one.
            held = [modes for modes in room.rooms.modes.values()
                    if person.key in modes.remote_ops]
            roster.drop_remote(person)
            for modes in held:
                modes.remote_ops.discard(person.key)
            for where in person.rooms.values():
                where.members.pop(person, None)
            renamed = add_remote(room, str(event.get("new")))
            for key, where in person.rooms.items():
                where.members[renamed] = None
                renamed.rooms[key] = where
            for modes in held:
                modes.remote_ops.add(renamed.key)
    elif kind == "presence":
        person = roster.remote.get(name_key(str(event.get("name"))))
        if person is not None:
            away = event.get("away")
            roster.set_away(person, away if isinstance(away, str) else None)
    elif kind in ("mode", "topic"):
        key = (where_name or protocol.LOBBY).casefold()
        modes = room.rooms.modes_of(where_name or protocol.LOBBY)
        modes.apply(event, event.get("address"))
        if event.get("change") in ("+op", "-op"):
            _op_changed(room, event, key)
    return None


def deliver(room, delivery: Delivery, event: dict) -> None:
    """``event`` (stored by another server) applied here and delivered to ``room``'s
    members (a ``room.Room``; room lock held)."""
    event.pop("address", None)  # a ban's address: for the servers, not the clients
    then = _apply(room, delivery, event)
    room.welcomes.heard(event)  # the welcomes still waiting did not show it
    out = Outgoing(event)
    if event["type"] in ("message", "typing") and "to" in event:  # private: to one
        target = room.membership.get(event["to"])
        if target is not None and target.welcomed:
            delivery.one(target, out)
        return
    where = event.get("room")
    if event["type"] == "leave" or (event["type"] == "join" and where == protocol.LOBBY):
        # As a join or leave here: one notice per run in a crowded #lobby.
        crowd = crowd_size(len(room.rooms.lobby.members), room.config.announce_limit)
        delivery.announce(protocol.LOBBY, out, crowd)
    else:
        delivery.to_room(where.casefold() if isinstance(where, str) else protocol.LOBBY, out)
    if then is not None:
        then(delivery)
