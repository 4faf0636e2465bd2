"""The client's connection to a chat server, free of any UI.

One background thread owns the socket's reading side: it connects, says ``hello``,
decodes frames and puts every event on ``events``, a ``queue.Queue`` that a render
loop drains without blocking (``get_nowait``). Sends come from any thread under one
lock. The same thread pings while the link is quiet, notices a dead server, and
reconnects with exponential backoff, resuming the session (``resume`` + ``since``) so
the view continues with no gap and no duplicate.

Lines the user sends go through an outbox keyed by their ``id``: they stay pending
until acked (or refused), and after a reconnect the unacked ones are sent again with
their original ids, which the server recognises, so each is delivered exactly once.

Besides the server's own messages, ``events`` carries these local ones:
``connecting`` (host, port, attempt), ``connected`` (welcome fields),
``disconnected`` (reason, will_retry), ``reconnecting`` (attempt, delay),
``connect_failed`` (reason: a readable sentence), ``closed``.
"""

from __future__ import annotations

import collections
import itertools
import logging
import queue
import random
import select
import socket
import ssl
import threading
import time
import uuid
from typing import Callable, Optional

import protocol
from lanchat.errors import ConnectError

log = logging.getLogger("chat.connection")

PING_INTERVAL = 30.0          # PROTOCOL: the client pings every 30 s when quiet
CONNECT_TIMEOUT = 6.0
BACKOFF_FIRST, BACKOFF_MAX = 0.5, 30.0
SEEN_SEQS = 20000             # how many recent seqs we remember to drop duplicates
_SHUT_WR = object()           # sender-queue marker: half-close after the bye
RESEND_RETRY = 1.0            # seconds before resending lines the rate limit refused
NOT_SENT = "not_sent"         # local error code: the connection ended with the line unsent
# Refusals after which retrying cannot help.
FATAL_CODES = frozenset({protocol.AUTH_FAILED, protocol.BAD_NAME})


def explain_error(exc: BaseException, host: str, port: int) -> str:
    """Turn a connect/TLS exception into a readable sentence with what to try next."""
    where = f"{host}:{port}"
    if isinstance(exc, ConnectError):
        return str(exc)
    if isinstance(exc, ConnectionRefusedError):
        return (f"Connection refused by {where}: nothing is listening there. "
                "Is the server running, and is the port right?")
    if isinstance(exc, socket.gaierror):
        return f"Host name {host!r} not found. Check the spelling, or use the server's IP address."
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return (f"Timed out connecting to {where}. The address may be wrong, "
                "or a firewall is blocking the port.")
    if isinstance(exc, ssl.SSLCertVerificationError):
        return (f"TLS certificate of {where} could not be verified ({exc.verify_message}). "
                "Check --cafile, or the server's certificate.")
    if isinstance(exc, ssl.SSLError):
        return (f"TLS handshake with {where} failed ({exc.reason or exc}). "
                "Does the server use TLS (try with or without --tls)?")
    if isinstance(exc, OSError) and exc.strerror:
        return f"Could not connect to {where}: {exc.strerror}."
    return f"Could not connect to {where}: {exc}"


class ChatConnection:
    """A resilient structured connection to one chat server.

    Args:
        host, port: where the server listens.
        name: the name to ask for.
        password: sent in ``hello`` if set.
        wrap_socket: optional ``callable(sock, host) -> sock`` (TLS); it may raise
            ``ConnectError`` with a readable reason.
        reconnect: reconnect automatically after a drop (not after a refusal).
        ping_interval: seconds of quiet before a ``ping``; twice that without any
            frame from the server counts as a dead link.
    """

    def __init__(self, host: str, port: int, name: str, *, password: Optional[str] = None,
                 wrap_socket: Optional[Callable] = None, reconnect: bool = True,
                 ping_interval: float = PING_INTERVAL, client: str = "chat-client/1",
                 connect_timeout: float = CONNECT_TIMEOUT):
        self.host, self.port, self.name = host, port, name
        self.password = password
        self.wrap_socket = wrap_socket
        self.reconnect = reconnect
        self.ping_interval = ping_interval
        self.client = client
        self.connect_timeout = connect_timeout
        self.events: "queue.Queue[dict]" = queue.Queue()
        self.welcome: Optional[dict] = None
        self.last_seq: Optional[int] = None
        self.rtt: Optional[float] = None
        self.max_text = protocol.DEFAULT_MAX_TEXT
        self._session: Optional[str] = None
        self._outbox: "collections.OrderedDict[str, dict]" = collections.OrderedDict()
        self._seen: "collections.deque[int]" = collections.deque(maxlen=SEEN_SEQS)
        self._seen_set: set = set()
        self._sock: Optional[socket.socket] = None
        self._send_lock = threading.Lock()
        self._outq: "Optional[queue.Queue]" = None  # frames for the current socket
        self._state_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._ids = itertools.count(1)
        self._id_prefix = uuid.uuid4().hex[:8]
        self._ping_ids = itertools.count(1)
        self._pings: dict = {}
        self._resent: set = set()   # ids sent again after the last reconnect
        self._retry: list = []      # of those, the ones the rate limit refused

    # ------------------------------------------------------------------ public API

    @property
    def connected(self) -> bool:
        return self.welcome is not None and self._sock is not None

    def start(self) -> "ChatConnection":
        """Connect in the background; progress and results arrive on ``events``."""
        self._thread = threading.Thread(target=self._run, name="chat-connection", daemon=True)
        self._thread.start()
        return self

    def say(self, text: str) -> str:
        """Queue one line (commands included) and send it if connected.

        Returns:
            the line's id; its ``ack`` or ``error`` event carries the same id.
        """
        msg_id = f"{self._id_prefix}-{next(self._ids)}"
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates, e.g. undecodable terminal input
            text = text.encode("utf-8", "replace").decode("utf-8")
        message = {"type": "say", "text": text, "id": msg_id}
        with self._state_lock:
            self._outbox[msg_id] = message
        if self.connected:
            self._send(message)
        return msg_id

    def pending(self) -> list:
        """The lines sent but not yet acked or refused, oldest first (id, text)."""
        with self._state_lock:
            return [(i, m["text"]) for i, m in self._outbox.items()]

    def ping(self) -> None:
        """Send a ``ping``; its ``pong`` event carries ``rtt`` in seconds."""
        ping_id = next(self._ping_ids)
        self._pings[ping_id] = time.monotonic()
        self._send({"type": "ping", "id": ping_id})

    def close(self, reason: str = "bye", timeout: float = 3.0) -> None:
        """Send ``bye``, stop reconnecting, close the socket and join the thread."""
        self._stop.set()
        if self._send({"type": "bye", "reason": reason}):
            with self._send_lock:
                if self._outq is not None:
                    self._outq.put(_SHUT_WR)  # after the bye: the server answers with EOF
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
            if self._thread.is_alive() and self._sock is not None:
                try:
                    self._sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                self._thread.join(timeout)

    # ------------------------------------------------------------------ internals

    def _send(self, message: dict) -> bool:
        """Queue a frame for the sender thread; never blocks (the GUI calls this)."""
        frame = protocol.message_frame(message)
        with self._send_lock:
            if self._outq is None:
                return False
            self._outq.put(frame)
            return True

    @staticmethod
    def _send_loop(sock: socket.socket, outq: "queue.Queue") -> None:
        # One sender thread per connection: a server that stops reading blocks this
        # thread, not the caller of say(). A send error ends it; the receive side
        # notices the broken connection and reconnects.
        while True:
            item = outq.get()
            if item is None:
                return
            try:
                if item is _SHUT_WR:
                    sock.shutdown(socket.SHUT_WR)
                    return
                sock.sendall(item)
            except OSError as exc:
                log.debug("send failed: %s", exc)
                return

    def _emit(self, event: dict) -> None:
        self.events.put(event)

    def _run(self) -> None:
        try:
            self._connect_loop()
        except Exception:  # a bug here must still end with "closed", not a hang
            log.exception("connection thread failed")
        finally:
            self._give_up_outbox()
            self._emit({"type": "closed"})

    def _give_up_outbox(self) -> None:
        """The connection is over for good: every line still pending gets a reason."""
        with self._state_lock:
            pending, self._outbox = list(self._outbox.items()), collections.OrderedDict()
        for msg_id, message in pending:
            self._emit({"type": "error", "code": NOT_SENT, "id": msg_id, "text": message["text"],
                        "message": "the connection ended before the server acknowledged it"})

    def _connect_loop(self) -> None:
        attempt = 0
        ever_connected = False
        while not self._stop.is_set():
            attempt += 1
            self._emit({"type": "connecting", "host": self.host, "port": self.port,
                        "attempt": attempt})
            try:
                sock = self._open()
                if self._stop.is_set():  # close() was called while we connected
                    sock.close()
                    break
            except Exception as exc:  # every failure becomes a readable event
                reason = explain_error(exc, self.host, self.port)
                if not ever_connected or not self.reconnect or isinstance(exc, ConnectError):
                    self._emit({"type": "connect_failed", "reason": reason})
                    break
                delay = self._backoff(attempt)
                self._emit({"type": "reconnecting", "attempt": attempt, "delay": delay,
                            "reason": reason})
                if self._stop.wait(delay):
                    break
                continue
            reason, retry = self._session_loop(sock)
            ever_connected = ever_connected or self.welcome is not None
            if self.welcome is not None:
                attempt = 0
            self.welcome = None
            with self._send_lock:
                self._sock = None
            try:
                sock.close()
            except OSError:
                pass
            if self._stop.is_set():
                break
            will_retry = retry and self.reconnect and ever_connected
            self._emit({"type": "disconnected", "reason": reason, "will_retry": will_retry})
            if not ever_connected and not will_retry:
                self._emit({"type": "connect_failed", "reason": reason})
            if not will_retry:
                break
            delay = self._backoff(max(attempt, 1))
            self._emit({"type": "reconnecting", "attempt": attempt + 1, "delay": delay,
                        "reason": reason})
            if self._stop.wait(delay):
                break

    @staticmethod
    def _backoff(attempt: int) -> float:
        """Exponential backoff with full jitter on the upper half: 0.5 s up to 30 s."""
        ceiling = min(BACKOFF_MAX, BACKOFF_FIRST * (2 ** (attempt - 1)))
        return random.uniform(ceiling / 2, ceiling)

    def _open(self) -> socket.socket:
        sock = socket.create_connection((self.host, self.port), timeout=self.connect_timeout)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
            if self.wrap_socket is not None:
                sock = self.wrap_socket(sock, self.host)
        except BaseException:
            sock.close()
            raise
        return sock

    def _hello(self) -> dict:
        hello = {"type": "hello", "name": self.name, "client": self.client}
        if self.password is not None:
            hello["password"] = self.password
        if self._session is not None:
            hello["resume"] = self._session
        if self.last_seq is not None:
            hello["since"] = self.last_seq
        return hello

    def _session_loop(self, sock: socket.socket):
        """Run one connection until it ends; return (reason, worth retrying)."""
        outq: "queue.Queue" = queue.Queue()
        sender = threading.Thread(target=self._send_loop, args=(sock, outq),
                                  name="chat-sender", daemon=True)
        sock.settimeout(None)  # blocking: the sender's sendall must not time out
        with self._send_lock:
            self._sock, self._outq = sock, outq
        sender.start()
        try:
            return self._receive_loop(sock)
        finally:
            with self._send_lock:
                self._outq = None
            outq.put(None)
            sender.join(1.0)

    def _receive_loop(self, sock: socket.socket):
        decoder = protocol.FrameDecoder(max_body=protocol.HARD_MAX_FRAME)
        self._send(self._hello())
        last_heard = time.monotonic()
        ping_sent = False
        tick = max(0.05, self.ping_interval / 4)
        while True:
            try:
                buffered = hasattr(sock, "pending") and sock.pending()  # TLS buffers
                if not buffered and not select.select([sock], [], [], tick)[0]:
                    raise socket.timeout
                data = sock.recv(65536)
            except socket.timeout:
                quiet = time.monotonic() - last_heard
                if quiet > 2 * self.ping_interval:
                    return "the server stopped answering (ping timeout)", True
                if quiet > self.ping_interval and not ping_sent and self.welcome is not None:
                    self.ping()
                    ping_sent = True
                continue
            except OSError as exc:
                return f"connection lost ({exc.strerror or exc})", True
            if not data:
                if self._stop.is_set():
                    return "closed", False
                return "the server closed the connection", True
            last_heard = time.monotonic()
            ping_sent = False
            decoder.feed(data)
            try:
                for body in decoder.events():
                    if isinstance(body, protocol.Oversized):
                        continue
                    outcome = self._handle(protocol.decode_message(body))
                    if outcome is not None:
                        return outcome
            except protocol.ProtocolError as exc:
                return f"the server sent something unreadable ({exc.message})", True

    def _seen_before(self, seq) -> bool:
        if not isinstance(seq, int):
            return False
        if seq in self._seen_set:
            return True
        if len(self._seen) == self._seen.maxlen:
            self._seen_set.discard(self._seen[0])
        self._seen.append(seq)
        self._seen_set.add(seq)
        return False

    def _handle(self, msg: dict):
        """Process one server message; return (reason, retry) to end the session."""
        kind = msg["type"]
        if kind == "welcome":
            self.welcome = msg
            self.name = msg.get("name", self.name)
            self._session = msg.get("session", self._session)
            self.max_text = msg.get("max_text", self.max_text)
            seq = msg.get("seq")
            if isinstance(seq, int) and self.last_seq is not None and seq <= self.last_seq:
                # The server's history started again (a new database): old seqs mean
                # nothing now, and dropping new events as seen would lose them.
                self._seen.clear()
                self._seen_set.clear()
                self.last_seq = None
            self._seen_before(seq)
            self._emit({**msg, "type": "connected", "host": self.host, "port": self.port})
            self._resend_outbox()
            return None
        if kind in ("message", "join", "leave", "nick"):
            seq = msg.get("seq")
            if self._seen_before(seq):
                return None
            if isinstance(seq, int) and (self.last_seq is None or seq > self.last_seq):
                self.last_seq = seq
            if kind == "message" and msg.get("id") is not None:
                # A replayed line of our own: the server stored it, so it is acked.
                with self._state_lock:
                    mine = self._outbox.pop(msg["id"], None)
                if mine is not None:
                    self._emit({"type": "ack", "id": msg["id"], "seq": seq, "text": mine["text"]})
                    return None
            if kind == "nick" and msg.get("old") == self.name:
                self.name = msg.get("new", self.name)
            self._emit(msg)
            return None
        if kind == "ack":
            with self._state_lock:
                mine = self._outbox.pop(msg.get("id"), None)
            if mine is None and msg.get("id") is not None:
                return None  # a resend acked twice: already reported
            seq = msg.get("seq")
            if isinstance(seq, int) and (self.last_seq is None or seq > self.last_seq):
                self.last_seq = seq
            self._seen_before(seq)
            self._emit({**msg, "text": mine["text"] if mine else None})
            return None
        if kind == "pong":
            sent = self._pings.pop(msg.get("id"), None)
            if sent is not None:
                self.rtt = time.monotonic() - sent
                msg = {**msg, "rtt": self.rtt}
            self._emit(msg)
            return None
        if kind == "error":
            code = msg.get("code")
            with self._state_lock:
                if code == protocol.RATE_LIMITED and msg.get("id") in self._resent:
                    # A line resent after a reconnect hit the server's burst limit:
                    # still the user's line, so try it again shortly, not "failed".
                    self._retry.append(msg["id"])
                    if len(self._retry) == 1:
                        threading.Timer(RESEND_RETRY, self._resend_retries).start()
                    return None
                failed = self._outbox.pop(msg.get("id"), None) if msg.get("id") else None
            self._emit({**msg, "text": failed["text"] if failed else None})
            if code in FATAL_CODES and self.welcome is None:
                self.reconnect = False
                return msg.get("message") or code, False
            if code == protocol.SHUTTING_DOWN:
                return "the server is shutting down", True
            if code in protocol.CLOSING_CODES:
                return msg.get("message") or code, code != protocol.AUTH_FAILED
            return None
        self._emit(msg)  # users, system, and types we do not know: the UI decides
        return None

    def _resend_outbox(self) -> None:
        with self._state_lock:
            pending = list(self._outbox.values())
            self._resent = {m["id"] for m in pending}
            self._retry = []
        for message in pending:
            if not self._send(message):
                break

    def _resend_retries(self) -> None:
        with self._state_lock:
            retry, self._retry = self._retry, []
            messages = [self._outbox[i] for i in retry if i in self._outbox]
        for message in messages:
            self._send(message)
