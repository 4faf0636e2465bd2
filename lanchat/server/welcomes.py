"""Welcomes: built when a join takes its seq, and in a group kept until they go out.

A join's ``welcome`` (``users``, ``away``, #lobby's room object; ``Room.join``) and a
room's ``joined`` (``roomcommands.enter``) are built under the room lock when the join
takes its seq, the welcome once per join with the names copied in as they are kept
encoded (``protocol.welcome_frame``). On one server that is the room as of the join's
seq: every change with a lower seq was made under the lock before it, every change
with a higher one comes later and reaches the newcomer as an event.

In a group (docs/cluster.md) another server's changes are made here only when the
reader delivers them, in seq order. One with a lower seq than the newcomer's join can
still be on its way when the welcome is built: it is then applied here, and sent to
the room's readers, before the newcomer's join is delivered, so the newcomer would
get neither the event nor a welcome that shows it (someone missing from its list, a
ghost, an old name, until it reconnects). So in a group each welcome waits in
``Waiting`` from its join until the join is delivered, and the other servers' events
applied meanwhile (all of them below the join's seq, as the reader keeps the order)
are folded into it (``ready``, ``joined_ready``): it then shows every join, part,
leave and nick below its seq, and the newcomer gets as events exactly those above it.
Away messages (no seq, best effort across servers) are folded the same way; the
room's topic, slow mode, ops and mutes, states rather than changes, are read again as
the room has them when the welcome goes out (a later local change that follows as an
event sets what the welcome already shows).

Everything here runs with the room lock held.
"""

from __future__ import annotations

import protocol
from lanchat.text import name_key

# The events of other servers that change what a welcome shows.
SHOWN = frozenset({"join", "part", "kick", "leave", "nick", "presence", "topic", "mode"})


class Waiting:
    """The welcomes built and not yet delivered, in a group: for each newcomer and
    room, the other servers' events applied since its welcome was built."""

    def __init__(self):
        self._since: dict = {}  # (Member, room key) -> [event], in the order applied

    def __len__(self) -> int:
        return len(self._since)

    def add(self, member, key: str) -> None:
        """``member``'s welcome to the room ``key`` was just built."""
        self._since[member, key] = []

    def heard(self, event: dict) -> None:
        """Another server's ``event`` was applied here (``groupevents.deliver``)."""
        if not self._since or event.get("type") not in SHOWN:
            return
        for (member, key), events in list(self._since.items()):
            if key not in member.rooms:  # gone, or out again, before the join went out
                del self._since[member, key]
            else:
                events.append(event)

    def take(self, member, key: str) -> list:
        """The events heard since ``member``'s welcome to ``key`` was built; it
        waits no more."""
        return self._since.pop((member, key), None) or []


def build(room, member, seq: int) -> bytes:
    """``member``'s welcome as of its join's ``seq`` (a ``room.Room``; structured
    members only). In a group it then waits for its join's delivery (``ready``)."""
    roster, config, lobby = room.membership, room.config, room.rooms.lobby
    ops = room.op_names() + ([member.name] if room.is_op(member) else [])
    frame = protocol.welcome_frame(
        name=member.name, others=roster.names.encoded(), server=config.server_name,
        max_text=config.max_text, max_frame=config.max_frame_bytes, seq=seq,
        session=member.session, rate=config.rate, burst=config.burst,
        away=roster.away_names(), admin=member.session in room.admins, lobby={
            "room": protocol.LOBBY, "topic": lobby.modes.topic, "ops": ops,
            "slow": lobby.modes.slow, "muted": lobby.modes.muted(member.key)})
    if room.shared:
        room.welcomes.add(member, protocol.LOBBY)
    return frame


def ready(room, member, welcome: bytes) -> bytes:
    """``welcome`` (``build``'s) as it goes out, at its join's delivery: with the
    other servers' events applied while it waited folded in, if there were any."""
    events = room.welcomes.take(member, protocol.LOBBY)
    if not events:
        return welcome
    message = protocol.decode_message(welcome[protocol.HEADER_SIZE:])
    lobby = message["rooms"][0]
    _fold_into(room, member, room.rooms.lobby, lobby, message["away"], events)
    message["users"] = lobby["users"]
    return protocol.message_frame(message)


def joined_ready(room, member, where, joined: dict) -> dict:
    """A ``joined`` (``roomcommands.enter``: ``where`` is the ``ChatRoom``) as it goes
    out: with the other servers' events applied while it waited folded in."""
    events = room.welcomes.take(member, where.key)
    if events:
        _fold_into(room, member, where, joined["room"], joined["away"], events)
    return joined


def _fold_into(room, member, where, shown: dict, away: dict, events: list) -> None:
    # ``shown`` (a room object) and ``away`` changed in place.
    others = {name_key(name): name for name in shown["users"] if name != member.name}
    for event in events:
        fold(others, away, event, member.key, where.key)
    modes = where.modes
    shown.update(
        users=list(others.values()) + [member.name], topic=modes.topic, slow=modes.slow,
        muted=modes.muted(member.key),
        ops=[name for name in room.op_names(where) if name_key(name) in others]
        + ([member.name] if room.is_op(member, where) else []))


def fold(others: dict, away: dict, event: dict, me: str, key: str) -> None:
    """Apply another server's ``event`` to the people a welcome to the room ``key``
    shows: ``others`` (name key -> name; the newcomer aside, ``me`` its key, which no
    event here changes) and ``away`` (name -> message)."""
    kind, where = event.get("type"), event.get("room")
    here = (where if isinstance(where, str) else protocol.LOBBY).casefold() == key
    name = event.get("name")
    if not isinstance(name, str):
        name = None
    elif name_key(name) == me:  # the newcomer's own name: what its welcome says stays
        return
    if kind == "join" and here and name is not None:
        others.setdefault(name_key(name), name)
    elif name is not None and (kind == "leave" or (
            kind in ("part", "kick") and here and key != protocol.LOBBY)):
        # (A kick from #lobby is followed by its target's leave.)
        away.pop(others.pop(name_key(name), None), None)
    elif kind == "nick" and isinstance(event.get("old"), str) and isinstance(event.get("new"), str):
        old, new = name_key(event["old"]), name_key(event["new"])
        if old != me and new != me and old in others:
            shown = others.pop(old)
            others[new] = event["new"]
            if shown in away:
                away[event["new"]] = away.pop(shown)
    elif kind == "presence" and name is not None:
        shown = others.get(name_key(name))
        if shown is not None:
            if isinstance(event.get("away"), str):
                away[shown] = event["away"]
            else:
                away.pop(shown, None)
