"""Slash commands: one function per command, found by name in ``COMMANDS``.

Every command has the same shape, ``command(room, member, arg, msg_id)``, returns a
leave reason (``/quit``) or None, and answers the member itself: with an event
through the journal (``/nick``), a reply (``users``, ``system``), an ``ack`` with
``seq: null`` for structured members, or by raising ``MessageError``. A new command
(``/join``, ``/topic``, ``/kick``) is one more function and one more line in
``COMMANDS``.
"""

from __future__ import annotations

import logging
import sqlite3
from typing import Callable, Dict, Optional

import protocol
from lanchat.text import name_key, name_problem
from lanchat import eventtext
from lanchat.errors import MessageError, StoreUnavailable
from lanchat.server.delivery import Delivery, Outgoing
from lanchat.server import modcommands, roomcommands
from lanchat.server.members import Member
from lanchat.server.presence import set_away
from lanchat.server.publishing import publish
from lanchat.server.room import Room
from lanchat.server.rooms import ChatRoom

log = logging.getLogger("chat.room")

HELP = """commands:
  /nick NEW         change your name
  /me TEXT          an action: * you TEXT
  /msg NAME TEXT    private message (also /w)
  /who [#room]      list who is here (also /users, /names)
  /history [N]      show the last N messages (default 20)
  /join #room       go into a room, or make one (/part [#room] leaves it)
  /rooms            list the rooms (also /list)
  /away [MESSAGE]   tell everyone you are away (/back when you are here again)
  /help             this list
  /quit [reason]    leave (plain clients: also !DISCONNECT)
  /admin PASSWORD   become an admin (an op everywhere)
  /op NAME          ops: make NAME an op (/deop NAME undoes it)
  /kick NAME [why]  ops: send NAME out (/ban, /mute NAME [minutes])
  /slow SECONDS     ops: one line per SECONDS for non-ops (/slow 0 ends it)
  /topic [TEXT]     show the topic; ops: set it
  //text            send text starting with /"""
HISTORY_COMMAND_DEFAULT, HISTORY_COMMAND_MAX = 20, 500
GOODBYE = "Goodbye"  # a plain client's answer to /quit and !DISCONNECT


def is_command(text: str) -> bool:
    """A line is a command if it starts with ``/`` (``//`` escapes a leading slash)."""
    return text.startswith("/") and not text.startswith("//")


def run(room: Room, member: Member, text: str, msg_id: Optional[str],
        where: ChatRoom) -> Optional[str]:
    """Run the command ``text`` (``/word args``) in the room ``where`` (the say's
    room); returns a leave reason or None.

    Raises:
        MessageError: the command's refusal (``unknown_command`` for an unknown word).
    """
    word, _, rest = text[1:].partition(" ")
    word = word.lower()
    command = COMMANDS.get(word)
    if command is None:
        raise MessageError(protocol.UNKNOWN_COMMAND,
                           f"unknown command /{word[:30]}; /help lists the commands")
    if member.kicked and word != "quit":  # sent out: nothing more but leaving
        raise MessageError(protocol.NOT_IN_ROOM, "you were sent out of the room")
    if word not in UNMETERED and not member.bucket.take():
        # Commands count against --rate like lines (/me and /msg are counted as the
        # lines they make; /quit and /admin, which has its own limit, are not).
        room.error(member, protocol.RATE_LIMITED, "you are sending too fast; wait a moment",
                   msg_id, retry_after=round(member.bucket.retry_after(), 3))
        return None
    return command(room, member, rest.strip(), msg_id, where)


def _answered(room: Room, member: Member, msg_id: Optional[str]) -> None:
    # A command that made no event is acked (structured members; a plain client's
    # command answers with its reply alone).
    if not member.plain:
        room.ack(member, msg_id)


def nick(room: Room, member: Member, new: str, msg_id: Optional[str],
         where: ChatRoom) -> None:
    """``/nick NEW``: rename; everyone gets ``nick`` (the renamed one too)."""
    # Not cleaned: control characters make the name invalid, as in hello.
    if not new or " " in new:
        raise MessageError(protocol.BAD_NAME, "usage: /nick NEW (one word)")
    problem = name_problem(new)
    if problem:
        raise MessageError(protocol.BAD_NAME, f"{new[:40]!r} is not a valid name: {problem}")
    with room.lock:
        if member.gone:
            return
        holder = room.membership.get(new)
        if holder is not None and holder is not member:
            raise MessageError(protocol.NAME_TAKEN, f"the name {new!r} is taken")
        if room.modes.is_banned(name_key(new)) and name_key(new) != member.key:
            raise MessageError(protocol.BANNED, f"the name {new!r} is banned here")
        if new == member.name:
            room.ack(member, msg_id)
            return
        if room.shared and name_key(new) != member.key and \
                not room.journal.names.claim(name_key(new), new, member.session):
            raise MessageError(protocol.NAME_TAKEN, f"the name {new!r} is taken")
        try:
            seq, now = room.next_seq()  # before anything changes: it may be unavailable
        except StoreUnavailable:
            if room.shared and name_key(new) != member.key:
                room.journal.names.release(name_key(new), member.session)
            raise
        old = member.name
        for modes in room.rooms.modes.values():  # a mute goes with the person
            modes.renamed(member.key, name_key(new))
        if room.shared and name_key(old) != name_key(new):
            room.journal.names.release(name_key(old), member.session)
        room.membership.rename(member, new)
        event = {"type": "nick", "seq": seq, "ts": now, "old": old, "new": new}
        out = Outgoing(event)

        def deliver(delivery: Delivery) -> None:
            room.broadcast(delivery, out)  # everyone, the renamed one included
            if not member.plain:
                room.stage_ack(delivery, member, msg_id, seq)

        room.journal.submit(event, deliver, sender=member.key, session=member.session,
                            session_name=new, now=now)


def me(room: Room, member: Member, text: str, msg_id: Optional[str],
       where: ChatRoom) -> None:
    """``/me TEXT``: an action message."""
    publish(room, member, "action", [(text, msg_id)], where=where)


def private(room: Room, member: Member, arg: str, msg_id: Optional[str],
            where: ChatRoom) -> None:
    """``/msg NAME TEXT``: a private message to NAME alone."""
    to, _, body = arg.partition(" ")
    if not to:
        raise MessageError(protocol.NO_SUCH_USER, "usage: /msg NAME TEXT")
    publish(room, member, "private", [(body, msg_id)], to=to, where=where)


def who(room: Room, member: Member, arg: str, msg_id: Optional[str],
        where: ChatRoom) -> None:
    """``/who [#room]``: a ``users`` reply for that room (default: the say's room)."""
    if arg:
        where = room.rooms.get(roomcommands.valid_room(arg))
        if where is None:
            raise MessageError(protocol.NO_SUCH_ROOM, f"there is no room {arg[:40]}")
    with room.lock:
        users = [m.name for m in where.members if m.welcomed or m is member]
        away = {name: message for name, message in room.membership.away_names().items()
                if name in users}
    room.reply(member, {"type": "users", "room": where.name, "users": users, "away": away})
    _answered(room, member, msg_id)


def help_(room: Room, member: Member, _arg: str, msg_id: Optional[str],
          where: ChatRoom) -> None:
    """``/help``: the list of commands as a ``system`` reply."""
    room.reply(member, {"type": "system", "text": HELP})
    _answered(room, member, msg_id)


def history(room: Room, member: Member, arg: str, msg_id: Optional[str],
            where: ChatRoom) -> None:
    """``/history [N]``: the last N messages as one readable ``system`` block."""
    try:
        count = int(arg) if arg else HISTORY_COMMAND_DEFAULT
    except ValueError:
        raise MessageError(protocol.UNKNOWN_COMMAND, "usage: /history [N]") from None
    count = max(1, min(count, HISTORY_COMMAND_MAX))
    with room.lock:
        until = room.seq

    def recent() -> list:  # after the commit, outside the room lock
        try:
            past = room.journal.recent_messages(member.session, count, until, where.key)
        except (sqlite3.Error, StoreUnavailable) as exc:
            log.error("could not read the history for %s: %s", member.name, exc)
            return ["the history could not be read; try again later"]
        if not past:
            return ["no messages yet"]
        # A heading, so the block never reads as a second copy of the join's replay.
        heading = "the last message:" if len(past) == 1 else f"the last {len(past)} messages:"
        return [heading] + [f"{eventtext.clock(e['ts'])} {eventtext.describe(e, member.name)}"
                            for e in past]

    def deliver(delivery: Delivery, lines: list) -> None:
        if member.gone:
            return
        # One readable block for both kinds: replayed events would carry seqs the
        # client already has, and clients drop those.
        delivery.one(member, member.frame({"type": "system", "text": "\n".join(lines)}))
        if not member.plain:
            room.stage_ack(delivery, member, msg_id, None)

    room.journal.submit(None, deliver, prepare=recent)


def away(room: Room, member: Member, message: str, msg_id: Optional[str],
         where: ChatRoom) -> None:
    """``/away [MESSAGE]``: everyone sharing a room sees you away (``presence``)."""
    set_away(room, member, message, msg_id)  # to everyone sharing a room: #lobby


def back(room: Room, member: Member, _arg: str, msg_id: Optional[str],
         where: ChatRoom) -> None:
    """``/back``: no longer away."""
    set_away(room, member, None, msg_id)


def quit_(room: Room, member: Member, reason: str, msg_id: Optional[str],
          where: ChatRoom) -> str:
    """``/quit [reason]``: leave (the handler closes the connection)."""
    if member.plain:
        room.reply(member, member.dialect.line(GOODBYE))
    else:
        room.ack(member, msg_id)
    return reason or "quit"


# Commands not counted against --rate here (see run).
UNMETERED = frozenset({"me", "msg", "w", "quit", "admin"})

COMMANDS: Dict[str, Callable[[Room, Member, str, Optional[str]], Optional[str]]] = {
    "nick": nick, "me": me, "msg": private, "w": private,
    "who": who, "users": who, "names": who,
    "help": help_, "history": history, "quit": quit_, "away": away, "back": back,
    **modcommands.COMMANDS, **roomcommands.COMMANDS,
}
