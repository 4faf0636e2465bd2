"""What each message from the server does to the client's state.

``ChatConnection`` inherits these handlers and its thread calls ``_handle`` for every
decoded message, which dispatches by type to ``_on_<type>`` like
``ui.chatlog.ChatLog.apply`` does: one method per type, so a new type is one new
method. A handler returns None to go on, or ``(reason, retry)`` to end the session.

They use the connection's state: ``_lock`` guards ``_outbox``, ``_pings`` and
``_live``; the other fields (``welcome``, ``name``, ``last_seq``, ``_seen``, ...)
are written only by the connection's thread.
"""

from __future__ import annotations

import time

import protocol
from lanchat.client.rooms import is_lobby

# Refusals after which retrying cannot help.
FATAL_CODES = frozenset({protocol.AUTH_FAILED, protocol.BAD_NAME, protocol.BANNED})


class InboundDispatch:
    """The ``_on_<type>`` handlers of ``ChatConnection`` (a mixin: see the module)."""

    def _handle(self, msg: dict):
        """Process one server message; return (reason, retry) to end the session.

        Dispatched by type to ``_on_<type>``, like ``ui.chatlog.ChatLog.apply``; types
        without a handler (users, system, unknown ones) go to the UI as they are.
        """
        handler = getattr(self, "_on_" + msg["type"], None)
        if handler is None:
            self._emit(msg)
            return None
        return handler(msg)

    def _note_seq(self, seq) -> None:
        if isinstance(seq, int) and (self.last_seq is None or seq > self.last_seq):
            self.last_seq = seq

    def _on_welcome(self, msg: dict):
        self.welcome = msg
        self.name = msg.get("name", self.name)
        self._session = msg.get("session", self._session)
        self.max_text = msg.get("max_text", self.max_text)
        seq = msg.get("seq")
        if isinstance(seq, int) and self.last_seq is not None and seq <= self.last_seq:
            # The server's history started again (a new database): old seqs mean
            # nothing now, and dropping new events as seen would lose them.
            self._seen.clear()
            self.last_seq = None
        self._seen.seen_before(seq)
        if self.last_seq is None:
            # A first session: what came before this join is history, not missed; a
            # resume asks for what follows it (the history shown stops earlier).
            self._note_seq(seq)
        self._rooms.welcome(msg)
        self._typing_session_starts()
        self._emit({**msg, "type": "connected", "host": self.host, "port": self.port})
        with self._lock:
            self._outbox.start_session(msg, time.monotonic())
            self._live = True
        self._pump()
        return None

    def _on_message(self, msg: dict):
        """A stored event (message, join, leave, nick, mode, kick): drop duplicates,
        track seq. A replayed nick of our old name is history: it renames nobody."""
        seq = msg.get("seq")
        if self._seen.seen_before(seq):
            return None
        self._note_seq(seq)
        if msg["type"] == "message" and msg.get("id") is not None:
            # A replayed line of our own: the server stored it, so it is acked.
            with self._lock:
                mine = self._outbox.pop(msg["id"])
            if mine is not None:
                self._emit({"type": "ack", "id": msg["id"], "seq": seq, "text": mine["text"]})
                return None
        if msg["type"] == "nick" and msg.get("old") == self.name and not msg.get("replay"):
            self.name = msg.get("new", self.name)
        self._rooms.apply(msg, self.name)  # before the event: a UI reading rooms sees it
        self._emit(msg)
        return None

    _on_join = _on_leave = _on_nick = _on_mode = _on_topic = _on_message
    _on_joined = _on_part = _on_message

    def _on_crowd(self, msg: dict):
        """A crowded room's joins and leaves in one notice (docs/protocol.md, "Crowded
        rooms"): not an event of its own, but everything up to its ``seq`` (the run's
        last) has arrived, so a resume asks ``since`` it."""
        self._note_seq(msg.get("seq"))
        self._emit(msg)
        return None

    def _on_kick(self, msg: dict):
        """A kick; one from ``#lobby`` that names us (live) ends the session for good:
        coming back at once would undo it. Lines not yet answered are given up. From
        another room it only takes us out of that room."""
        self._on_message(msg)
        room = msg.get("room")
        in_lobby = room is None or (isinstance(room, str) and is_lobby(room))
        if msg.get("name") == self.name and not msg.get("replay") and in_lobby:
            reason = msg.get("reason")
            return (f"you were sent out by {msg.get('by')}" + (f": {reason}" if reason else ""),
                    False)
        return None

    def _on_ack(self, msg: dict):
        with self._lock:
            mine = self._outbox.pop(msg.get("id"))
        if mine is None and msg.get("id") is not None:
            return None  # a resend acked twice: already reported
        seq = msg.get("seq")
        self._note_seq(seq)
        self._seen.seen_before(seq)
        self._emit({**msg, "text": mine["text"] if mine else None})
        return None

    def _on_pong(self, msg: dict):
        with self._lock:
            sent = self._pings.pop(msg.get("id"), None)
        if sent is not None:
            self.rtt = time.monotonic() - sent
            msg = {**msg, "rtt": self.rtt}
        self._emit(msg)
        return None

    def _on_error(self, msg: dict):
        code, msg_id = msg.get("code"), msg.get("id")
        if self._typing_refusal(msg):
            return None  # an old server's answer to typing: not the user's business
        with self._lock:
            if code == protocol.RATE_LIMITED and self._outbox.rate_limited(
                    msg_id, msg.get("retry_after"), time.monotonic()):
                # Still the user's line: the outbox sends it again after retry_after,
                # before the lines said after it.
                return None
            if code == protocol.UNAVAILABLE and self._outbox.unavailable(msg_id, time.monotonic()):
                return None  # a group's Redis is down: the line goes again in a moment
            failed = self._outbox.pop(msg_id) if msg_id else None
        outcome = self._session_outcome(msg)
        event = {**msg, "text": failed["text"] if failed else None}
        if outcome is not None:
            # The disconnected (or connect_failed) event that follows gives the same
            # reason: a front end shows one of the two, not both.
            event["ends_session"] = True
        self._emit(event)
        return outcome

    def _session_outcome(self, msg: dict):
        """(reason, retry) if this error ends the session, else None. An error that
        answers one of our lines (it has an ``id``, as a wrong /admin password does)
        never ends it."""
        code = msg.get("code")
        if msg.get("id") is not None:
            return None
        if code in FATAL_CODES and self.welcome is None:
            return msg.get("message") or code, False
        if code == protocol.SHUTTING_DOWN:
            return "the server is shutting down", True
        if code == protocol.UNAVAILABLE and self.welcome is None:
            # A group's hello refused while its Redis is down: try again, backing off.
            return msg.get("message") or code, True
        if code in protocol.CLOSING_CODES:
            return msg.get("message") or code, code != protocol.AUTH_FAILED
        return None
