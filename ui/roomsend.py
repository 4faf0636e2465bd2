"""Sending a line to a room through whatever ``say`` the connection has.

The one place that checks whether the connection's ``say`` takes a ``room``
(``ChatConnection.say(text, room=...)`` with rooms; ``say(text)`` before them).
Without it every line goes to ``#lobby``, the only room such a connection knows.
"""

from __future__ import annotations

import inspect
from typing import Callable

from ui.roles import LOBBY


def takes_room(say: Callable) -> bool:
    """Whether ``say`` accepts a ``room`` keyword argument."""
    try:
        params = inspect.signature(say).parameters.values()
    except (TypeError, ValueError):  # a builtin or an odd callable: assume the old say
        return False
    return any(p.name == "room" or p.kind is p.VAR_KEYWORD for p in params)


def room_sender(say: Callable[..., str]) -> Callable[..., str]:
    """``send(text, room="#lobby") -> id`` over ``say``: the room is passed on only
    when ``say`` accepts it (and is not #lobby, its default), else dropped."""
    rooms = takes_room(say)

    def send(text: str, room: str = LOBBY) -> str:
        if rooms and room != LOBBY:
            return say(text, room=room)
        return say(text)

    send.takes_room = rooms  # type: ignore[attr-defined]
    return send
