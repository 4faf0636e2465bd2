"""The room: members, the global seq counter, commands and the broadcast.

One lock (``Room.lock``) guards membership, names, sessions and the seq counter. A
change is decided under it and given its seq there, then handed to the journal, which
stores it and delivers it one batch at a time, in seq order, so every member sees
events in the same order (a chat line's own thread runs the batch when the journal is
idle, saving a thread hand-off; otherwise the journal's thread does). A batch's
deliveries are gathered per member (``delivery.Delivery``) and each member gets them
in one non-blocking ``send`` on its outbound queue, with each frame encoded once per
event and kind of connection, never once per recipient.

Connection handlers (``server.py``) call ``join``, ``line``, ``leave``; nothing here
reads a socket.
"""

from __future__ import annotations

import logging
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Optional

import protocol
from lanchat import eventtext
from lanchat.errors import JournalClosed, MessageError
from lanchat.server.config import ServerConfig
from lanchat.server.delivery import Delivery, NameList, Outgoing, encode_ack, welcome_frame
from lanchat.server.journal import Journal
from lanchat.server.memtrim import Trimmer
from lanchat.server.ratelimit import TokenBucket

log = logging.getLogger("chat.room")

PLAIN_ACK = "Msg received"  # what the classic tutorial server answers
HELP = """commands:
  /nick NEW         change your name
  /me TEXT          an action: * you TEXT
  /msg NAME TEXT    private message (also /w)
  /who              list who is here (also /users, /names)
  /history [N]      show the last N messages (default 20)
  /help             this list
  /quit [reason]    leave (plain clients: also !DISCONNECT)
  //text            send text starting with /"""
HISTORY_COMMAND_DEFAULT, HISTORY_COMMAND_MAX = 20, 500
IDS_PER_SESSION = 10000  # say ids remembered per session (a resend comes within minutes)
MAX_REASON = 200  # characters of a leave reason (a user may give one to everyone)


@dataclass(eq=False)
class Member:
    """One joined connection. ``out`` has a non-blocking ``send(bytes)``."""

    name: str
    out: Any
    plain: bool
    peer: str
    session: str
    bucket: TokenBucket
    welcomed: bool = False
    welcome_sent: bool = False  # the welcome (and replay) handed to the socket
    gone: bool = False
    close_reason: Optional[str] = None  # set when the room ends this connection
    kick: Any = None  # callable(reason) that closes the connection, set by the server

    @property
    def key(self) -> str:
        return protocol.name_key(self.name)

    def frame(self, message: dict) -> Optional[bytes]:
        """A reply meant for this member only (not a seq'd event), framed for its kind."""
        if self.plain:
            line = eventtext.describe(message, self.name)
            return None if line is None else protocol.encode_frame(line)
        return protocol.message_frame(message)

    def send(self, message: dict) -> None:
        """Send a reply meant for this member only, from a connection's own thread."""
        data = self.frame(message)
        if data is not None:
            self.out.send(data)

    def send_text(self, text: str) -> None:
        """A plain acknowledgement line (plain connections only)."""
        self.out.send(protocol.encode_frame(text))


@dataclass
class _SessionState:
    name: str
    ids: dict = field(default_factory=dict)  # say id -> seq


class Room:
    """Members, seq and broadcast for one chat room.

    Args:
        journal: where events are stored before delivery (started here).
        settings: limits and the server's identity.
    """

    def __init__(self, journal: Journal, settings: ServerConfig):
        self.journal = journal
        self.settings = settings
        self.lock = threading.Lock()
        self.members: dict = {}        # name key -> Member
        self._names = NameList()       # the members' names, encoded for welcomes
        # Members who get events (welcomed, not gone), by kind, as ordered sets: a
        # batch's common frames go to these without a test per member.
        self._json_readers: dict = {}
        self._plain_readers: dict = {}
        self.seq = journal.last_seq
        self._sessions: dict = {token: _SessionState(name)
                                for token, name in journal.sessions(time.time()).items()}
        for token, ids in journal.known_ids().items():
            self._sessions.setdefault(token, _SessionState("?")).ids.update(ids)
        self._guests = 0
        self.closing = False
        self._delivery: Optional[Delivery] = None  # the batch being delivered
        self._trimmer = Trimmer()
        journal.start(self._deliver_batch)

    # ------------------------------------------------------------------ joining

    def join(self, out, requested: Optional[str], *, plain: bool, peer: str,
             since: Optional[int] = None, resume: Optional[str] = None,
             kick: Any = None) -> Member:
        """Add a connection to the room and queue its join (and welcome).

        Args:
            requested: the asked name; None gives a plain client ``guest-<n>``.
        Raises:
            MessageError: ``bad_name`` (the connection may try another hello).
        """
        if requested is not None:
            # Control characters make a name invalid (PROTOCOL.md section 4): refused,
            # not silently removed, so the user knows what name they asked for.
            problem = protocol.name_problem(requested)
            if problem:
                raise MessageError(protocol.BAD_NAME, f"{requested[:40]!r} is not a valid name: {problem}")
        replaced = None
        with self.lock:
            if self.closing:
                raise MessageError(protocol.SHUTTING_DOWN, "the server is shutting down")
            state = self._sessions.get(resume) if resume else None
            if state is not None:
                token = resume
                requested = state.name if state.name != "?" else requested
                holder = self.members.get(protocol.name_key(requested))
                if holder is not None and holder.session == token:
                    replaced = holder
                    self._remove(holder, "replaced")
            else:
                token = secrets.token_urlsafe(18)
                state = self._sessions[token] = _SessionState("?")
            if requested is None:
                # guest-<n> with the next n nobody holds (someone may have asked for it).
                self._guests += 1
                while protocol.name_key(f"guest-{self._guests}") in self.members:
                    self._guests += 1
                requested = f"guest-{self._guests}"
            name = self._free_name(requested)
            seq, now = self._next_seq()
            member = Member(name=name, out=out, plain=plain, peer=peer, session=token,
                            bucket=TokenBucket(self.settings.rate, self.settings.burst),
                            kick=kick)
            state.name = name
            event = {"type": "join", "seq": seq, "ts": now, "name": name}
            # Built once per join, so a crowd joining costs no JSON encoding per name.
            welcome = None if plain else welcome_frame(
                name=name, others=self._names.encoded(), server=self.settings.server_name,
                max_text=self.settings.max_text, max_frame=self.settings.max_frame_bytes, seq=seq,
                session=token)
            try:
                # Plain clients cannot resume, so their sessions are not kept.
                self.journal.submit(event, lambda replayed: self._deliver_join(member, event, welcome, replayed),
                                    sender=member.key, session=token,
                                    session_name=None if plain else name, now=now,
                                    prepare=lambda: self._replay_for(member, event, since))
            except JournalClosed:
                raise MessageError(protocol.SHUTTING_DOWN, "the server is shutting down") from None
            self._add_member(member)
        if replaced is not None and replaced.kick is not None:
            replaced.kick("replaced")
        log.info("%s joined as %s (%s)", peer, name, "plain" if plain else "structured")
        return member

    def _add_member(self, member: Member) -> None:
        self.members[member.key] = member
        self._names.add(member.key, member.name)

    def _drop_member(self, member: Member) -> None:
        del self.members[member.key]
        self._names.remove(member.key)

    def _free_name(self, wanted: str) -> str:
        if protocol.name_key(wanted) not in self.members:
            return wanted
        number = 2
        while protocol.name_key(protocol.numbered_name(wanted, number)) in self.members:
            number += 1
        return protocol.numbered_name(wanted, number)

    def _next_seq(self) -> tuple:
        self.seq += 1
        return self.seq, time.time()

    def _replay_for(self, member: Member, event: dict, since: Optional[int]) -> tuple:
        # Prepared outside the room lock, after the commit of everything up to the join.
        if member.plain:
            return [], 0
        try:
            return self.journal.replay(member.session, since=since, until=event["seq"],
                                       limit=self.settings.history)
        except sqlite3.Error as exc:  # the join goes ahead, without the history
            log.error("could not read the history for %s: %s", member.name, exc)
            return [], 0

    def _deliver_join(self, member: Member, event: dict, welcome: Optional[bytes],
                      replayed: tuple) -> None:
        # Lock held, in a batch's delivery.
        replay, left_out = replayed
        delivery = self._delivery
        if not member.gone:
            delivery.starting(member)  # nothing from before its join
        self._broadcast(Outgoing(event), exclude=member)
        if member.gone:
            return
        member.welcomed = True
        (self._plain_readers if member.plain else self._json_readers)[member] = None
        delivery.after.append(partial(setattr, member, "welcome_sent", True))
        if member.plain:
            return
        delivery.one(member, welcome)
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
        reason = " ".join(protocol.clean_text(reason).split())[:MAX_REASON] or "left"
        with self.lock:
            self._remove(member, reason)

    def _remove(self, member: Member, reason: str) -> None:
        # Lock held.
        if member.gone:
            return
        member.gone = True
        self._json_readers.pop(member, None)
        self._plain_readers.pop(member, None)
        if self.members.get(member.key) is member:
            self._drop_member(member)
        if member.plain:
            self._sessions.pop(member.session, None)
        seq, now = self._next_seq()
        event = {"type": "leave", "seq": seq, "ts": now, "name": member.name, "reason": reason}
        out = Outgoing(event)
        try:
            self.journal.submit(event, lambda: self._broadcast(out),
                                sender=member.key, now=now)
        except JournalClosed:
            pass  # shutting down and the journal is closed: nobody left to tell
        log.info("%s (%s) left: %s", member.name, member.peer, reason)

    # ------------------------------------------------------------------ delivery

    def _broadcast(self, out: Outgoing, exclude: Optional[Member] = None,
                   only: Optional[tuple] = None) -> None:
        # Lock held, in a batch's delivery. Who takes an event meant for everyone is
        # settled when the batch is sent (Delivery.collect).
        if only is None:
            self._delivery.everyone(out, exclude)
            return
        for member in only:
            if member is not exclude and member.welcomed and not member.gone:
                self._delivery.one(member, out)

    def _deliver_batch(self, actions: list) -> None:
        """Run one committed batch's deliveries, then send each member its share.

        The journal calls this with the batch's ``(prepare, deliver)`` callbacks, one
        batch at a time, in seq order. ``prepare`` runs first, without the room lock
        (history queries); the ``deliver`` callbacks then run under one hold of the
        lock; the sends, non-blocking, are made after it is released.
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
            self._delivery = delivery
            try:
                for (prepare, action), value in zip(actions, prepared):
                    try:
                        if prepare is None:
                            action()
                        elif value is not failed:
                            action(value)
                    except Exception:
                        log.exception("delivery failed")
                sends = delivery.collect(self._json_readers, self._plain_readers) \
                    if delivery else ()
            finally:
                self._delivery = None
        for member, data in sends:
            try:
                member.out.send(data)
            except Exception:
                # A bug in one connection's send path must not cost the others this
                # batch: log it with the peer and drop that connection.
                log.exception("delivery to %s (%s) failed", member.name, member.peer)
                if member.kick is not None:
                    member.kick("internal error")
        del sends
        self._trimmer.delivered(delivery.built)
        for done in delivery.after:
            done()

    def delivered(self, timeout: float) -> bool:
        """Wait until everything submitted so far has been handed to the sockets.

        A connection's thread calls it before a direct reply (pong, error) that must
        not overtake what the journal still has to deliver, such as the welcome.
        """
        done = threading.Event()
        try:
            self.journal.submit(None, lambda: self._delivery.after.append(done.set))
        except JournalClosed:
            return True
        return done.wait(timeout)

    def _ack_frame(self, member: Member, msg_id: Optional[str], seq: Optional[int]) -> bytes:
        if member.plain:
            return protocol.encode_frame(PLAIN_ACK)
        return protocol.encode_frame(encode_ack(msg_id, seq))

    def _ack(self, member: Member, msg_id: Optional[str], seq: Optional[int]) -> None:
        """Acknowledge at once, from the member's own thread (a command with no event)."""
        if not member.gone:
            member.out.send(self._ack_frame(member, msg_id, seq))

    def _stage_ack(self, member: Member, msg_id: Optional[str], seq: Optional[int]) -> None:
        """Acknowledge in the batch being delivered, in order with its events."""
        if not member.gone:
            self._delivery.one(member, self._ack_frame(member, msg_id, seq))

    # ------------------------------------------------------------------ lines

    def error(self, member: Member, code: str, message: str, msg_id: Optional[str] = None) -> None:
        """Send one ``error`` to a member (a line ``error: ...`` to plain ones)."""
        member.send(protocol.error_message(code, message, msg_id))

    def line(self, member: Member, text: str, msg_id: Optional[str] = None) -> Optional[str]:
        """Handle one line a member sent: chat, action, private or a command.

        Returns:
            a leave reason if the member asked to leave, else None. Errors are sent to
            the member here. The line's event is committed and delivered once the
            caller calls ``deliver_pending`` (after the other frames of the same read,
            so they share one commit and one send per member).
        """
        try:
            return self._line(member, text, msg_id)
        except MessageError as exc:
            self.error(member, exc.code, exc.message, msg_id)
        except JournalClosed:
            self.error(member, protocol.SHUTTING_DOWN, "the server is shutting down", msg_id)
        return None

    def deliver_pending(self) -> None:
        """Commit and deliver the lines submitted so far, on this thread if the journal
        is idle (saving a hand-off to its thread). Call it without the room lock."""
        self.journal.run_inline()

    def _line(self, member: Member, text: str, msg_id: Optional[str]) -> Optional[str]:
        if member.plain and text == "!DISCONNECT":
            member.send_text("Goodbye")
            return "quit"
        if text.startswith("/") and not text.startswith("//"):
            return self._command(member, text, msg_id)
        if text.startswith("//"):
            text = text[1:]
        self._publish(member, "chat", text, msg_id)
        return None

    def _check_text(self, text: str, msg_id: Optional[str]) -> str:
        text = protocol.clean_text(text)
        if not text.strip():
            raise MessageError(protocol.EMPTY_TEXT, "message is empty")
        if len(text) > self.settings.max_text:
            raise MessageError(protocol.TEXT_TOO_LONG, f"message is {len(text)} characters; "
                               f"the limit is {self.settings.max_text}")
        return text

    def lines(self, member: Member, items: list) -> Optional[str]:
        """Handle several ``(text, msg_id)`` lines from one read, in order, as ``line``
        each, but taking the room lock once for each run of chat lines among them.

        Returns a leave reason if one of them asked to leave (the rest are dropped).
        """
        run: list = []
        for text, msg_id in items:
            if text.startswith("/") and not text.startswith("//") or member.plain:
                self._publish_run(member, run)
                run = []
                leave = self.line(member, text, msg_id)
                if leave is not None:
                    return leave
            else:
                run.append((text[1:] if text.startswith("//") else text, msg_id))
        self._publish_run(member, run)
        return None

    def _publish_run(self, member: Member, run: list) -> None:
        checked, errors = [], []
        for text, msg_id in run:
            try:
                checked.append((self._check_text(text, msg_id), msg_id))
            except MessageError as exc:
                errors.append((exc.code, exc.message, msg_id))
        if checked:
            with self.lock:
                errors += self._publish_locked(member, "chat", checked)
        for code, message, msg_id in errors:
            self.error(member, code, message, msg_id)

    def _publish(self, member: Member, kind: str, text: str, msg_id: Optional[str],
                 to: Optional[str] = None) -> None:
        text = self._check_text(text, msg_id)
        with self.lock:
            errors = self._publish_locked(member, kind, [(text, msg_id)], to)
        if errors:
            raise MessageError(errors[0][0], errors[0][1])

    def _publish_locked(self, member: Member, kind: str, lines: list,
                        to: Optional[str] = None) -> list:
        """Give checked ``(text, msg_id)`` lines their seqs and hand them to the journal
        as one entry (stored all or none, delivered by one callback).

        Returns ``[(code, message, msg_id)]`` for the lines refused.
        """
        if member.gone:
            return []
        target = None
        if to is not None:
            target = self.members.get(protocol.name_key(to))
            if target is None or not target.welcomed:
                return [(protocol.NO_SUCH_USER, f"nobody called {to!r} is here", msg_id)
                        for _, msg_id in lines]
        state = self._sessions[member.session]
        items, rows, taken, errors = [], [], {}, []
        sender, session, name = member.key, member.session, member.name
        recipient = target.key if target is not None else None
        recipient_session = target.session if target is not None else None
        for text, msg_id in lines:
            if msg_id is not None:
                seq = state.ids.get(msg_id) or taken.get(msg_id)
                if seq is not None:
                    # A resend of a line already taken: ack again (after its commit).
                    items.append((None, msg_id, seq))
                    continue
            if not member.bucket.take():
                errors.append((protocol.RATE_LIMITED, "you are sending too fast; the limit "
                               f"is {self.settings.rate:g} messages per second", msg_id))
                continue
            seq, now = self._next_seq()
            event = {"type": "message", "seq": seq, "ts": now, "from": name,
                     "text": text, "kind": kind}
            if target is not None:
                event["to"] = target.name
            out = Outgoing(event)
            rows.append(self.journal.row(
                event, sender=sender, recipient=recipient, session=session,
                recipient_session=recipient_session, msg_id=msg_id, body=out.body()))
            items.append((out, msg_id, seq))
            if msg_id is not None:
                taken[msg_id] = seq
        if not items:
            return errors
        try:
            self.journal.submit_rows(rows, partial(self._deliver_lines, member, target, items),
                                     refused=partial(self._refused_lines, member, state, items),
                                     wake=False)
        except JournalClosed:
            return errors + [(protocol.SHUTTING_DOWN, "the server is shutting down", msg_id)
                             for _, msg_id, _ in items]
        state.ids.update(taken)
        while len(state.ids) > IDS_PER_SESSION:
            del state.ids[next(iter(state.ids))]
        return errors

    def _deliver_lines(self, member: Member, target: Optional[Member], items: list) -> None:
        # Lock held, in a batch's delivery. The lines' seqs are consecutive, so the
        # sender's acks all go where its own lines would have been.
        if target is not None:
            for out, _, _ in items:
                if out is not None:
                    self._broadcast(out, exclude=member, only=(target,))
        else:
            self._delivery.everyone_many([out for out, _, _ in items if out is not None], member)
        if not member.gone:
            self._delivery.one(member, b"".join(
                [self._ack_frame(member, msg_id, seq) for _, msg_id, seq in items]))

    def _refused_lines(self, member: Member, state: _SessionState, items: list) -> None:
        # Lock held, in a batch's delivery: the journal could not store the new lines,
        # so they were not sent, and a resend of them is new. A resend of a line
        # stored before is acked again, as it would have been.
        for out, msg_id, seq in items:
            if out is None:
                self._stage_ack(member, msg_id, seq)
                continue
            state.ids.pop(msg_id, None)
            self.error(member, protocol.NOT_STORED, "the server could not store your "
                       "message (is its disk full?); it was not sent", msg_id)

    def _reply_ok(self, member: Member, msg_id: Optional[str]) -> None:
        """Answer a command that made no event: ack for structured, a line for plain."""
        self._ack(member, msg_id, None)

    def _command(self, member: Member, text: str, msg_id: Optional[str]) -> Optional[str]:
        word, _, rest = text[1:].partition(" ")
        word = word.lower()
        rest = rest.strip()
        if word == "nick":
            self._nick(member, rest, msg_id)
        elif word == "me":
            self._publish(member, "action", rest, msg_id)
        elif word in ("msg", "w"):
            to, _, body = rest.partition(" ")
            if not to:
                raise MessageError(protocol.NO_SUCH_USER, "usage: /msg NAME TEXT")
            self._publish(member, "private", body, msg_id, to=to)
        elif word in ("who", "users", "names"):
            with self.lock:
                users = [m.name for m in self.members.values() if m.welcomed or m is member]
            member.send({"type": "users", "users": users})
            if not member.plain:
                self._ack(member, msg_id, None)
        elif word == "help":
            member.send({"type": "system", "text": HELP})
            if not member.plain:
                self._ack(member, msg_id, None)
        elif word == "history":
            self._history(member, rest, msg_id)
        elif word == "quit":
            if member.plain:
                member.send_text("Goodbye")
            else:
                self._ack(member, msg_id, None)
            return rest or "quit"
        else:
            raise MessageError(protocol.UNKNOWN_COMMAND,
                               f"unknown command /{word[:30]}; /help lists the commands")
        return None

    def _nick(self, member: Member, new: str, msg_id: Optional[str]) -> None:
        # Not cleaned: control characters make the name invalid, as in hello.
        if not new or " " in new:
            raise MessageError(protocol.BAD_NAME, "usage: /nick NEW (one word)")
        problem = protocol.name_problem(new)
        if problem:
            raise MessageError(protocol.BAD_NAME, f"{new[:40]!r} is not a valid name: {problem}")
        with self.lock:
            if member.gone:
                return
            holder = self.members.get(protocol.name_key(new))
            if holder is not None and holder is not member:
                raise MessageError(protocol.NAME_TAKEN, f"the name {new!r} is taken")
            if new == member.name:
                self._reply_ok(member, msg_id)
                return
            old = member.name
            self._drop_member(member)
            member.name = new
            self._add_member(member)
            self._sessions[member.session].name = new
            seq, now = self._next_seq()
            event = {"type": "nick", "seq": seq, "ts": now, "old": old, "new": new}
            out = Outgoing(event)

            def deliver():
                self._broadcast(out)  # everyone, the renamed one included
                if not member.plain:
                    self._stage_ack(member, msg_id, seq)

            self.journal.submit(event, deliver, sender=member.key, session=member.session,
                                session_name=new, now=now)

    def _history(self, member: Member, arg: str, msg_id: Optional[str]) -> None:
        try:
            count = int(arg) if arg else HISTORY_COMMAND_DEFAULT
        except ValueError:
            raise MessageError(protocol.UNKNOWN_COMMAND, "usage: /history [N]") from None
        count = max(1, min(count, HISTORY_COMMAND_MAX))
        with self.lock:
            until = self.seq

        def recent():  # outside the room lock
            try:
                past = self.journal.recent_messages(member.session, count, until)
            except sqlite3.Error as exc:
                log.error("could not read the history for %s: %s", member.name, exc)
                return ["the history could not be read; try again later"]
            return [f"{eventtext.clock(e['ts'])} {eventtext.describe(e, member.name)}"
                    for e in past] or ["no messages yet"]

        def deliver(lines):
            if member.gone:
                return
            # One readable block for both kinds: replayed events would carry seqs
            # the client already has, and clients drop those.
            self._delivery.one(member, member.frame({"type": "system", "text": "\n".join(lines)}))
            if not member.plain:
                self._stage_ack(member, msg_id, None)

        self.journal.submit(None, deliver, prepare=recent)

    # ------------------------------------------------------------------ shutdown

    def shutting_down(self) -> list:
        """Tell every member the server is going away; returns the members."""
        with self.lock:
            self.closing = True
            members = list(self.members.values())
        for member in members:
            member.close_reason = "server shutting down"
            self.error(member, protocol.SHUTTING_DOWN, "the server is shutting down")
        return members
