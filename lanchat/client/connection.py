"""The client's connection to a chat server, free of any UI.

One background thread owns the socket's reading side: it connects, says ``hello``,
decodes frames and puts every event on ``events``, a ``queue.Queue`` that a render
loop drains without blocking (``get_nowait``). Sends come from any thread under one
lock. The same thread pings while the link is quiet, notices a dead server, and
reconnects with exponential backoff, resuming the session (``resume`` + ``since``) so
the view continues with no gap and no duplicate.

Lines the user sends go through an outbox keyed by their ``id`` (``outbox.py``): they
stay pending until acked (or refused), and after a reconnect the unacked ones are sent
again with their original ids, which the server recognises, so each is delivered
exactly once. Typing (never queued) and away are in ``presence.py``.

The connection's thread is also its only timer: it waits in ``select`` on the socket
and on a wake-up socket pair, with a timeout that is the next thing due (a paced line,
a ping, the end of a backoff). ``say``, ``close`` and ``reconnect_now`` wake it; nothing
else runs on a timer, so closing stops everything.

Besides the server's own messages, ``events`` carries these local ones:
``connecting`` (host, port, attempt), ``connected`` (welcome fields),
``disconnected`` (reason, will_retry), ``reconnecting`` (attempt, delay),
``connect_failed`` (reason: a readable sentence), ``closed``. An ``error`` that ends
the session carries ``ends_session: true`` (the ``disconnected`` or ``connect_failed``
after it gives the same reason).
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import queue
import socket
import threading
import time
import uuid
from typing import Callable, Optional

import protocol
from lanchat.client.backoff import backoff_delay
from lanchat.client.inbound import InboundDispatch
from lanchat.client.link import Sender, Waker, wait_readable
from lanchat.client.outbox import Outbox
from lanchat.client.presence import PresenceRequests
from lanchat.client.reasons import explain_error
from lanchat.client.rooms import LOBBY, RoomRequests, RoomTracker, is_lobby
from lanchat.client.seen import SeenSeqs
from lanchat.client.wiretap import RECEIVED, WireTap
from lanchat.errors import ConnectError

log = logging.getLogger("chat.connection")

PING_INTERVAL = protocol.PING_INTERVAL  # the client pings every 30 s when quiet
CONNECT_TIMEOUT = 6.0
NOT_SENT = "not_sent"         # local error code: the connection ended with the line unsent


class ChatConnection(InboundDispatch, PresenceRequests, RoomRequests):
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
        rooms: rooms to be in besides ``#lobby`` (every ``hello`` asks for them).
        wiretap: optional ``WireTap`` that records every frame sent and received.
    """

    def __init__(self, host: str, port: int, name: str, *, password: Optional[str] = None,
                 wrap_socket: Optional[Callable] = None, reconnect: bool = True,
                 ping_interval: float = PING_INTERVAL, client: str = "chat-client/1",
                 connect_timeout: float = CONNECT_TIMEOUT, rooms=(),
                 wiretap: Optional[WireTap] = None):
        self.host, self.port, self.name = host, port, name
        self.password = password
        self.wrap_socket = wrap_socket
        self.reconnect = reconnect
        self.ping_interval = ping_interval
        self.client = client
        self.connect_timeout = connect_timeout
        self.wiretap = wiretap
        self.events: "queue.Queue[dict]" = queue.Queue()
        # Written by the connection's thread only; others read them (atomic rebinds).
        self.welcome: Optional[dict] = None
        self.last_seq: Optional[int] = None
        self.rtt: Optional[float] = None
        self.max_text = protocol.DEFAULT_MAX_TEXT
        self._session: Optional[str] = None
        self._seen = SeenSeqs()
        self._rooms = RoomTracker(rooms)
        self._sock: Optional[socket.socket] = None
        # One lock for what callers' threads and the connection's thread share: the
        # outbox, the current socket's sender, the pings in flight.
        self._lock = threading.Lock()
        self._outbox = Outbox()
        self._sender: Optional[Sender] = None  # the current socket's writer
        self._live = False                     # welcomed, and the socket open
        self._pings: dict = {}
        self._last_sent = time.monotonic()  # when a frame last went to the sender (lock)
        self._in_backoff = False    # waiting to reconnect: reconnect_now may cut it
        self._cut_backoff = False   # ... and it did
        self._waker: Optional[Waker] = None   # made by start(), closed by the thread
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._ids = itertools.count(1)
        self._id_prefix = uuid.uuid4().hex[:8]
        self._ping_ids = itertools.count(1)

    # ------------------------------------------------------------------ public API

    @property
    def connected(self) -> bool:
        """True while a session is welcomed and its socket open."""
        with self._lock:
            return self._live

    def start(self) -> "ChatConnection":
        """Connect in the background; progress and results arrive on ``events``."""
        self._waker = Waker()
        self._thread = threading.Thread(target=self._run, name="chat-connection", daemon=True)
        self._thread.start()
        return self

    def say(self, text: str, room: str = LOBBY) -> str:
        """Queue one line (commands included) for ``room`` and send it if connected.

        Returns:
            the line's id; its ``ack`` or ``error`` event carries the same id.
        """
        msg_id = f"{self._id_prefix}-{next(self._ids)}"
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates, e.g. undecodable terminal input
            text = text.encode("utf-8", "replace").decode("utf-8")
        with self._lock:
            message = {"type": "say", "text": text, "id": msg_id}
            if not is_lobby(room):  # without it, as v1 servers expect
                message["room"] = room
            self._outbox.add(message)
        self._pump()
        return msg_id

    def pending(self) -> list:
        """The lines sent but not yet acked or refused, oldest first (id, text)."""
        with self._lock:
            return self._outbox.pending()

    def ping(self) -> None:
        """Send a ``ping``; its ``pong`` event carries ``rtt`` in seconds."""
        ping_id = next(self._ping_ids)
        with self._lock:
            self._pings[ping_id] = time.monotonic()
        self._send({"type": "ping", "id": ping_id})

    def reconnect_now(self) -> None:
        """Cut the wait before the next reconnect attempt and try at once.

        For a "Reconnect now" button: a no-op when connected, connecting or closed.
        """
        with self._lock:
            if not self._in_backoff:
                return
            self._cut_backoff = True
        self._waker.wake()

    def close(self, reason: str = "bye", timeout: float = 3.0) -> None:
        """Send ``bye``, stop reconnecting, close the socket and join the thread."""
        self._stop.set()
        with self._lock:
            if self._sender is not None:
                self._sender.put(protocol.message_frame({"type": "bye", "reason": reason}))
                self._sender.half_close()  # after the bye: the server answers with EOF
        if self._waker is not None:
            self._waker.wake()  # out of a backoff wait at once
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
            sock = self._sock  # read once: the thread may drop it meanwhile
            if self._thread.is_alive() and sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                self._thread.join(timeout)

    # ------------------------------------------------------------------ sending

    def _send(self, message: dict) -> bool:
        """Queue a frame for the sender thread; never blocks (the GUI calls this)."""
        frame = protocol.message_frame(message)
        with self._lock:
            if self._sender is None:
                return False
            self._sender.put(frame)
            self._last_sent = time.monotonic()
            return True

    def _pump(self) -> None:
        """Hand the lines that are due to the sender; wake the connection's thread if
        some must wait (its next timeout changes). Any thread may call it."""
        with self._lock:
            if self._sender is None or not self._live:
                return
            now = time.monotonic()
            for message in self._outbox.take_due(now):
                self._sender.put(protocol.message_frame(message))
            waiting = self._outbox.wait_time(now) is not None
        if waiting and threading.current_thread() is not self._thread:
            self._waker.wake()

    def _emit(self, event: dict) -> None:
        self.events.put(event)

    # ------------------------------------------------------------------ the thread

    def _run(self) -> None:
        try:
            self._connect_loop()
        except Exception:  # a bug here must still end with "closed", not a hang
            log.exception("connection thread failed")
        finally:
            self._give_up_outbox()
            self._waker.close()
            self._emit({"type": "closed"})

    def _give_up_outbox(self) -> None:
        """The connection is over for good: every line still pending gets a reason."""
        with self._lock:
            pending = self._outbox.drain()
        for message in pending:
            self._emit({"type": "error", "code": NOT_SENT, "id": message["id"],
                        "text": message["text"],
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
                if not self._wait_to_retry(attempt + 1, reason):
                    break
                continue
            reason, retry = self._session_loop(sock)
            ever_connected = ever_connected or self.welcome is not None
            if self.welcome is not None:
                attempt = 0
            self.welcome = None
            self._sock = None
            # shutdown first: a sender thread blocked in sendall on a dead link
            # wakes up now, instead of when TCP gives up.
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()
            if self._stop.is_set():
                break
            will_retry = retry and self.reconnect and ever_connected
            self._emit({"type": "disconnected", "reason": reason, "will_retry": will_retry})
            if not ever_connected and not will_retry:
                self._emit({"type": "connect_failed", "reason": reason})
            if not will_retry:
                break
            if not self._wait_to_retry(attempt + 1, reason):
                break

    def _wait_to_retry(self, attempt: int, reason: str) -> bool:
        """Announce connection attempt ``attempt`` (counted since the last welcome, so
        each number is announced once) and wait out its backoff; False if closed."""
        delay = self._backoff(attempt)
        deadline = time.monotonic() + delay
        with self._lock:  # before the event: a click on "Reconnect now" may follow it
            self._in_backoff, self._cut_backoff = True, False
        self._emit({"type": "reconnecting", "attempt": attempt, "delay": delay,
                    "reason": reason})
        try:
            while not self._stop.is_set():
                left = deadline - time.monotonic()
                with self._lock:
                    if left <= 0 or self._cut_backoff:
                        return True
                self._waker.wait(left)
            return False
        finally:
            with self._lock:
                self._in_backoff = False

    @staticmethod
    def _backoff(attempt: int) -> float:
        """Exponential backoff with jitter (``backoff.backoff_delay``)."""
        return backoff_delay(attempt)

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
        hello = {"type": "hello", "name": self.name, "client": self.client,
                 "rooms": self._rooms.names()}
        if self.password is not None:
            hello["password"] = self.password
        if self._session is not None:
            hello["resume"] = self._session
        if self.last_seq is not None:
            hello["since"] = self.last_seq
        return hello

    def _session_loop(self, sock: socket.socket):
        """Run one connection until it ends; return (reason, worth retrying)."""
        sock.settimeout(None)  # blocking: the sender's sendall must not time out
        self._sock = sock
        sender = Sender(sock, self.wiretap)
        with self._lock:
            self._sender = sender
        try:
            return self._receive_loop(sock)
        finally:
            with self._lock:
                self._sender = None
                self._live = False
                self._outbox.end_session()
            sender.stop(1.0)

    def _receive_loop(self, sock: socket.socket):
        decoder = protocol.FrameDecoder(max_body=protocol.HARD_MAX_FRAME)
        self._send(self._hello())
        last_heard = time.monotonic()
        ping_sent = False
        tick = max(0.05, self.ping_interval / 4)
        while True:
            self._pump()
            with self._lock:
                due_in = self._outbox.wait_time(time.monotonic())
                quiet_out = time.monotonic() - self._last_sent
            if quiet_out > self.ping_interval and self.welcome is not None:
                # The server's idle timeout counts what it hears from us: a client that
                # only listens (in a busy room too) pings on its own schedule.
                self.ping()
                quiet_out = 0.0
            # Wake for the next ping on time, not up to a tick late.
            timeout = min(tick, max(0.01, self.ping_interval - quiet_out))
            timeout = timeout if due_in is None else min(timeout, due_in)
            try:
                buffered = hasattr(sock, "pending") and sock.pending()  # TLS buffers
                ready = buffered or sock in wait_readable([sock, self._waker], timeout)
                self._waker.clear()
                data = sock.recv(65536) if ready else None
            except OSError as exc:
                return f"connection lost ({exc.strerror or exc})", True
            if data is None:
                quiet = time.monotonic() - last_heard
                if quiet > 2 * self.ping_interval:
                    return "the server stopped answering (ping timeout)", True
                if quiet > self.ping_interval and not ping_sent and self.welcome is not None:
                    self.ping()
                    ping_sent = True
                continue
            if not data:
                if self._stop.is_set():
                    return "closed", False
                return "the server closed the connection", True
            last_heard = time.monotonic()
            ping_sent = False
            decoder.feed(data)
            try:
                for header, body in decoder.frames():
                    if self.wiretap is not None:
                        self.wiretap.record(RECEIVED, header, body)
                    if isinstance(body, protocol.Oversized) or not body:  # or a keepalive
                        continue
                    outcome = self._handle(protocol.decode_message(body))
                    if outcome is not None:
                        return outcome
            except protocol.ProtocolError as exc:
                return f"the server sent something unreadable ({exc.message})", True
