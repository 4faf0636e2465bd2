"""The admin and op commands (PROTOCOL.md section 8), in the room a say names.

``/admin PASSWORD`` makes the session an admin (an op everywhere, whom no op can act
on). Ops may ``/op`` and ``/deop``, ``/kick NAME [reason]``, ``/ban NAME [minutes]``
and ``/unban``, ``/mute NAME [minutes]`` and ``/unmute``, ``/slow SECONDS``. Each
change is a stored ``mode`` (or ``kick``) event with a seq, to everyone in the room,
the actor and the target included, then the actor's ack; ``moderation.RoomModes``
holds the state the events make. In a group (``--redis``) the target may be connected
to another server (a ``groupevents.Remote``): the event is stored here and that server
applies it to its member (``groupevents``). Admins are per server: an op cannot act
on an admin of this server, but one on another server is an ordinary member here.
Same shape as ``commands``: ``command(room, member, arg, msg_id)``, refusals raised
as ``MessageError``.
"""

from __future__ import annotations

import hmac
import logging
from typing import Callable, Optional

import protocol
from lanchat.errors import MessageError
from lanchat.ratelimit import TokenBucket
from lanchat.server import groupevents
from lanchat.server.delivery import Delivery, Outgoing
from lanchat.server.members import Member
from lanchat.server.room import MAX_REASON, Room
from lanchat.server.roomcommands import leave_room
from lanchat.server.rooms import ChatRoom
from lanchat.text import name_key, one_line

log = logging.getLogger("chat.room")

ADMIN_TRIES_PER_MINUTE = 5
MAX_MINUTES = 60 * 24 * 366    # a ban or mute of at most about a year
MAX_SLOW = 3600                # slow mode of at most one line an hour
MAX_TOPIC = 300                # characters of a topic (a header line, not an essay)


def admin(room: Room, member: Member, password: str, msg_id: Optional[str],
          where: ChatRoom) -> None:
    """``/admin PASSWORD``: the session becomes an admin. The password is never
    logged, stored or echoed; at most 5 tries a minute per connection."""
    expected = room.config.admin_password
    if not expected:
        raise MessageError(protocol.AUTH_FAILED, "this server has no admins "
                           "(it would be started with --admin-password)")
    if member.admin_tries is None:
        member.admin_tries = TokenBucket(ADMIN_TRIES_PER_MINUTE / 60, ADMIN_TRIES_PER_MINUTE)
    if not member.admin_tries.take():
        raise MessageError(protocol.AUTH_FAILED, "too many tries; wait a minute")
    if not hmac.compare_digest(password.encode("utf-8"), expected.encode("utf-8")):
        log.info("%s (%s): a wrong admin password", member.name, member.peer)
        raise MessageError(protocol.AUTH_FAILED, "that is not the admin password")
    with room.lock:
        room.admins.add(member.session)
    log.info("%s (%s) is an admin now", member.name, member.peer)
    room.reply(member, {"type": "system", "text": "you are an admin now: an op in every room"})
    if not member.plain:
        room.ack(member, msg_id)


def _need_op(room: Room, member: Member, where: ChatRoom) -> None:
    if member.kicked or not room.is_op(member, where):
        raise MessageError(protocol.NOT_OP, f"only an op of {where.name} may do that")


def _target(room: Room, member: Member, name: str, where: ChatRoom):
    # Room lock held: a member of the room an op may act on (in a group, a Remote if
    # connected to another server).
    if not name:
        raise MessageError(protocol.BAD_ARGUMENT, "say whom: a name")
    target = groupevents.present(room, name, where)
    if target is None:
        raise MessageError(protocol.NO_SUCH_USER, f"nobody called {name[:40]!r} is in {where.name}")
    if target.session in room.admins:
        raise MessageError(protocol.NOT_OP, "ops cannot act on an admin")
    return target


def _minutes(arg: str) -> int:
    """``[minutes]`` as seconds (0: until lifted)."""
    if not arg:
        return 0
    if not arg.isdigit() or not 1 <= int(arg) <= MAX_MINUTES:
        raise MessageError(protocol.BAD_ARGUMENT, f"minutes are a whole number from 1 to {MAX_MINUTES}")
    return int(arg) * 60


def _event(room: Room, member: Member, msg_id: Optional[str], event: dict, where: ChatRoom,
           *, recipient: Optional[str] = None, ack: bool = True, after=None) -> None:
    """Store ``event`` (room lock held) and deliver it to the room, then the actor's
    ack; ``after(delivery)`` runs in the same delivery."""
    seq, now = room.next_seq()
    event = {"type": event["type"], "seq": seq, "ts": now, "room": where.name, **event}
    if event["type"] in ("mode", "topic"):
        where.modes.apply(event, recipient)
    outgoing = Outgoing(event)

    def deliver(delivery: Delivery) -> None:
        room.broadcast(delivery, outgoing, room=where.key)
        if after is not None:
            after(delivery)
        if ack and not member.plain:
            room.stage_ack(delivery, member, msg_id, None)

    room.journal.submit(event, deliver, sender=member.key, recipient=recipient, now=now)


def _kick_out(room: Room, member: Member, target, reason: str,
              msg_id: Optional[str], where: ChatRoom) -> None:
    # Room lock held: the kick event; from #lobby the target's connection then closes
    # (after it got the event) and it leaves with "kicked by X: reason", from another
    # room it is out of that room. A target on another server of the group: its
    # server does that when the event reaches it (its leave takes it out of #lobby).
    groupevents.set_op(where, target, False)  # a kicked op is one no more
    event = {"type": "kick", "name": target.name, "by": member.name, "reason": reason}
    if isinstance(target, groupevents.Remote):
        if not where.lobby:
            groupevents.out_of_room(room, target, where)
        _event(room, member, msg_id, event, where)
        return
    if not where.lobby:
        leave_room(room, target, where, event, msg_id, ack=member)
        return
    target.kicked = True
    leave = f"kicked by {member.name}" + (f": {reason}" if reason else "")

    def dismiss(delivery: Delivery) -> None:
        if target.kick is not None:
            delivery.after.append(lambda: target.kick(leave, flush=True))

    _event(room, member, msg_id, event, where, after=dismiss)


def op(room: Room, member: Member, name: str, msg_id: Optional[str],
       where: ChatRoom) -> None:
    """``/op NAME``: an op of the room."""
    _set_op(room, member, name, msg_id, where, True)


def deop(room: Room, member: Member, name: str, msg_id: Optional[str],
         where: ChatRoom) -> None:
    """``/deop NAME``: no longer an op."""
    _set_op(room, member, name, msg_id, where, False)


def _set_op(room: Room, member: Member, name: str, msg_id: Optional[str], where: ChatRoom,
            on: bool) -> None:
    with room.lock:
        _need_op(room, member, where)
        target = _target(room, member, name.strip(), where)
        if groupevents.holds_op(where, target) == on:
            room.ack(member, msg_id)
            return
        groupevents.set_op(where, target, on)
        _event(room, member, msg_id, {"type": "mode", "by": member.name,
                                      "change": "+op" if on else "-op", "target": target.name},
               where)


def kick(room: Room, member: Member, arg: str, msg_id: Optional[str],
         where: ChatRoom) -> None:
    """``/kick NAME [reason]``: out of the room (#lobby: disconnected)."""
    name, _, reason = arg.partition(" ")
    with room.lock:
        _need_op(room, member, where)
        target = _target(room, member, name, where)
        if target is member:
            raise MessageError(protocol.BAD_ARGUMENT, "you cannot kick yourself (/quit leaves)")
        _kick_out(room, member, target, one_line(reason, MAX_REASON), msg_id, where)


def ban(room: Room, member: Member, arg: str, msg_id: Optional[str],
        where: ChatRoom) -> None:
    """``/ban NAME [minutes]``: the name and its address are refused (loopback exempt)
    until it ends or is lifted; a member of that name is kicked."""
    name, _, minutes = arg.strip().partition(" ")
    seconds = _minutes(minutes.strip())
    with room.lock:
        _need_op(room, member, where)
        if not name:
            raise MessageError(protocol.BAD_ARGUMENT, "say whom: /ban NAME [minutes]")
        if name_key(name) == member.key:
            raise MessageError(protocol.BAD_ARGUMENT, "you cannot ban yourself")
        local = room.membership.get(name)
        if local is not None and local.session in room.admins:
            raise MessageError(protocol.NOT_OP, "ops cannot act on an admin")
        known = local or room.membership.remote.get(name_key(name))  # in a group
        shown = known.name if known is not None else name[:40]
        event = {"type": "mode", "by": member.name, "change": "+ban", "target": shown}
        if seconds:
            event["seconds"] = seconds
        address = local.address if local is not None else None
        target = groupevents.present(room, name, where)  # in the room, here or elsewhere
        if target is None:
            _event(room, member, msg_id, event, where, recipient=address)
            return
        _event(room, member, msg_id, event, where, recipient=address, ack=False)
        _kick_out(room, member, target, "banned", msg_id, where)


def unban(room: Room, member: Member, name: str, msg_id: Optional[str],
          where: ChatRoom) -> None:
    """``/unban NAME``: the ban on that name (and its address) ends."""
    _lift(room, member, name, msg_id, where, "-ban", where.modes.is_banned, "banned")


def _lift(room: Room, member: Member, name: str, msg_id: Optional[str], where: ChatRoom, change: str,
          held: Callable[[str], bool], what: str) -> None:
    # /unban and /unmute: a mode event that ends a ban or a mute the name has.
    name = name.strip()
    with room.lock:
        _need_op(room, member, where)
        if not held(name_key(name)):
            raise MessageError(protocol.BAD_ARGUMENT, f"{name[:40]!r} is not {what}")
        target = room.membership.get(name)
        _event(room, member, msg_id, {"type": "mode", "by": member.name, "change": change,
                                      "target": target.name if target else name}, where)


def mute(room: Room, member: Member, arg: str, msg_id: Optional[str],
         where: ChatRoom) -> None:
    """``/mute NAME [minutes]``: their lines in the room are refused with ``muted``."""
    name, _, minutes = arg.strip().partition(" ")
    seconds = _minutes(minutes.strip())
    with room.lock:
        _need_op(room, member, where)
        target = _target(room, member, name, where)
        if target is member:
            raise MessageError(protocol.BAD_ARGUMENT, "you cannot mute yourself")
        event = {"type": "mode", "by": member.name, "change": "+mute", "target": target.name}
        if seconds:
            event["seconds"] = seconds
        _event(room, member, msg_id, event, where)


def unmute(room: Room, member: Member, name: str, msg_id: Optional[str],
           where: ChatRoom) -> None:
    """``/unmute NAME``: they may speak again."""
    _lift(room, member, name, msg_id, where, "-mute", where.modes.muted, "muted")


def slow(room: Room, member: Member, arg: str, msg_id: Optional[str],
         where: ChatRoom) -> None:
    """``/slow SECONDS``: members who are not ops may send one line per SECONDS
    (``slow_mode`` with ``retry_after`` otherwise); ``/slow 0`` ends it."""
    arg = arg.strip()
    if not arg.isdigit() or int(arg) > MAX_SLOW:
        raise MessageError(protocol.BAD_ARGUMENT, f"/slow SECONDS, a whole number from 0 to {MAX_SLOW}")
    seconds = int(arg)
    with room.lock:
        _need_op(room, member, where)
        if seconds == where.modes.slow:
            room.ack(member, msg_id)
            return
        event = {"type": "mode", "by": member.name, "change": "+slow" if seconds else "-slow"}
        if seconds:
            event["seconds"] = seconds
        _event(room, member, msg_id, event, where)


def topic(room: Room, member: Member, text: str, msg_id: Optional[str],
          where: ChatRoom) -> None:
    """``/topic TEXT`` sets the room's topic (ops; an event ``topic``); ``/topic``
    alone shows it."""
    text = one_line(text, MAX_TOPIC)
    with room.lock:
        if not text:
            current = where.modes.topic
            room.reply(member, {"type": "system", "room": where.name, "text": (
                f"the topic of {where.name}: {current}" if current
                else f"{where.name} has no topic; an op sets one with /topic TEXT")})
            if not member.plain:
                room.ack(member, msg_id)
            return
        _need_op(room, member, where)
        _event(room, member, msg_id, {"type": "topic", "topic": text, "by": member.name}, where)


COMMANDS = {"admin": admin, "op": op, "deop": deop, "kick": kick, "ban": ban,
            "unban": unban, "mute": mute, "unmute": unmute, "slow": slow, "topic": topic}
