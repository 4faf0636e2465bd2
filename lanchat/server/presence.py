"""Presence (PROTOCOL.md section 9): who is typing, who is away.

Neither is stored and neither has a seq: they say what is happening now, and a client
that reconnects learns who is away from its welcome. Both still go through the
journal's batches (an entry with no row, so nothing is written), which keeps them in
order with the lines around them: a "typing done" never overtakes the line it ends,
and a reader never sees a typing frame after the message that cleared it.

Typing frames never count against ``--rate``; each connection may have 2 a second
relayed (bursts of 2) and the rest are dropped without a word, as a client sends one
at most every 3 s when it follows the rules. Plain clients get no typing frames (their
``Outgoing.frame`` is empty) but do read presence as a line.
"""

from __future__ import annotations

from typing import Optional

import protocol
from lanchat.errors import JournalClosed, MessageError
from lanchat.ratelimit import TokenBucket
from lanchat.server.delivery import Delivery, Outgoing
from lanchat.server.members import Member
from lanchat.server.room import Room
from lanchat.text import MAX_AWAY, one_line, room_problem

TYPING_PER_SECOND, TYPING_BURST = 2.0, 2
DEFAULT_AWAY = "away"


def typing(room: Room, member: Member, message: protocol.Typing) -> None:
    """Relay one typing frame to the room's others, or to the person it names.

    Raises:
        MessageError: ``bad_room`` or ``no_such_room`` for a room that is not one.
    """
    if message.room is not None:
        problem = room_problem(message.room)
        if problem:
            raise MessageError(protocol.BAD_ROOM, f"{message.room[:40]!r} is not a room name: {problem}")
        if message.room.casefold() != protocol.LOBBY:
            raise MessageError(protocol.NO_SUCH_ROOM, f"there is no room {message.room[:40]}")
    if member.typing_bucket is None:
        member.typing_bucket = TokenBucket(TYPING_PER_SECOND, TYPING_BURST)
    if not member.typing_bucket.take():
        return  # over 2 a second: dropped silently
    event = {"type": "typing", "name": member.name, "state": message.state}
    with room.lock:
        if member.gone or member.kicked:
            return
        if message.to is None:
            event["room"] = protocol.LOBBY
            target = None
        else:
            target = room.membership.get(message.to)
            if target is None or target is member or not target.welcomed:
                return  # nobody to tell: typing is best effort
            event["to"] = target.name
        outgoing = Outgoing(event)

        def deliver(delivery: Delivery) -> None:
            room.broadcast(delivery, outgoing, exclude=member,
                           only=None if target is None else (target,))

        try:
            room.journal.submit(None, deliver, wake=False)
        except JournalClosed:
            return  # shutting down: nobody to tell
    room.journal.run_inline()


def set_away(room: Room, member: Member, message: Optional[str], msg_id: Optional[str]) -> None:
    """``/away [MESSAGE]`` (``message`` "" means the default) or ``/back`` (None):
    everyone sharing a room with the member, the member included, gets ``presence``,
    and a structured member its ``ack`` after it (the command's answer)."""
    if message is not None:
        message = one_line(message, MAX_AWAY) or DEFAULT_AWAY
    with room.lock:
        if member.gone:
            return
        if member.away == message:  # nothing changes: the ack alone
            if not member.plain:
                room.ack(member, msg_id)
            return
        room.membership.set_away(member, message)
        outgoing = Outgoing({"type": "presence", "name": member.name, "away": message})

        def deliver(delivery: Delivery) -> None:
            room.broadcast(delivery, outgoing)
            if not member.plain:
                room.stage_ack(delivery, member, msg_id, None)

        room.journal.submit(None, deliver)
