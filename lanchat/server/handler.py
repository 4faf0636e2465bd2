"""One client connection, from accept to close, on its own thread.

``ChatHandler`` reads frames (``protocol.FrameDecoder``), enforces the frame and idle
timeouts, tells structured from plain clients, and calls the room. Its replies and
broadcasts leave through its ``SendQueue``, which never blocks.
"""

from __future__ import annotations

import hmac
import logging
import select
import socket
import socketserver
import threading
import time
from dataclasses import dataclass
from typing import Optional

import protocol
from lanchat.errors import FrameError, MessageError
from lanchat.server.incoming import said
from lanchat.server.members import Member
from lanchat.server.presence import typing
from lanchat.server.roomcommands import enter_rooms
from lanchat.server.sendqueue import SendQueue
from lanchat.server.transport import PlainTransport, TLSTransport

SHUTDOWN_FLUSH_SECONDS = 2.0   # how long queued frames may take to leave at shutdown
BYE_FLUSH_SECONDS = 2.0        # the same for one client that says bye
RECV_BYTES = 65536

log = logging.getLogger("chat.server")


@dataclass(frozen=True)
class Ending:
    """Why a connection ended, as its reader saw it."""

    reason: str
    graceful: bool = False  # the client left on purpose: it gets what it is owed first


class ChatHandler(socketserver.BaseRequestHandler):
    """One client connection, from accept to close, on its own thread.

    ``self.server`` is the ``ChatServer`` (``lanchat.server.listener``) that accepted
    it: its config, room, and ``admit``/``release``.
    """

    # ------------------------------------------------------------ setup / finish

    def setup(self) -> None:
        sock = self.request
        ip, port = self.client_address[:2]
        self.peer = f"{ip}:{port}"
        self.ip = ip
        config = self.server.config
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        _enable_keepalive(sock)
        self.send_queue = SendQueue(sock, config.max_send_queue, self.peer)
        self.transport = (TLSTransport(config.tls_context, self.send_queue) if config.tls_context
                          else PlainTransport(self.send_queue))
        self.decoder = protocol.FrameDecoder(config.max_frame_bytes)
        self.member: Optional[Member] = None
        self.plain: Optional[bool] = None   # None until the first frame says
        self.says: list = []  # (text, id) of this read's lines not yet handed to the room
        self.ending = Ending("connection closed")
        self._kicked: Optional[str] = None  # why another thread closed it (first wins)
        self._kick_lock = threading.Lock()
        self.refused = not self.server.admit(self)

    def handle(self) -> None:
        if not self.refused:
            self.ending = self._serve()

    def finish(self) -> None:
        with self._kick_lock:
            kicked = self._kicked
        reason = kicked or self.send_queue.failed or self.ending.reason
        graceful = self.ending.graceful
        room = self.server.room
        if graceful and self.member is not None:
            # Leave only after the journal delivered what this client sent before its
            # bye: a member that is gone gets no acks.
            room.delivered(BYE_FLUSH_SECONDS)
        if self.member is not None:
            room.leave(self.member, reason)
        if graceful:
            self.send_queue.flush(BYE_FLUSH_SECONDS)
        self.send_queue.close()
        # Last: shutdown waits for every connection to be released, so by then its
        # leave is in the journal.
        self.server.release(self)
        log.debug("%s closed: %s", self.peer, reason)

    def kick(self, reason: str, flush: bool = False) -> None:
        """Close this connection from another thread; the reader thread notices.

        With ``flush``, only reading stops: the connection ends as if the client had
        hung up, so what is queued for it (a kick event) still leaves, with a bound.
        """
        with self._kick_lock:
            if self._kicked is None:
                self._kicked = reason
        try:
            self.request.shutdown(socket.SHUT_RD if flush else socket.SHUT_RDWR)
        except OSError:
            pass

    # ------------------------------------------------------------------ reading

    def _serve(self) -> Ending:
        """Read and handle frames until the connection ends; say why it did."""
        config = self.server.config
        sock = self.request
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        last_heard = time.monotonic()
        frame_started: Optional[float] = None
        while True:
            now = time.monotonic()
            deadline = last_heard + config.idle_timeout if not self.plain else None
            if frame_started is not None:
                frame_deadline = frame_started + config.frame_timeout
                deadline = frame_deadline if deadline is None else min(deadline, frame_deadline)
            if not self.transport.pending():
                wait_ms = None if deadline is None else max(0, int((deadline - now) * 1000) + 1)
                if not poller.poll(wait_ms):
                    now = time.monotonic()
                    if frame_started is not None and now >= frame_started + config.frame_timeout:
                        return Ending("frame timeout")
                    if not self.plain and now >= last_heard + config.idle_timeout:
                        return Ending("ping timeout")
                    continue
            try:
                data = self.transport.receive(sock, RECV_BYTES)
            except FrameError as exc:  # the TLS layer refused the bytes
                log.info("%s: %s", self.peer, exc.message)
                return Ending("tls error")
            except OSError as exc:
                return Ending("connection reset" if isinstance(exc, ConnectionResetError)
                              else f"connection error: {exc.strerror or exc}")
            if data is None:
                continue  # TLS handshake progress, nothing decrypted yet
            if not data:
                return Ending("connection closed", graceful=True)
            last_heard = time.monotonic()
            self.decoder.feed(data)
            ending, completed = self._on_data()
            if ending is not None:
                return ending
            # The frame timeout runs from the first byte of the frame now unfinished.
            if not self.decoder.in_frame:
                frame_started = None
            elif completed or frame_started is None:
                frame_started = last_heard

    def _on_data(self) -> tuple:
        """Handle the frames completed by a read: ``(Ending or None, any completed)``."""
        completed = False
        leave = None
        try:
            for body in self.decoder.events():
                completed = True
                leave = self._on_body(body)
                if leave is not None:
                    break
        except FrameError as exc:
            self._error(exc.code, exc.message, closing=True)  # now: the connection ends
            log.info("%s: frame error: %s", self.peer, exc.message)
            return Ending(f"protocol error ({exc.code})"), completed
        finally:
            # The lines of this read in one run: one hold of the room lock, one commit
            # and one send per member. (Those before a frame error count: they
            # arrived whole.)
            taken = self._take_says()
        leave = leave or taken
        return (None if leave is None else Ending(leave, graceful=True)), completed

    def _error(self, code: str, message: str, msg_id: Optional[str] = None,
               closing: bool = False) -> None:
        error = protocol.error_message(code, message, msg_id)
        if self.member is not None and not closing:  # in order with what is queued for it
            self.server.room.reply(self.member, error)
        elif self.plain:
            self.transport.send(protocol.encode_frame(f"error: {message}"))
        else:
            self.transport.send(protocol.message_frame(error))

    def _refuse(self, code: str, message: str) -> Optional[str]:
        """Answer a bad frame, after the lines that came before it in this read; a
        leave reason if one of those asked to leave."""
        leave = self._take_says()
        self._error(code, message)
        return leave

    def _on_body(self, body) -> Optional[str]:
        """Handle one frame body; return a leave reason to end the connection."""
        if isinstance(body, protocol.Oversized):
            return self._refuse(protocol.TOO_LARGE, f"frame of {body.declared} bytes is over the "
                                f"limit of {self.server.config.max_frame_bytes} bytes; it was discarded")
        if self.plain is None:
            self.plain = not protocol.looks_like_hello(body)
            if type(self.transport) is PlainTransport:  # TLS would need it encrypted
                message = "you were not reading fast enough; the server dropped you"
                self.send_queue.farewell = (protocol.encode_frame(f"error: {message}") if self.plain
                                     else protocol.message_frame(protocol.error_message(
                                         protocol.SEND_QUEUE_FULL, message)))
            if self.plain:
                refusal = self._join_plain()
                if refusal:
                    return refusal
        try:
            if self.plain:
                self.says.append((protocol.decode_text(body), None, None))
                return None
            return self._on_structured(protocol.decode_message(body))
        except MessageError as exc:
            return self._refuse(exc.code, exc.message)

    def _join_plain(self) -> Optional[str]:
        if self.server.config.password is not None:
            self._error(protocol.AUTH_FAILED, "this server needs a password: "
                        "connect with client.py --password")
            return "auth failed"
        return self._join(None, plain=True)

    def _on_structured(self, obj: dict) -> Optional[str]:
        message = protocol.parse_client_message(obj)
        if isinstance(message, protocol.Hello):
            if self.member is not None:
                self._error(protocol.UNKNOWN_TYPE, "already joined: hello is only valid once")
                return None
            return self._hello(message)
        if self.member is None:
            self._error(protocol.NOT_WELCOME, "send hello first (or again, with a valid name)")
            return None
        if isinstance(message, protocol.Say):
            self.says.append((message.text, message.id, message.room))
            return None
        leave = self._take_says()  # whatever comes next sees them handled
        if leave is not None:
            return leave
        if isinstance(message, protocol.Ping):
            self.server.room.reply(self.member, {"type": "pong", "id": message.id})
            return None
        if isinstance(message, protocol.Typing):
            typing(self.server.room, self.member, message)
            return None
        return message.reason or "bye"  # Bye

    def _take_says(self) -> Optional[str]:
        """Hand this read's gathered lines to the room; a leave reason or None."""
        if not self.says:
            return None
        says, self.says = self.says, []
        return said(self.server.room, self.member, says)

    def _hello(self, hello: protocol.Hello) -> Optional[str]:
        expected = self.server.config.password
        if expected is not None and not _same_secret(hello.password or "", expected):
            self._error(protocol.AUTH_FAILED, "wrong password (check client.py --password "
                        "or CHAT_PASSWORD)" if hello.password else "this server needs a "
                        "password: connect with client.py --password (or set CHAT_PASSWORD)")
            log.info("%s: refused, %s password", self.peer, "wrong" if hello.password else "no")
            return "auth failed"
        refusal = self._join(hello.name, plain=False, since=hello.since, resume=hello.resume)
        if refusal is None:
            enter_rooms(self.server.room, self.member, hello.rooms, hello.since)
        return refusal

    def _join(self, name: Optional[str], **options) -> Optional[str]:
        """Join the room; a ban refuses the connection (error ``banned``, then close)."""
        try:
            self.member = self.server.room.join(self.transport, name, peer=self.peer,
                                                address=self.ip, kick=self.kick, **options)
        except MessageError as exc:
            if exc.code != protocol.BANNED:
                raise
            self._error(exc.code, exc.message)
            log.info("%s: refused, banned", self.peer)
            return "banned"
        return None


def _same_secret(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def _enable_keepalive(sock: socket.socket) -> None:
    """TCP keepalive so a peer that vanished (pulled cable) is noticed in minutes."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    for option, value in (("TCP_KEEPIDLE", 60), ("TCP_KEEPINTVL", 10), ("TCP_KEEPCNT", 5)):
        if hasattr(socket, option):
            try:
                sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, option), value)
            except OSError:
                pass
