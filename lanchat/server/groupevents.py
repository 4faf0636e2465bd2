"""Events another server of the group stored, delivered to this server's members.

``redisjournal.RedisJournal``'s reader hands each one here, in seq order, in a batch
whose ``Delivery`` it shares with this server's own events (room lock held): the
event goes to the members of this server who would have had it from their own.
"""

from __future__ import annotations

import protocol
from lanchat.server.delivery import Delivery, Outgoing


def deliver(room, delivery: Delivery, event: dict) -> None:
    """``event`` (stored by another server) to ``room``'s members here (a
    ``room.Room``; room lock held)."""
    out = Outgoing(event)
    if event["type"] == "message" and "to" in event:  # private: the addressee only
        target = room.membership.get(event["to"])
        if target is not None and target.welcomed:
            delivery.one(target, out)
        return
    where = event.get("room")
    delivery.to_room(where.casefold() if isinstance(where, str) else protocol.LOBBY, out)
