"""The room: one lock, one seq counter, joins and leaves, and the batch delivery.

One lock (``Room.lock``) guards the membership (``members.Membership``) and the seq
counter. A change is decided under it and given its seq there, then handed to the
journal, which stores it and delivers it one batch at a time, in seq order, so every
member sees events in the same order (a chat line's own thread runs the batch when the
journal is idle, saving a thread hand-off; otherwise the journal's thread does).

Each stored change comes with a delivery callback, which the room runs with the
batch's ``Delivery`` as its first argument: the callback says who gets what
(``broadcast``, ``stage_ack``, ``Delivery.one``), the delivery gathers it per member,
and after the batch each member gets its share in one non-blocking ``send``, each
frame encoded once per event and kind of connection, never once per recipient.

What members say is handled by ``incoming.said`` (chat lines by ``publishing``,
commands by ``commands``); nothing here reads a socket.
"""

from __future__ import annotations

import logging
import secrets
import sqlite3
import threading
import time
from functools import partial
from typing import Any, Callable, Optional, Union

import protocol
from lanchat.server import groupevents, welcomes
from lanchat.text import name_key, name_problem, one_line
from lanchat.errors import JournalClosed, MessageError, StoreUnavailable
from lanchat.server.config import ServerConfig
from lanchat.server.crowd import crowd_size
from lanchat.server.delivery import Delivery, Outgoing
from lanchat.server.journal import Journal
from lanchat.server.members import Member, Membership, Session
from lanchat.server.memtrim import Trimmer
from lanchat.server.moderation import RoomModes
from lanchat.server.rooms import ChatRoom, RoomList
from lanchat.ratelimit import TokenBucket

log = logging.getLogger("chat.room")

MAX_REASON = 200  # characters of a leave reason (a user may give one to everyone)
SHUTTING_DOWN_TEXT = "the server is shutting down"


class Room:
    """Members, seq and broadcast for one chat room.

    Args:
        journal: where events are stored before delivery (started here).
        config: the server's settings (limits, the server's name).
    """

    def __init__(self, journal: Journal, config: ServerConfig):
        self.journal = journal
        self.config = config
        self.lock = threading.Lock()
        sessions = {token: Session(name) for token, name in journal.sessions(time.time()).items()}
        for token, ids in journal.known_ids().items():
            sessions.setdefault(token, Session("?")).ids.update(ids)
        self.membership = Membership(sessions)
        self.members = self.membership.members  # name key -> Member (read under the lock)
        modes: dict = {}  # room key -> RoomModes, rebuilt from the stored events
        for event, address in journal.mode_events():
            name = event.get("room") if isinstance(event.get("room"), str) else protocol.LOBBY
            modes.setdefault(name.casefold(), RoomModes(name)).apply(event, address)
        self.rooms = RoomList(modes)             # #lobby and the rooms people made
        self.modes = self.rooms.lobby.modes      # #lobby's: bans here refuse connections
        self.admins: set = set()                 # session tokens that gave /admin PASSWORD
        self.seq = journal.last_seq
        self.shared = journal.shared  # one of a group (--redis): the group gives seqs
        self.welcomes = welcomes.Waiting()  # in a group: built, joins not yet delivered
        self.closing = False
        self._trimmer = Trimmer()
        if self.shared:
            groupevents.load(self)
        journal.start(self._deliver_batch, partial(groupevents.deliver, self))

    def next_seq(self) -> tuple:
        """The next seq and the time for an event (room lock held). In a group,
        raises ``StoreUnavailable`` if Redis cannot be reached."""
        if self.shared:
            self.seq = self.journal.take_seqs(1)
        else:
            self.seq += 1
        return self.seq, time.time()

    def next_seqs(self, count: int) -> tuple:
        """``count`` consecutive seqs (the first) and the time (room lock held)."""
        if self.shared:
            self.seq = self.journal.take_seqs(count)
        else:
            self.seq += count
        return self.seq - count + 1, time.time()

    # ------------------------------------------------------------------ joining

    def join(self, transport, requested: Optional[str], *, dialect, peer: str,
             address: Optional[str] = None, since: Optional[int] = None,
             resume: Optional[str] = None, kick: Optional[Callable[..., None]] = None) -> Member:
        """Add a connection to the room and queue its join (and welcome).

        Args:
            requested: the asked name; None gives a plain client ``guest-<n>``.
            dialect: how the connection is written to (``lanchat.dialects.writers``).
            kick: closes the connection (a resumed session's old one, a failed send).
        Raises:
            MessageError: ``bad_name`` (the connection may try another hello),
                ``banned`` (the name or the address: the connection is refused), or
                ``shutting_down``.
        """
        if requested is not None:
            # Control characters make a name invalid (PROTOCOL.md section 4): refused,
            # not silently removed, so the user knows what name they asked for.
            problem = name_problem(requested)
            if problem:
                raise MessageError(protocol.BAD_NAME, f"{requested[:40]!r} is not a valid name: {problem}")
        plain = not dialect.structured
        replaced = None
        with self.lock:
            if self.closing:
                raise MessageError(protocol.SHUTTING_DOWN, SHUTTING_DOWN_TEXT)
            roster = self.membership
            state = roster.session_of(resume, self.journal.fetch_session) if resume else None
            if state is not None and state.name != "?":
                self._refuse_banned(state.name, address)
            elif requested is not None or address is not None:
                self._refuse_banned(requested or "", address)
            if state is not None:
                token = resume
                requested = state.name if state.name != "?" else requested
                holder = roster.get(requested)
                if holder is not None and holder.session == token:
                    replaced = holder
                    self.remove(holder, "replaced")
            else:
                token = secrets.token_urlsafe(18)
                state = Session("?")  # kept once the join has its name and seq
            name = roster.guest_name() if requested is None else requested
            try:
                name, seq, now = groupevents.claim_join(self, name, token) if self.shared \
                    else (roster.free_name(name), *self.next_seq())
            except StoreUnavailable as exc:
                raise MessageError(protocol.UNAVAILABLE, str(exc)) from None
            roster.sessions[token] = state
            member = Member(name=name, transport=transport, dialect=dialect, peer=peer, session=token,
                            bucket=TokenBucket(self.config.rate, self.config.burst), kick=kick,
                            address=address)
            state.name = name
            event = {"type": "join", "seq": seq, "ts": now, "name": name, "room": protocol.LOBBY}
            crowd = crowd_size(len(self.rooms.lobby.members) + 1, self.config.announce_limit)
            # Built once per join, so a crowd joining costs no JSON encoding per name.
            welcome = None if plain else welcomes.build(self, member, seq)
            try:
                # Plain clients cannot resume, so their sessions are not kept.
                self.journal.submit(
                    event, lambda delivery, replayed: self._deliver_join(
                        delivery, member, event, welcome, replayed, crowd),
                    sender=member.key, session=token, session_name=None if plain else name,
                    now=now, prepare=lambda: self._replay_for(member, event, since))
            except JournalClosed:
                raise MessageError(protocol.SHUTTING_DOWN, SHUTTING_DOWN_TEXT) from None
            roster.add(member)
            self.rooms.lobby.members[member] = None
            member.rooms[protocol.LOBBY] = self.rooms.lobby
        if replaced is not None and replaced.kick is not None:
            replaced.kick("replaced")
        log.info("%s joined as %s (%s)", peer, name, dialect.name)
        return member

    def _refuse_banned(self, name: str, address: Optional[str]) -> None:
        # Room lock held: a #lobby ban refuses the connection (PROTOCOL.md section 8).
        when = self.modes.ban_ends(name_key(name), address)
        if when is not None:
            raise MessageError(protocol.BANNED, f"you are banned from this server {when}")

    def _is_op_session(self, token: str, where: Optional[ChatRoom] = None) -> bool:
        return token in self.admins or token in (where or self.rooms.lobby).modes.ops

    def is_op(self, member: Member, where: Optional[ChatRoom] = None) -> bool:
        """An op of the room (default #lobby), or an admin (room lock held)."""
        return self._is_op_session(member.session, where)

    def op_names(self, where: Optional[ChatRoom] = None) -> list:
        """The names of the room's ops and admins in it, and its ops elsewhere in a group."""
        where, by_session = where or self.rooms.lobby, self.membership.by_session
        tokens = self.admins | where.modes.ops  # no sort if none: ~2.5 KiB of C stack
        names = [by_session[token].name for token in (sorted(tokens) if tokens else ())
                 if token in by_session and by_session[token] in where.members]
        return groupevents.with_remote_ops(self, where, names) if self.shared else names

    def room_object(self, where: ChatRoom, member: Member) -> dict:
        """The contract's room object of ``where`` for ``member`` (room lock held)."""
        return where.modes.room_object(where.names(), self.op_names(where), member.key)

    def _replay_for(self, member: Member, event: dict, since: Optional[int]) -> tuple:
        # Prepared outside the room lock, after the commit of everything up to the join.
        if member.plain:
            return [], 0
        try:
            # Up to the join, not including it: a join goes to the others (the
            # joiner has its welcome, with the same seq).
            return self.journal.replay(member.session, since=since, until=event["seq"] - 1,
                                       limit=self.config.history)
        except (sqlite3.Error, StoreUnavailable) as exc:  # the join goes ahead, without the history
            log.error("could not read the history for %s: %s", member.name, exc)
            return [], 0

    def _deliver_join(self, delivery: Delivery, member: Member, event: dict,
                      welcome: Optional[bytes], replayed: tuple, crowd: Optional[int]) -> None:
        replay, left_out = replayed
        if not member.gone:
            delivery.starting(member)  # nothing from before its join
        delivery.announce(protocol.LOBBY, Outgoing(event), crowd, exclude=member)
        if member.gone:
            return
        member.welcomed = True
        self.rooms.lobby.start_reading(member)
        if member.plain:
            return
        delivery.one(member, welcomes.ready(self, member, welcome))
        if left_out:
            delivery.one(member, member.frame({
                "type": "system", "text": f"{left_out} earlier events are not shown; "
                "/history N shows older messages"}))
        for past in replay:
            delivery.one(member, protocol.message_frame(past))

    # ------------------------------------------------------------------ leaving

    def leave(self, member: Member, reason: str) -> None:
        """Remove a member (idempotent) and tell the others why."""
        # A bye or /quit reason is the user's text sent to everyone: clean it, one
        # line, bounded.
        reason = one_line(reason, MAX_REASON) or "left"
        with self.lock:
            self.remove(member, reason)

    def remove(self, member: Member, reason: str) -> None:
        """Take a member out and queue its ``leave`` (room lock held; idempotent)."""
        if member.gone:
            return
        member.gone = True
        self.membership.drop(member)
        if self.shared:
            self.journal.names.release(member.key, member.session)
        for where in member.rooms.values():  # out of every room now: it gets nothing more
            where.members.pop(member, None)
            where.stop_reading(member)
            self.rooms.ended(where)
        member.rooms = {}
        crowd = crowd_size(len(self.rooms.lobby.members), self.config.announce_limit)
        try:
            seq, now = self.next_seq()
        except StoreUnavailable:
            groupevents.left_later(self, member, reason)
            return
        event = {"type": "leave", "seq": seq, "ts": now, "name": member.name, "reason": reason}
        out = Outgoing(event)
        try:
            self.journal.submit(event, lambda delivery: delivery.announce(protocol.LOBBY, out, crowd),
                                sender=member.key, now=now)
        except JournalClosed:
            pass  # shutting down and the journal is closed: nobody left to tell
        log.info("%s (%s) left: %s", member.name, member.peer, reason)

    # ------------------------------------------------------------------ delivery

    def broadcast(self, delivery: Delivery, out: Outgoing, exclude: Optional[Member] = None,
                  only: Optional[tuple] = None, room: str = protocol.LOBBY) -> None:
        """``out`` to every member of ``room`` (a key; #lobby, where everyone is, by
        default) but ``exclude``, or to those in ``only``, in this batch. Who takes it
        is settled when the batch is sent (``Delivery.collect``)."""
        if only is None:
            delivery.to_room(room, out, exclude)
            return
        for member in only:
            if member is not exclude and member.welcomed and not member.gone:
                delivery.one(member, out)

    def _deliver_batch(self, actions: list) -> None:
        """Run one committed batch's deliveries, then send each member its share.

        The journal calls this with the batch's ``(prepare, deliver)`` callbacks, one
        batch at a time, in seq order. ``prepare`` runs first, without the room lock
        (history queries); each ``deliver(delivery[, prepared])`` then runs under one
        hold of the lock; the sends, non-blocking, are made after it is released.
        """
        failed = object()  # a prepare that raised: its delivery cannot run
        prepared = []
        for prepare, _ in actions:
            try:
                prepared.append(None if prepare is None else prepare())
            except Exception:
                log.exception("delivery failed")
                prepared.append(failed)
        delivery = Delivery()
        with self.lock:
            for (prepare, action), value in zip(actions, prepared):
                try:
                    if prepare is None:
                        action(delivery)
                    elif value is not failed:
                        action(delivery, value)
                except Exception:
                    log.exception("delivery failed")
            sends = delivery.collect(self.rooms.readers()) if delivery else ()
        for member, data in sends:
            try:
                member.transport.send(data)
            except Exception:
                # A bug in one connection's send path must not cost the others this
                # batch: log it with the peer and drop that connection.
                log.exception("delivery to %s (%s) failed", member.name, member.peer)
                if member.kick is not None:
                    member.kick("internal error")
        del sends
        self._trimmer.delivered(delivery.built, settled=not self.journal.backlog)
        for done in delivery.after:
            done()

    def delivered(self, timeout: float) -> bool:
        """Wait until everything submitted so far has been handed to the sockets.

        A connection's thread calls it before a direct reply (pong, error) that must
        not overtake what the journal still has to deliver, such as the welcome.
        """
        done = threading.Event()
        try:
            self.journal.submit(None, lambda delivery: delivery.after.append(done.set))
        except JournalClosed:
            return True
        return done.wait(timeout)

    # ------------------------------------------------------------------ replies

    def ack_frame(self, member: Member, msg_id: Optional[str], seq: Optional[int]) -> Optional[bytes]:
        """The acknowledgement of one line in the member's dialect (None: nothing, for
        the dialects whose tutorial servers send the sender nothing back)."""
        if member.plain:
            return member.dialect.ack
        return protocol.encode_frame(protocol.encode_ack(msg_id, seq))

    def reply(self, member: Member, message: Union[dict, bytes, None]) -> None:
        """A reply meant for this member only (a command's answer, an error, a pong),
        in order with everything queued for it before: it goes through the journal
        (no row), so it never overtakes the welcome or the acks of earlier lines.
        None (an ack a dialect does not send) is nothing."""
        frame = message if isinstance(message, bytes) or message is None else member.frame(message)
        if frame is None:
            return

        def deliver(delivery: Delivery) -> None:
            if not member.gone:
                delivery.one(member, frame)

        try:
            self.journal.submit(None, deliver)
        except JournalClosed:  # shutting down: straight out, as there is no order left
            member.transport.send(frame)

    def ack(self, member: Member, msg_id: Optional[str]) -> None:
        """Acknowledge a command that made no event (``seq: null``), in order."""
        self.reply(member, self.ack_frame(member, msg_id, None))

    def stage_ack(self, delivery: Delivery, member: Member, msg_id: Optional[str],
                  seq: Optional[int]) -> None:
        """Acknowledge in the batch being delivered, in order with its events."""
        if not member.gone:
            delivery.one(member, self.ack_frame(member, msg_id, seq))

    def error(self, member: Member, code: str, message: str, msg_id: Optional[str] = None,
              **extra: Any) -> None:
        """Send one ``error`` to a member (a line ``error: ...`` to plain ones), in order."""
        self.reply(member, protocol.error_message(code, message, msg_id, **extra))

    # ------------------------------------------------------------------ shutdown

    def shutting_down(self) -> list:
        """Tell every member the server is going away, and end their connections once
        that has left (each leaves with "server shutting down", unless it was already
        being closed for another reason); returns the members."""
        with self.lock:
            self.closing = True
            members = list(self.members.values())
        for member in members:  # to everyone's socket before any kick (and its leave)
            member.send(protocol.error_message(protocol.SHUTTING_DOWN, SHUTTING_DOWN_TEXT))
        for member in members:
            if member.kick is not None:
                member.kick("server shutting down", flush=True)
        return members
