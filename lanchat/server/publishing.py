"""Publishing: a member's chat lines become stored, ordered, delivered events.

``publish`` takes a run of lines of one kind from one member (all the chat lines one
read brought, or the one line of a ``/me`` or ``/msg``) and makes them one journal
entry under one hold of the room lock: each line is checked, rate-limited, given its
seq and its row; a ``say`` id the session already used is acked again with its first
seq instead of being published twice. The entry is stored all or none; once stored,
one callback delivers the lines to the others and the acks to the sender, and if the
database refused it, the sender is told the lines were not stored (not acked).

The entry is queued without waking the journal's thread: ``incoming.said`` commits
and delivers everything a read queued once it is through, on its own thread when the
journal is idle.
"""

from __future__ import annotations

import time
from functools import partial
from typing import Optional

import protocol
from lanchat.text import clean_text
from lanchat.errors import JournalClosed, MessageError
from lanchat.server.delivery import Delivery, Outgoing
from lanchat.server.members import Member, Session
from lanchat.server.moderation import RoomModes
from lanchat.server.room import SHUTTING_DOWN_TEXT, Room

IDS_PER_SESSION = 10000  # say ids remembered per session (a resend comes within minutes)


def check_text(text: str, max_text: int) -> str:
    """The text of a line as it will be sent: control characters removed.

    Raises:
        MessageError: ``empty_text``, ``text_too_long``.
    """
    text = clean_text(text)
    if not text.strip():
        raise MessageError(protocol.EMPTY_TEXT, "message is empty")
    if len(text) > max_text:
        raise MessageError(protocol.TEXT_TOO_LONG, f"message is {len(text)} characters; "
                           f"the limit is {max_text}")
    return text


def publish(room: Room, member: Member, kind: str, lines: list,
            to: Optional[str] = None) -> list:
    """Publish ``lines``, ``[(text, msg_id)]``, as ``kind`` messages from ``member``
    (to the member called ``to`` alone for a private message).

    Returns:
        the ``error`` messages for the lines refused, in order, for the caller to
        send to the member.
    """
    checked, errors = [], []
    for text, msg_id in lines:
        try:
            checked.append((check_text(text, room.config.max_text), msg_id))
        except MessageError as exc:
            errors.append(protocol.error_message(exc.code, exc.message, msg_id))
    if checked:
        with room.lock:
            errors += _queue(room, member, kind, checked, to)
    return errors


def _rate_text(rate: float) -> str:
    return f"{rate:g} message{'' if rate == 1 else 's'} per second"


def _queue(room: Room, member: Member, kind: str, lines: list, to: Optional[str]) -> list:
    # Room lock held: seqs, rows and one journal entry for the checked lines.
    if member.gone or member.kicked:
        return []
    target = None
    if to is not None:
        target = room.membership.get(to)
        if target is None or not target.welcomed:
            return [protocol.error_message(protocol.NO_SUCH_USER, f"nobody called {to!r} is here",
                                           msg_id) for _, msg_id in lines]
    state = room.membership.sessions[member.session]
    modes = room.modes
    # Mutes and slow mode hold lines in the room, not private ones, and never an op's.
    moderated = target is None and (modes.mutes or modes.slow) and not room.is_op(member)
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
        if moderated:
            refusal = _moderation_refusal(modes, member, msg_id)
            if refusal is not None:
                errors.append(refusal)
                continue
        if not member.bucket.take():
            errors.append(protocol.error_message(
                protocol.RATE_LIMITED, "you are sending too fast; the limit is "
                f"{_rate_text(room.config.rate)}", msg_id,
                retry_after=round(member.bucket.retry_after(), 3)))
            continue
        seq, now = room.next_seq()
        event = {"type": "message", "seq": seq, "ts": now, "from": name, "text": text,
                 "kind": kind}
        if target is not None:
            event["to"] = target.name
        out = Outgoing(event)
        rows.append(room.journal.row(
            event, sender=sender, recipient=recipient, session=session,
            recipient_session=recipient_session, msg_id=msg_id, body=out.body()))
        items.append((out, msg_id, seq))
        if msg_id is not None:
            taken[msg_id] = seq
    if not items:
        return errors
    try:
        room.journal.submit_rows(rows, partial(_deliver, room, member, target, items),
                                 refused=partial(_refused, room, member, state, items),
                                 wake=False)
    except JournalClosed:
        return errors + [protocol.error_message(protocol.SHUTTING_DOWN, SHUTTING_DOWN_TEXT,
                                                msg_id) for _, msg_id, _ in items]
    state.ids.update(taken)
    while len(state.ids) > IDS_PER_SESSION:
        del state.ids[next(iter(state.ids))]
    return errors


def _moderation_refusal(modes: RoomModes, member: Member, msg_id: Optional[str]) -> Optional[dict]:
    # Room lock held: muted, or too soon under slow mode (this line starts the wait).
    if modes.muted(member.key):
        return protocol.error_message(protocol.MUTED, f"you are muted in {modes.room}", msg_id,
                                      room=modes.room)
    wait = modes.slow_wait(member.session, time.time())
    if wait:
        return protocol.error_message(
            protocol.SLOW_MODE, f"{modes.room} is in slow mode: one line every {modes.slow} s",
            msg_id, room=modes.room, retry_after=round(wait, 3))
    return None


def _deliver(room: Room, member: Member, target: Optional[Member], items: list,
             delivery: Delivery) -> None:
    # The lines' seqs are consecutive, so the sender's acks all go where its own
    # lines would have been.
    if target is not None:
        for out, _, _ in items:
            if out is not None:
                room.broadcast(delivery, out, exclude=member, only=(target,))
    else:
        delivery.everyone_many([out for out, _, _ in items if out is not None], member)
    if not member.gone:
        delivery.one(member, b"".join(
            [room.ack_frame(member, msg_id, seq) for _, msg_id, seq in items]))


def _refused(room: Room, member: Member, state: Session, items: list,
             delivery: Delivery) -> None:
    # The journal could not store the new lines, so they were not sent, and a resend
    # of them is new. A resend of a line stored before is acked again, as it would
    # have been.
    for out, msg_id, seq in items:
        if out is None:
            room.stage_ack(delivery, member, msg_id, seq)
            continue
        state.ids.pop(msg_id, None)
        delivery.one(member, member.frame(protocol.error_message(
            protocol.NOT_STORED, "the server could not store your message (is its disk "
            "full?); it was not sent", msg_id)))
