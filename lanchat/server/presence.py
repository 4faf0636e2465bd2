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

from lanchat import codec
from lanchat.errors import JournalClosed
from lanchat.ratelimit import TokenBucket
from lanchat.server.delivery import Delivery, Outgoing
from lanchat.server.members import Member
from lanchat.server.room import Room
from lanchat.server.roomcommands import find
from lanchat.text import MAX_AWAY, one_line

TYPING_PER_SECOND, TYPING_BURST = 2.0, 2
DEFAULT_AWAY = "away"


def typing(room: Room, member: Member, message: codec.Typing) -> None:
    """Relay one typing frame to the room's others, or to the person it names.

    Raises:
        MessageError: ``bad_room``, ``no_such_room``, ``not_in_room``.
    """
    if member.typing_bucket is None:
        member.typing_bucket = TokenBucket(TYPING_PER_SECOND, TYPING_BURST)
    if not member.typing_bucket.take():
        return  # over 2 a second: dropped silently
    event = {"type": "typing", "name": member.name, "state": message.state}
    with room.lock:
        if member.gone or member.kicked:
            return
        if message.to is None:
            where = find(room, member, message.room)
            event["room"] = where.name
            target = None
        else:
            target = room.membership.get(message.to)
            if target is None and room.shared and message.to.casefold() in room.membership.remote:
                event["to"] = room.membership.remote[message.to.casefold()].name
                room.journal.relay.publish(event)  # someone on another server
                return
            if target is None or target is member or not target.welcomed:
                return  # nobody to tell: typing is best effort
            event["to"] = target.name
        outgoing = Outgoing(event)

        room_key = None if target is not None else where.key

        def deliver(delivery: Delivery) -> None:
            if target is None:
                room.broadcast(delivery, outgoing, exclude=member, room=room_key)
            else:
                room.broadcast(delivery, outgoing, exclude=member, only=(target,))

        try:
            room.journal.submit(None, deliver, wake=False)
        except JournalClosed:
            return  # shutting down: nobody to tell
    room.journal.run_inline()
    if room.shared:  # and the people on the group's other servers
        room.journal.relay.publish(event)


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
    if room.shared:
        room.journal.relay.publish(outgoing.event)
