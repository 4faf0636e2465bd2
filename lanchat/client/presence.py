"""Presence requests of ``ChatConnection`` (PROTOCOL.md section 9): typing and away.

A mixin, like ``inbound.InboundDispatch``, so ``connection.py`` stays about the link.
``typing`` is ephemeral: it goes straight to the current socket's sender, never into
the outbox (a "typing" resent after a reconnect would be a lie), and is dropped when
no session is live. ``away`` and ``back`` are ordinary lines (``/away``, ``/back``), so
they get an ``ack`` and survive a reconnect like any other line.

A server that predates typing answers each ``typing`` frame with an ``unknown_type``
error without an id; ``inbound`` swallows the first such answer and typing stays off
until the next welcome (a reconnect may reach an upgraded server), so the user never
sees an error about a frame they did not knowingly send.

State on the connection, under its ``_lock``: ``_typing_sent`` (a typing frame went
out in this session) and ``_typing_refused`` (the server said it does not know them).
"""

from __future__ import annotations

from typing import Optional

import protocol
from lanchat.client.typingsender import STATES

LOBBY = "#lobby"


class PresenceRequests:
    """``typing``, ``away`` and ``back`` for ``ChatConnection`` (a mixin: see the module)."""

    _typing_sent = False
    _typing_refused = False

    def typing(self, state: str, room: str = LOBBY, to: Optional[str] = None) -> None:
        """Tell the room (or ``to``, privately) that you are typing; never blocks.

        Args:
            state: ``active``, ``paused`` or ``done`` (the caller keeps the timings;
                ``typingsender.TypingSender`` implements them).
            room: the room typed in (``#lobby`` until rooms exist).
            to: a name, for a private conversation (then ``room`` is not sent).
        Raises:
            ValueError: for any other ``state``.
        """
        if state not in STATES:
            raise ValueError(f"typing state must be one of {STATES}, not {state!r}")
        message = {"type": "typing", "state": state}
        if to is not None:
            message["to"] = to
        else:
            message["room"] = room
        frame = protocol.message_frame(message)
        with self._lock:
            if not self._live or self._sender is None or self._typing_refused:
                return  # ephemeral: nobody is told, nothing is kept for later
            self._typing_sent = True
            self._sender.put(frame)

    def away(self, message: Optional[str] = None) -> str:
        """Set yourself away (``/away [MESSAGE]``; the server's default message is "away").

        Returns:
            the line's id, as ``say`` does (its ``ack`` carries it).
        """
        message = " ".join((message or "").split())  # one line: the command takes the rest
        return self.say(f"/away {message}" if message else "/away")

    def back(self) -> str:
        """End being away (``/back``); returns the line's id, as ``say`` does."""
        return self.say("/back")

    def _typing_refusal(self, msg: dict) -> bool:
        """True if ``msg`` is an old server's ``unknown_type`` answer to our typing
        (then typing stops until the next welcome, and the error is not shown)."""
        if msg.get("code") != protocol.UNKNOWN_TYPE or msg.get("id") is not None:
            return False
        with self._lock:
            if not self._typing_sent:
                return False
            self._typing_refused = True
            return True

    def _typing_session_starts(self) -> None:
        """A new welcome: the server may be another build; typing may be tried again."""
        with self._lock:
            self._typing_sent = self._typing_refused = False
