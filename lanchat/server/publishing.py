"""Publishing: a member's chat lines become stored, ordered, delivered events.

``publish`` takes a run of lines of one kind from one member (all the chat lines one
read brought, or the one line of a ``/me`` or ``/msg``) and makes them one journal
entry under one hold of the room lock: each line is checked, held by moderation or
the rate limit, or given its seq and its row; a ``say`` id the session already used
is acked again with its first seq instead of being published twice. The entry is
stored all or none; once stored, one callback delivers the lines to the others and
the sender's answers (acks and refusals, in the order of its lines), and if the
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
from lanchat.errors import JournalClosed, MessageError, StoreUnavailable
from lanchat.server.delivery import Delivery, Outgoing
from lanchat.server.members import Member, Session
from lanchat.server.moderation import RoomModes
from lanchat.server.room import SHUTTING_DOWN_TEXT, Room
from lanchat.server.rooms import ChatRoom

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
            to: Optional[str] = None, where: Optional[ChatRoom] = None) -> None:
    """Publish ``lines``, ``[(text, msg_id)]``, as ``kind`` messages from ``member`` in
    the room ``where`` (#lobby by default), or to the member called ``to`` alone for a
    private message.

    Every line is answered in its place: an ack, or an error (empty, too long, rate
    limited, muted, slow mode, nobody called ``to``), all in one journal entry, so a
    refusal never overtakes the ack of a line before it.
    """
    checked = []
    for text, msg_id in lines:
        try:
            checked.append((check_text(text, room.config.max_text), msg_id, None))
        except MessageError as exc:
            checked.append((None, msg_id, protocol.error_message(exc.code, exc.message, msg_id)))
    with room.lock:
        _queue(room, member, kind, checked, to, where or room.rooms.lobby)


def _rate_text(rate: float) -> str:
    return f"{rate:g} message{'' if rate == 1 else 's'} per second"


def _queue(room: Room, member: Member, kind: str, lines: list, to: Optional[str],
           where: ChatRoom) -> None:
    # Room lock held: seqs, rows and one journal entry for the lines, each item
    # (Outgoing or None, msg_id, seq, error or None) answered in order.
    if member.gone:
        return
    target = None
    if to is not None:
        target = room.membership.get(to)
        if target is None or not target.welcomed:
            nobody = f"nobody called {to!r} is here"
            lines = [(text, msg_id, error or protocol.error_message(
                protocol.NO_SUCH_USER, nobody, msg_id)) for text, msg_id, error in lines]
    elif member not in where.members:  # it left the room (or was sent out) meanwhile
        gone = f"you are not in {where.name}"
        lines = [(text, msg_id, error or protocol.error_message(
            protocol.NOT_IN_ROOM, gone, msg_id, room=where.name)) for text, msg_id, error in lines]
    state = room.membership.sessions[member.session]
    modes = where.modes
    # Mutes and slow mode hold lines in the room, not private ones, and never an op's.
    moderated = target is None and (modes.mutes or modes.slow) and not room.is_op(member, where)
    plan, taken = [], {}  # (text, msg_id, seq or index of the line it repeats, error)
    for text, msg_id, error in lines:
        if error is not None:
            plan.append((None, msg_id, None, error))
            continue
        if msg_id is not None:
            seq = state.ids.get(msg_id)
            if seq is None and msg_id in taken:
                seq = -1 - taken[msg_id]  # a repeat within this run: that line's seq
            if seq is not None:
                # A resend of a line already taken: ack again (after its commit).
                plan.append((None, msg_id, seq, None))
                continue
        refusal = _refusal(room, member, modes if moderated else None, msg_id)
        if refusal is not None:
            plan.append((None, msg_id, None, refusal))
            continue
        if msg_id is not None:
            taken[msg_id] = len(plan)
        plan.append((text, msg_id, None, None))
    count = sum(1 for text, _, _, _ in plan if text is not None)
    first, now = 0, 0.0
    if count:
        try:
            first, now = room.next_seqs(count)  # consecutive: the lines stay together
        except StoreUnavailable as exc:
            unavailable = str(exc)
            plan = [(None, msg_id, seq, error if text is None and (seq is None or seq >= 0)
                     else protocol.error_message(protocol.UNAVAILABLE, unavailable, msg_id))
                    for text, msg_id, seq, error in plan]
            taken = {}
    items, rows, seqs = [], [], {}
    sender, session, name = member.key, member.session, member.name
    recipient = target.key if target is not None else None
    recipient_session = target.session if target is not None else None
    for index, (text, msg_id, seq, error) in enumerate(plan):
        if text is None:
            items.append((None, msg_id, seqs.get(-1 - seq, seq) if seq is not None and seq < 0
                          else seq, error))
            continue
        seq = seqs[index] = first
        first += 1
        event = {"type": "message", "seq": seq, "ts": now, "from": name, "text": text,
                 "kind": kind}
        if target is not None:
            event["to"] = target.name
        else:
            event["room"] = where.name
        out = Outgoing(event)
        rows.append(room.journal.row(
            event, sender=sender, recipient=recipient, session=session,
            recipient_session=recipient_session, msg_id=msg_id, body=out.body()))
        items.append((out, msg_id, seq, None))
    taken = {msg_id: seqs[index] for msg_id, index in taken.items()}
    if not items:
        return
    try:
        room.journal.submit_rows(rows, partial(_deliver, room, member, target, where.key, items),
                                 refused=partial(_refused, room, member, state, items),
                                 repeated=partial(_repeated, state, items), wake=False)
    except JournalClosed:
        for _, msg_id, _, _ in items:
            member.send(protocol.error_message(protocol.SHUTTING_DOWN, SHUTTING_DOWN_TEXT, msg_id))
        return
    state.ids.update(taken)
    while len(state.ids) > IDS_PER_SESSION:
        del state.ids[next(iter(state.ids))]


def _refusal(room: Room, member: Member, modes: Optional[RoomModes],
             msg_id: Optional[str]) -> Optional[dict]:
    # Room lock held: a kicked member, a mute, slow mode, the rate limit, in that order;
    # slow mode counts a line only once it is taken.
    if member.kicked:
        return protocol.error_message(protocol.NOT_IN_ROOM, "you were sent out of the room",
                                      msg_id, room=protocol.LOBBY)
    now = time.time()
    if modes is not None:
        if modes.muted(member.key):
            return protocol.error_message(protocol.MUTED, f"you are muted in {modes.room}",
                                          msg_id, room=modes.room)
        wait = modes.slow_wait(member.session, now)
        if wait:
            return protocol.error_message(
                protocol.SLOW_MODE, f"{modes.room} is in slow mode: one line every "
                f"{modes.slow} s", msg_id, room=modes.room, retry_after=round(wait, 3))
    if not member.bucket.take():
        return protocol.error_message(
            protocol.RATE_LIMITED, "you are sending too fast; the limit is "
            f"{_rate_text(room.config.rate)}", msg_id,
            retry_after=round(member.bucket.retry_after(), 3))
    if modes is not None:
        modes.note_line(member.session, now)
    return None


def _deliver(room: Room, member: Member, target: Optional[Member], where: str, items: list,
             delivery: Delivery) -> None:
    # The lines' seqs are consecutive, so the sender's answers all go where its own
    # lines would have been, in the order of its lines.
    lines = [out for out, _, _, _ in items if out is not None]
    if target is not None:
        for out in lines:
            room.broadcast(delivery, out, exclude=member, only=(target,))
    else:
        delivery.to_room_many(where, lines, member)
    if not member.gone:
        delivery.one(member, member.dialect.join([
            (member.frame(error) if error is not None else room.ack_frame(member, msg_id, seq))
            or b"" for _, msg_id, seq, error in items]))


def _repeated(state: Session, items: list, firsts: dict) -> None:
    # (A group) another server stored some of these lines first (the same say id):
    # they are acked with that seq instead of being delivered again.
    for index, (out, msg_id, seq, error) in enumerate(items):
        if out is not None and seq in firsts:
            items[index] = (None, msg_id, firsts[seq], None)
            state.ids[msg_id] = firsts[seq]


def _refused(room: Room, member: Member, state: Session, items: list,
             delivery: Delivery) -> None:
    # The journal could not store the new lines, so they were not sent, and a resend
    # of them is new. A resend of a line stored before is acked again, as it would
    # have been; the other refusals stand.
    code, why = (protocol.UNAVAILABLE, "the chat's shared store (Redis) could not take your "
                 "message; it was not sent: send it again in a moment") if room.shared else \
        (protocol.NOT_STORED, "the server could not store your message (is its disk full?); "
         "it was not sent")
    for out, msg_id, seq, error in items:
        if out is not None:
            state.ids.pop(msg_id, None)
            error = protocol.error_message(code, why, msg_id)
        if error is not None:
            delivery.one(member, member.frame(error))
        else:
            room.stage_ack(delivery, member, msg_id, seq)
