"""What a member said: the lines one read brought, handled in order.

The handler gathers the ``say`` bodies (or a plain client's lines) of one read and
calls ``said`` once. Chat lines in a row go to ``publishing.publish`` as one run (one
hold of the room lock, one journal entry, one delivery callback); a command
(``commands.run``) or a plain client's line is handled on its own, in its place.
Before ``said`` returns it runs the journal's batch on this thread if the journal is
idle (saving a hand-off to its thread); if another thread is running one, that thread
takes what this read queued next. Either way the read's lines reach the others in
one ``send`` each, and every reply (ack, error, command answer) goes through the
journal too, so the member gets them in the order it sent the lines.
"""

from __future__ import annotations

from typing import Optional

import protocol
from lanchat.errors import JournalClosed, MessageError, StoreUnavailable
from lanchat.server import commands, roomcommands
from lanchat.server.members import Member
from lanchat.server.publishing import publish
from lanchat.server.room import SHUTTING_DOWN_TEXT, Room

DISCONNECT = "!DISCONNECT"  # the tutorial clients' way to say /quit


def said(room: Room, member: Member, lines: list) -> Optional[str]:
    """Handle ``lines``, ``[(text, msg_id, room name or None)]`` from one read, in
    order; a line with no room goes to #lobby (a plain client's, to its current room).

    Returns:
        a leave reason if one of them asked to leave (the lines after it are
        dropped), else None. Refusals are sent to the member here.
    """
    try:
        return _handle(room, member, lines)
    finally:
        room.journal.run_inline()


def _unescaped(text: str) -> str:
    return text[1:] if text.startswith("//") else text


def _handle(room: Room, member: Member, lines: list) -> Optional[str]:
    run: list = []
    run_room = None
    for text, msg_id, name in lines:
        name = name or (member.current if member.plain else protocol.LOBBY)
        if member.plain or commands.is_command(text) or (run and name != run_room):
            _publish_run(room, member, run, run_room)
            run = []
        if member.plain or commands.is_command(text):
            leave = _one(room, member, text, msg_id, name)
            if leave is not None:
                return leave
        else:
            run.append((_unescaped(text), msg_id))
            run_room = name
    _publish_run(room, member, run, run_room)
    return None


def _publish_run(room: Room, member: Member, run: list, name: Optional[str]) -> None:
    # A run of chat lines to one room, published together.
    if not run:
        return
    try:
        where = roomcommands.find(room, member, name)
    except MessageError as exc:
        for _, msg_id in run:
            room.error(member, exc.code, exc.message, msg_id, room=name[:40])
        return
    publish(room, member, "chat", run, where=where)


def _one(room: Room, member: Member, text: str, msg_id: Optional[str],
         name: str) -> Optional[str]:
    # A command, or a plain client's line: refusals go back to the member.
    try:
        if member.plain and text == DISCONNECT:
            room.reply(member, member.dialect.line(commands.GOODBYE))
            return "quit"
        if commands.is_command(text):
            return commands.run(room, member, text, msg_id, roomcommands.find(room, member, name))
        _publish_run(room, member, [(_unescaped(text), msg_id)], name)
    except MessageError as exc:
        room.error(member, exc.code, exc.message, msg_id)
    except JournalClosed:
        room.error(member, protocol.SHUTTING_DOWN, SHUTTING_DOWN_TEXT, msg_id)
    except StoreUnavailable as exc:  # a group's Redis, for a command's event
        room.error(member, protocol.UNAVAILABLE, str(exc), msg_id)
    return None
