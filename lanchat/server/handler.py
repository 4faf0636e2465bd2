"""One client connection, from accept to close, on its own thread.

``ChatHandler`` reads bytes, enforces the frame and idle timeouts and calls the room.
What kind the connection is comes from its first bytes (``lanchat.dialects.detect``),
then from its first body for 64-byte frames (a ``hello`` is structured); each kind's
reader and writer are in ``lanchat.dialects``, and how a kind joins is in
``lanchat.server.speakers``. A connection silent for ``LISTEN_AFTER`` becomes a
listening guest. Replies and broadcasts leave through the ``SendQueue``, which never
blocks.
"""

from __future__ import annotations

import logging
import select
import socket
import socketserver
import threading
import time
from dataclasses import dataclass
from typing import Optional

import protocol
from lanchat import codec
from lanchat.dialects import detect, writers
from lanchat.dialects.readers import LineDecoder, TenByteDecoder
from lanchat.errors import FrameError, MessageError
from lanchat.server import speakers
from lanchat.server.incoming import said
from lanchat.server.members import Member
from lanchat.server.presence import typing
from lanchat.server.sendqueue import SendQueue
from lanchat.server.transport import PlainTransport, TLSTransport

SHUTDOWN_FLUSH_SECONDS = 2.0   # how long queued frames may take to leave at shutdown
BYE_FLUSH_SECONDS = 2.0        # the same for one client that says bye
RECV_BYTES = 65536
# Seconds of silence after which a connection is a listening guest (PROTOCOL.md
# section 2); also how long a refused connection may take to show its dialect.
LISTEN_AFTER = 1.0
TLS_REQUIRED = "this server uses TLS: connect with TLS (python client.py --tls)"

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
        self.plain_dialect = (writers.PLAIN_FRAMED if config.plain_replies == "framed"
                              else writers.PLAIN)
        self.detector = detect.Detector()
        self.decoder = None  # the kind's reader, once the detector has decided
        self.dialect = None  # how it is written to, once its kind is known
        self.member: Optional[Member] = None
        self.listening = False  # the member is a guest that joined by staying silent
        self.says: list = []  # (text, id, room) of this read's lines not yet handed to the room
        self.ending = Ending("connection closed")
        self._kicked: Optional[str] = None  # why another thread closed it (first wins)
        self._kick_lock = threading.Lock()
        self.connected = time.monotonic()
        refusal = self.server.admit(self)
        # Answered once the dialect is known (server_full in its form), within a bound.
        self.refusal = None if refusal is None else (protocol.SERVER_FULL, refusal)

    def handle(self) -> None:
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
            self.request.shutdown(socket.SHUT_RDWR if not flush else socket.SHUT_RD)
        except OSError:
            pass

    # ------------------------------------------------------------------ reading

    def _deadline(self, last_heard: float, frame_started: Optional[float]) -> Optional[float]:
        config = self.server.config
        deadlines = []
        if self.member is None or not self.member.plain:
            deadlines.append(last_heard + config.idle_timeout)
        if frame_started is not None:
            deadlines.append(frame_started + config.frame_timeout)
        if self.dialect is None and (self.refusal is not None or (
                self.member is None and not self.detector.in_frame and self._may_listen())):
            deadlines.append(self.connected + LISTEN_AFTER)
        return min(deadlines) if deadlines else None

    def _serve(self) -> Ending:
        """Read and handle bytes until the connection ends; say why it did."""
        config = self.server.config
        sock = self.request
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        last_heard = time.monotonic()
        frame_started: Optional[float] = None
        while True:
            # Here, not only when the poll times out: a refused connection is answered
            # in time even while bytes keep coming (keepalives show no dialect).
            if self.dialect is None and time.monotonic() >= self.connected + LISTEN_AFTER:
                ending = self._silent()
                if ending is not None:
                    return ending
            now = time.monotonic()  # timeouts every pass: a trickling frame keeps poll readable
            if frame_started is not None and now >= frame_started + config.frame_timeout:
                told = self.dialect and self.dialect.stalled(config.frame_timeout)
                return Ending("frame timeout", graceful=bool(told and self.transport.send(told)))
            if now >= last_heard + config.idle_timeout and not (self.member and self.member.plain):
                return Ending("ping timeout")
            deadline = self._deadline(last_heard, frame_started)
            if not self.transport.pending():
                wait_ms = None if deadline is None else max(0, int((deadline - now) * 1000) + 1)
                if not poller.poll(wait_ms):
                    continue
            try:
                data = self.transport.receive(sock, RECV_BYTES)
            except FrameError as exc:  # the TLS layer refused the bytes
                log.info("%s: %s", self.peer, exc.message)
                return Ending("tls error")
            except OSError as exc:
                return Ending("connection reset" if isinstance(exc, ConnectionResetError)
                              else f"connection error: {exc.strerror or exc}")
            if data is None:  # TLS handshake progress, or part of a record
                if frame_started is None and self.transport.partial:
                    frame_started = time.monotonic()
                continue
            if self.transport.plaintext and self.refusal is None:
                self.refusal = (protocol.BAD_HEADER, TLS_REQUIRED)
            last_heard = time.monotonic()
            ending, completed = self._on_data(data)
            if ending is not None:
                return ending
            if not data:
                return Ending("connection closed", graceful=True)
            # The frame timeout runs from the first byte of the frame now unfinished.
            reader = self.decoder or self.detector
            if not reader.in_frame and not self.transport.partial:
                frame_started = None
            elif completed or frame_started is None:
                frame_started = last_heard

    def _silent(self) -> Optional[Ending]:
        """Nothing decided ``LISTEN_AFTER`` after connecting: a refusal is answered now
        (as a listener reads it if nothing came, as JSON if the kind is still open);
        a silent connection becomes a listening guest."""
        if self.refusal is not None:
            self.dialect = self.plain_dialect if not self.detector.in_frame else writers.STRUCTURED
            return self._ending(self._refuse_now())
        if self.member is None and not self.detector.in_frame and self._may_listen():
            self._set_dialect(self.plain_dialect)
            self.listening = True
            return self._ending(speakers.join(self, None))
        return None

    def _may_listen(self) -> bool:
        # No listeners with --password (they would read the room without it), nor on
        # a TLS port (no tutorial client speaks TLS; a plaintext one would read the
        # room in the clear, and a silent TLS session is closed at the idle timeout).
        config = self.server.config
        return config.password is None and config.tls_context is None

    def _on_data(self, data: bytes) -> tuple:
        """Handle the bytes of a read (``b""``: the peer closed):
        ``(Ending or None, any frame completed)``."""
        closing = not data
        if self.decoder is None:
            kind = self.detector.feed(data) if data else self.detector.closed()
            if kind is None:
                return None, False
            ending = self._decided(kind)
            if ending is not None:
                return ending, True
            data = self.detector.buffered
        if data:
            self.decoder.feed(data)
        completed = False
        leave = None
        try:
            for body in self.decoder.events():
                completed = True
                leave = self._on_body(body)
                if leave is not None:
                    break
            if closing and leave is None and isinstance(self.decoder, LineDecoder):
                last = self.decoder.end()  # a last line with no newline still counts
                if last is not None:
                    leave = self._on_body(last)
        except FrameError as exc:
            self.error(exc.code, exc.message, closing=True)  # now: the connection ends
            log.info("%s: frame error: %s", self.peer, exc.message)
            return Ending(f"protocol error ({exc.code})"), completed
        finally:
            # The lines of this read in one run: one hold of the room lock, one commit
            # and one send per member. (Those before a frame error count: they
            # arrived whole.)
            taken = self._take_says()
        leave = leave or taken
        return (None if leave is None else Ending(leave, graceful=True)), completed

    def _decided(self, kind: str) -> Optional[Ending]:
        """The first bytes made ``kind``: its reader, and for the kinds whose dialect
        is known now, the refusal or the join (a listener's guest leaves first)."""
        config = self.server.config
        log.debug("%s speaks %s", self.peer, kind)
        if kind == detect.HTTP:
            self.transport.send(writers.http_answer(self.request.getsockname()[0],
                                                    self.server.server_address[1]))
            return Ending("http request", graceful=True)
        if kind == detect.TLS:
            self.dialect = writers.STRUCTURED
            self.error(protocol.BAD_HEADER, "this server does not use TLS: connect without "
                        "--tls", closing=True)
            return Ending("protocol error (tls on a plain port)")
        if kind == detect.FRAMED:
            self.decoder = protocol.FrameDecoder(config.max_frame_bytes)
            return None  # its first body tells structured from plain
        if kind == detect.TEN_BYTE:
            self.decoder = TenByteDecoder(config.max_frame_bytes)
        else:
            self.decoder = LineDecoder(config.max_frame_bytes)
        if self.listening:
            self._stop_listening("spoke another dialect")
        self._set_dialect(writers.TEN_BYTE if kind == detect.TEN_BYTE else writers.LINE)
        if self.refusal is not None:
            return self._ending(self._refuse_now())
        if kind == detect.LINE:
            return self._ending(speakers.join(self, None))
        return None  # a ten-byte client's first frame is its name

    def _on_body(self, body) -> Optional[str]:
        """Handle one frame body or line; return a leave reason to end the connection."""
        if isinstance(body, protocol.Oversized):
            return self._refuse(protocol.TOO_LARGE, f"frame of {body.declared} bytes is over the "
                                f"limit of {self.server.config.max_frame_bytes} bytes; it was discarded")
        if self.member is None or self.listening:
            return self._first_body(body)
        try:
            if self.member.plain:
                if body:  # a line client's blank line is nothing (frames are never empty)
                    self.says.append((protocol.decode_text(body), None, None))
                return None
            return self._on_structured(codec.decode_client_message(body))
        except MessageError as exc:
            return self._refuse(exc.code, exc.message)

    def _first_body(self, body: bytes) -> Optional[str]:
        """The first body of a 64-byte or ten-byte connection, or a listener's first."""
        hello = self.detector.kind == detect.FRAMED and protocol.looks_like_hello(body)
        if self.dialect is None or self.listening:
            if self.listening and (hello or self.dialect is not self.plain_dialect):
                self._stop_listening("spoke up")
            self._set_dialect(writers.STRUCTURED if hello else self.plain_dialect)
            if self.refusal is not None:
                return self._refuse_now()
        if self.member is not None:  # a listener that speaks plain: the same guest
            self.listening = False
            return self._on_body(body)
        if self.dialect.structured:  # its hello, or what follows a refused one
            try:
                return self._on_structured(codec.decode_client_message(body))
            except MessageError as exc:
                return self._refuse(exc.code, exc.message)
        if self.dialect is writers.TEN_BYTE:
            return speakers.join_ten_byte(self, body)
        refusal = speakers.join(self, None)
        return refusal if refusal is not None else self._on_body(body)

    def _stop_listening(self, reason: str) -> None:
        # The guest that listened leaves; whoever the connection says it is joins.
        self.server.room.leave(self.member, reason)
        self.member, self.listening = None, False

    def _set_dialect(self, dialect) -> None:
        self.dialect = dialect
        if type(self.transport) is PlainTransport:  # TLS would need it encrypted
            self.send_queue.farewell = dialect.farewell

    def _refuse_now(self) -> str:
        """Answer the refusal in the connection's dialect; the leave reason."""
        code, message = self.refusal
        self.error(code, message, closing=True)
        log.info("%s refused: %s", self.peer, message)
        return "refused" if code == protocol.SERVER_FULL else "tls required"

    @staticmethod
    def _ending(leave: Optional[str]) -> Optional[Ending]:
        return None if leave is None else Ending(leave, graceful=True)

    def error(self, code: str, message: str, msg_id: Optional[str] = None,
              closing: bool = False) -> None:
        """Send an ``error`` in the connection's dialect: a member's in order with what
        is queued for it; otherwise, or when ``closing``, straight out (JSON while the
        kind is not known yet, PROTOCOL.md section 6)."""
        error = protocol.error_message(code, message, msg_id)
        if self.member is not None and not closing:
            self.server.room.reply(self.member, error)
        else:
            self.transport.send((self.dialect or writers.STRUCTURED).reply(error))

    def _refuse(self, code: str, message: str) -> Optional[str]:
        """Answer a bad frame, after the lines that came before it in this read; a
        leave reason if one of those asked to leave."""
        leave = self._take_says()
        self.error(code, message)
        return leave

    def _on_structured(self, message: codec.ClientMessage) -> Optional[str]:
        if isinstance(message, codec.Hello):
            if self.member is not None:
                self.error(protocol.UNKNOWN_TYPE, "already joined: hello is only valid once")
                return None
            return speakers.hello(self, message)
        if self.member is None:
            self.error(protocol.NOT_WELCOME, "send hello first (or again, with a valid name)")
            return None
        if isinstance(message, codec.Say):
            self.says.append((message.text, message.id, message.room))
            return None
        leave = self._take_says()  # whatever comes next sees them handled
        if leave is not None:
            return leave
        if isinstance(message, codec.Ping):
            self.server.room.reply(self.member, {"type": "pong", "id": message.id})
            return None
        if isinstance(message, codec.Typing):
            typing(self.server.room, self.member, message)
            return None
        return message.reason or "bye"  # Bye

    def _take_says(self) -> Optional[str]:
        """Hand this read's gathered lines to the room; a leave reason or None."""
        if not self.says:
            return None
        says, self.says = self.says, []
        return said(self.server.room, self.member, says)


def _enable_keepalive(sock: socket.socket) -> None:
    """TCP keepalive so a peer that vanished (pulled cable) is noticed in minutes."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    for option, value in (("TCP_KEEPIDLE", 60), ("TCP_KEEPINTVL", 10), ("TCP_KEEPCNT", 5)):
        if hasattr(socket, option):
            try:
                sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, option), value)
            except OSError:
                pass
