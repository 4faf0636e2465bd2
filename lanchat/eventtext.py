"""One human-readable line per chat event.

The server uses it for plain (tutorial-style) connections, whose every frame is a line
of text, and the ``--cli`` client uses it to print what arrives, so both read alike:
``alice: hi``, ``* alice waves``, ``* bob joined``, ``* carol is now known as caz``.

Events of a room other than ``#lobby`` name it (``* bob joined #games``, ``* bob left
#games``); events of ``#lobby``, or without ``room``, read as they always have.
"""

from __future__ import annotations

import time
from typing import Optional


def describe(event: dict, me: Optional[str] = None) -> Optional[str]:
    """Return the line for a server event, or None for events with nothing to show.

    Args:
        event: a server-to-client message (``message``, ``join``, ``error``, ...).
        me: the reader's own name, to phrase private messages from their side.
    """
    kind = event.get("type")
    if kind == "message":
        sender, text = event.get("from", "?"), event.get("text", "")
        if event.get("kind") == "action":
            return f"* {sender} {text}"
        if event.get("kind") == "private":
            to = event.get("to", "?")
            if me is not None and sender == me:
                return f"(private to {to}) {sender}: {text}"
            return f"(private) {sender}: {text}"
        return f"{sender}: {text}"
    if kind == "join":
        return f"* {event.get('name')} joined" + _in(event, " ")
    if kind == "joined":
        return _joined_line(event.get("room"))
    if kind == "part":
        reason, name = event.get("reason"), event.get("name")
        who = "you" if me is not None and name == me else name
        return f"* {who} left {event.get('room')}" + (
            f" ({reason})" if reason and reason != "left" else "")
    if kind == "rooms":
        return _rooms_line(event.get("rooms"))
    if kind == "leave":
        reason = event.get("reason")
        return f"* {event.get('name')} left" + (f" ({reason})" if reason else "")
    if kind == "nick":
        return f"* {event.get('old')} is now known as {event.get('new')}"
    if kind == "mode":
        return _mode_line(event) + _in(event, " in ")
    if kind == "kick":
        reason = event.get("reason")
        return (f"* {event.get('name')} was kicked{_in(event, ' from ')} by {event.get('by')}"
                + (f" ({reason})" if reason else ""))
    if kind == "topic":
        topic, of = event.get("topic"), _in(event, " of ")
        return f"* {event.get('by')} " + (f"set the topic{of}: {topic}" if topic
                                          else f"cleared the topic{of}")
    if kind == "presence":
        away = event.get("away")
        return f"* {event.get('name')} " + ("is back" if away is None else f"is away: {away}")
    if kind == "users":
        users = event.get("users") or []
        return f"users{_in(event, ' of ')} ({len(users)}): " + ", ".join(users)
    if kind == "system":
        return event.get("text", "")
    if kind == "error":
        return f"error: {event.get('message') or event.get('code')}"
    return None


def _in(event: dict, words: str) -> str:
    """``words`` + the event's room if it is not ``#lobby``, else nothing."""
    room = event.get("room")
    if isinstance(room, str) and room.casefold() != "#lobby":
        return f"{words}{room}"
    return ""


def _joined_line(room) -> str:
    """``* you joined #x (topic: ...) — N here: a, b`` for a ``joined`` room object."""
    room = room if isinstance(room, dict) else {}
    users = room.get("users") if isinstance(room.get("users"), list) else []
    topic = room.get("topic")
    return (f"* you joined {room.get('room')}" + (f" (topic: {topic})" if topic else "")
            + f" — {len(users)} here: " + ", ".join(str(u) for u in users))


def _rooms_line(rooms) -> str:
    """``rooms (2): #lobby (3 here), #games (1 here, topic: dice)`` for ``/rooms``."""
    rooms = [r for r in rooms if isinstance(r, dict)] if isinstance(rooms, list) else []
    parts = [f"{r.get('room')} ({r.get('users')} here"
             + (f", topic: {r['topic']})" if r.get("topic") else ")") for r in rooms]
    return f"rooms ({len(parts)}): " + ", ".join(parts)


_MODE_WORDS = {"+op": "made {t} an op", "-op": "took op from {t}", "+mute": "muted {t}",
               "-mute": "unmuted {t}", "+ban": "banned {t}", "-ban": "unbanned {t}",
               "-slow": "ended slow mode"}


def _mode_line(event: dict) -> str:
    change, seconds = event.get("change"), event.get("seconds")
    if change == "+slow":
        what = f"set slow mode: one line every {seconds} s"
    else:
        what = _MODE_WORDS.get(change, f"set {change}").format(t=event.get("target"))
        if seconds and change in ("+mute", "+ban"):
            minutes = round(seconds / 60)
            what += f" for {minutes} minute{'' if minutes == 1 else 's'}"
    return f"* {event.get('by')} {what}"


def clock(ts: Optional[float]) -> str:
    """``[HH:MM]`` in local time for a Unix timestamp (now if None or unusable)."""
    try:
        return time.strftime("[%H:%M]", time.localtime(ts if ts is not None else time.time()))
    except (TypeError, ValueError, OverflowError, OSError):
        # A peer's bad "ts" (a string, 1e300) must not stop whoever prints events.
        return time.strftime("[%H:%M]")
