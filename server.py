"""LAN chat server: one thread per connection, one room, one order for everyone.

Run ``python server.py`` and it listens on port 5050 on every interface and prints
the addresses other machines can use. The parts:

* ``ChatServer`` is a ``socketserver.ThreadingTCPServer``: it accepts, admits (limits),
  tracks every connection, and shuts down gracefully.
* ``ChatHandler`` is one connection: it reads frames (``protocol.FrameDecoder``),
  enforces the frame and idle timeouts, tells structured from plain clients, and calls
  the room. Its replies and broadcasts leave through its ``SendQueue``, which never
  blocks.
* ``room.Room`` owns members, seq and broadcast; ``history.Journal`` stores events.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import queue
import select
import signal
import socket
import socketserver
import sys
import threading
import time
from dataclasses import dataclass
from typing import Optional

import protocol
from history import Journal
from protocol import FrameError, MessageError
from room import Member, Room, Settings
from sendqueue import SendQueue
from transport import PlainTransport

log = logging.getLogger("chat.server")

SHUTDOWN_FLUSH_SECONDS = 2.0   # how long queued frames may take to leave at shutdown
BYE_FLUSH_SECONDS = 2.0        # the same for one client that says bye
RECV_BYTES = 65536


@dataclass
class ServerConfig:
    """Every knob of the server; the CLI flags map one to one."""

    host: str = "0.0.0.0"
    port: int = 5050
    max_frame_bytes: int = protocol.DEFAULT_MAX_FRAME
    max_text: int = protocol.DEFAULT_MAX_TEXT
    db: str = "chat-history.db"
    history: int = 50
    rate: float = 5.0
    burst: int = 10
    max_clients: int = 1000
    max_per_ip: int = 10
    frame_timeout: float = 30.0
    idle_timeout: float = 90.0
    max_send_queue: int = 1024 * 1024
    password: Optional[str] = None
    tls_context: object = None  # an ssl.SSLContext for the server side, or None


def _is_loopback(ip: str) -> bool:
    if ip.startswith("127.") or ip == "::1":  # the common case, without parsing
        return True
    try:
        return ipaddress.ip_address(ip).is_loopback
    except ValueError:
        return False


class ChatHandler(socketserver.BaseRequestHandler):
    """One client connection, from accept to close, on its own thread."""

    server: "ChatServer"

    # ------------------------------------------------------------ setup / finish

    def setup(self) -> None:
        sock = self.request
        ip, port = self.client_address[:2]
        self.peer = f"{ip}:{port}"
        self.ip = ip
        config = self.server.config
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        _enable_keepalive(sock)
        self.out = SendQueue(sock, config.max_send_queue, self.peer)
        self.transport = (self.server.tls_transport(sock, self.out) if config.tls_context
                          else PlainTransport(self.out))
        self.decoder = protocol.FrameDecoder(config.max_frame_bytes)
        self.member: Optional[Member] = None
        self.plain: Optional[bool] = None   # None until the first frame says
        self.says: list = []  # (text, id) of this read's say messages not yet handled
        self.lines_sent = False  # lines handed to the room since the last deliver_pending
        self.kick_reason: Optional[str] = None
        self.refused = not self.server.admit(self)

    def finish(self) -> None:
        reason = self.kick_reason or (self.member.close_reason if self.member else None) \
            or self.out.failed or getattr(self, "reason", None) or "connection closed"
        graceful = getattr(self, "graceful", False)
        if graceful and self.member is not None:
            # Leave only after the journal delivered what this client sent before its
            # bye: a member that is gone gets no acks.
            self.server.room.delivered(BYE_FLUSH_SECONDS)
        if self.member is not None:
            self.server.room.leave(self.member, reason)
        if graceful:
            self.out.flush(BYE_FLUSH_SECONDS)
        self.out.close()
        # Last: shutdown waits for every connection to be released, so by then its
        # leave is in the journal.
        self.server.release(self)
        log.debug("%s closed: %s", self.peer, reason)

    def kick(self, reason: str) -> None:
        """Close this connection from another thread; the reader thread notices."""
        self.kick_reason = self.kick_reason or reason
        try:
            self.request.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    # ------------------------------------------------------------------ reading

    def handle(self) -> None:
        if self.refused:
            return
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
                        self.reason = "frame timeout"
                        return
                    if not self.plain and now >= last_heard + config.idle_timeout:
                        self.reason = "ping timeout"
                        return
                    continue
            try:
                data = self.transport.receive(sock, RECV_BYTES)
            except FrameError as exc:  # the TLS layer refused the bytes
                log.info("%s: %s", self.peer, exc.message)
                self.reason = "tls error"
                return
            except OSError as exc:
                self.reason = "connection reset" if isinstance(exc, ConnectionResetError) \
                    else f"connection error: {exc.strerror or exc}"
                return
            if data is None:
                continue  # TLS handshake progress, nothing decrypted yet
            if not data:
                self.reason = "connection closed"
                self.graceful = True
                return
            last_heard = time.monotonic()
            self.decoder.feed(data)
            completed = False
            try:
                for body in self.decoder.events():
                    completed = True
                    leave = self._on_body(body)
                    if leave is not None:
                        self.reason = leave
                        self.graceful = True
                        return
            except FrameError as exc:
                self._error(exc.code, exc.message)
                log.info("%s: frame error: %s", self.peer, exc.message)
                self.reason = f"protocol error ({exc.code})"
                return
            finally:
                # The says of this read under one hold of the room lock, then in one
                # commit and one send per member. (Those before a frame error count:
                # they arrived whole.)
                leave = self._take_says()
                if self.lines_sent:
                    self.lines_sent = False
                    self.server.room.deliver_pending()
            if leave is not None:
                self.reason = leave
                self.graceful = True
                return
            # The frame timeout runs from the first byte of the frame now unfinished.
            if not self.decoder.in_frame:
                frame_started = None
            elif completed or frame_started is None:
                frame_started = last_heard

    def _error(self, code: str, message: str, msg_id: Optional[str] = None) -> None:
        if self.plain:
            self.transport.send(protocol.encode_frame(f"error: {message}"))
        else:
            self.transport.send(protocol.message_frame(protocol.error_message(code, message, msg_id)))

    def _on_body(self, body) -> Optional[str]:
        """Handle one frame body; return a leave reason to end the connection."""
        if self.member is not None and not self.member.welcome_sent and not self.plain:
            # A frame soon after hello: the journal sends the welcome, and the replies
            # this thread sends directly (pong, errors) must not overtake it. (Waiting
            # at hello instead would cost every join a thread hand-off.)
            self.server.room.delivered(BYE_FLUSH_SECONDS)
        if isinstance(body, protocol.Oversized):
            self._error(protocol.TOO_LARGE, f"frame of {body.declared} bytes is over the limit "
                        f"of {self.server.config.max_frame_bytes} bytes; it was discarded")
            return None
        if self.plain is None:
            self.plain = not protocol.looks_like_hello(body)
            if type(self.transport) is PlainTransport:  # TLS would need it encrypted
                message = "you were not reading fast enough; the server dropped you"
                self.out.farewell = (protocol.encode_frame(f"error: {message}") if self.plain
                                     else protocol.message_frame(protocol.error_message(
                                         protocol.SEND_QUEUE_FULL, message)))
            if self.plain:
                refusal = self._join_plain()
                if refusal:
                    return refusal
        try:
            if self.plain:
                self.lines_sent = True
                return self.server.room.line(self.member, protocol.decode_text(body))
            return self._on_structured(protocol.decode_message(body))
        except MessageError as exc:
            self._error(exc.code, exc.message)
            return None

    def _join_plain(self) -> Optional[str]:
        if self.server.config.password is not None:
            self._error(protocol.AUTH_FAILED, "this server needs a password: "
                        "connect with client.py --password")
            return "auth failed"
        self.member = self.server.room.join(self.transport, None, plain=True, peer=self.peer,
                                            kick=self.kick)
        return None

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
            self.says.append((message.text, message.id))
            return None
        leave = self._take_says()  # whatever comes next sees them handled
        if leave is not None:
            return leave
        if isinstance(message, protocol.Ping):
            self.transport.send(protocol.message_frame({"type": "pong", "id": message.id}))
            return None
        return message.reason or "bye"  # Bye

    def _take_says(self) -> Optional[str]:
        """Hand the says gathered from this read to the room; a leave reason or None."""
        if not self.says:
            return None
        says, self.says = self.says, []
        self.lines_sent = True
        return self.server.room.lines(self.member, says)

    def _hello(self, hello: protocol.Hello) -> Optional[str]:
        expected = self.server.config.password
        if expected is not None and not _same_secret(hello.password or "", expected):
            self._error(protocol.AUTH_FAILED, "wrong password (check client.py --password "
                        "or CHAT_PASSWORD)" if hello.password else "this server needs a "
                        "password: connect with client.py --password (or set CHAT_PASSWORD)")
            log.info("%s: refused, %s password", self.peer, "wrong" if hello.password else "no")
            return "auth failed"
        self.member = self.server.room.join(self.transport, hello.name, plain=False,
                                            peer=self.peer, since=hello.since,
                                            resume=hello.resume, kick=self.kick)
        return None


def _same_secret(given: str, expected: str) -> bool:
    import hmac
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


class ChatServer(socketserver.ThreadingTCPServer):
    """The listening socket, admission, the room, and graceful shutdown.

    Args:
        config: the server's settings; ``config.port`` 0 picks a free port
            (``server_address`` tells which).
    """

    allow_reuse_address = True
    daemon_threads = True          # shutdown joins the handlers itself, with a bound
    block_on_close = False
    # The default 5 drops connects when a class joins at once; Linux caps it at
    # net.core.somaxconn (4096 on current kernels).
    request_queue_size = 4096
    # Threads that start the connections' threads. Starting a thread waits until it
    # runs, which under load takes milliseconds (it needs the GIL); done by the
    # accepting thread, that wait capped accepts at a few hundred a second while a
    # crowd joined. The accepting thread hands each connection over instead.
    spawners = 4

    def __init__(self, config: ServerConfig):
        self.config = config
        self.journal = Journal(config.db)
        self.room = Room(self.journal, Settings(
            max_text=config.max_text, max_frame=config.max_frame_bytes, history=config.history,
            rate=config.rate, burst=config.burst, password=config.password))
        self._handlers: set = set()
        self._per_ip: dict = {}
        self._handlers_lock = threading.Lock()
        self._closed = threading.Event()
        self._to_spawn: queue.SimpleQueue = queue.SimpleQueue()
        try:
            super().__init__((config.host, config.port), ChatHandler)
        except BaseException:
            self.journal.close()
            raise
        for number in range(self.spawners):
            threading.Thread(target=self._spawn_loop, name=f"spawn-{number}", daemon=True).start()

    # ---------------------------------------------------------------- threads

    def process_request(self, request, client_address) -> None:
        """Hand the accepted connection to a spawner; accepting goes on at once."""
        self._to_spawn.put((request, client_address))

    def _spawn_loop(self) -> None:
        while True:
            item = self._to_spawn.get()
            if item is None:
                return
            request, client_address = item
            try:
                # ThreadingMixIn's: a thread for the connection, for its lifetime.
                super().process_request(request, client_address)
            except Exception:
                self.handle_error(request, client_address)
                self.shutdown_request(request)

    def server_close(self) -> None:
        super().server_close()
        for _ in range(self.spawners):
            self._to_spawn.put(None)

    # ---------------------------------------------------------------- admission

    def admit(self, handler: ChatHandler) -> bool:
        """Count a new connection in; refuse it with ``server_full`` over a limit."""
        with self._handlers_lock:
            count = self._per_ip.get(handler.ip, 0)
            if len(self._handlers) >= self.config.max_clients:
                why = f"the server is full ({self.config.max_clients} connections)"
            elif count >= self.config.max_per_ip and not _is_loopback(handler.ip):
                why = f"too many connections from {handler.ip} (the limit is {self.config.max_per_ip})"
            elif self.room.closing:
                why = "the server is shutting down"
            else:
                self._handlers.add(handler)
                self._per_ip[handler.ip] = count + 1
                return True
        log.warning("%s refused: %s", handler.peer, why)
        handler.transport.send(protocol.message_frame(
            protocol.error_message(protocol.SERVER_FULL, why)))
        handler.out.flush(0.5)
        return False

    def release(self, handler: ChatHandler) -> None:
        with self._handlers_lock:
            if handler in self._handlers:
                self._handlers.discard(handler)
                left = self._per_ip.get(handler.ip, 1) - 1
                if left:
                    self._per_ip[handler.ip] = left
                else:
                    self._per_ip.pop(handler.ip, None)

    def connection_count(self) -> int:
        with self._handlers_lock:
            return len(self._handlers)

    def tls_transport(self, sock, out):
        from transport import TLSTransport
        return TLSTransport(self.config.tls_context, out)

    def handle_error(self, request, client_address) -> None:
        # One connection's bug must not reach the others: log it with the peer.
        log.exception("unexpected error on connection from %s:%s", *client_address[:2])

    # ----------------------------------------------------------------- shutdown

    def close_gracefully(self, flush_seconds: float = SHUTDOWN_FLUSH_SECONDS) -> None:
        """Stop accepting, say ``shutting_down`` to all, flush (bounded), close, store.

        Call from a thread other than the one running ``serve_forever``.
        """
        if self._closed.is_set():
            return
        self._closed.set()
        self.shutdown()
        members = self.room.shutting_down()
        deadline = time.monotonic() + flush_seconds
        for member in members:
            member.out.flush(max(0.0, deadline - time.monotonic()))
        with self._handlers_lock:
            handlers = list(self._handlers)
        for handler in handlers:
            handler.kick("server shutting down")
        self._wait_for_handlers(deadline + 2.0)
        self.server_close()
        self.journal.close()

    def _wait_for_handlers(self, deadline: float) -> None:
        while self.connection_count() and time.monotonic() < deadline:
            time.sleep(0.02)


# ---------------------------------------------------------------------- the CLI

def lan_addresses() -> list:
    """IPv4 addresses of this machine that other machines could reach (no traffic sent)."""
    found = []
    try:
        import fcntl
        import struct
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            for _, ifname in socket.if_nameindex():
                try:
                    packed = fcntl.ioctl(probe.fileno(), 0x8915,  # SIOCGIFADDR
                                         struct.pack("256s", ifname[:15].encode()))
                except OSError:
                    continue
                found.append(socket.inet_ntoa(packed[20:24]))
        finally:
            probe.close()
    except (ImportError, OSError, AttributeError):
        pass
    if not found:
        try:
            found = [info[4][0] for info in socket.getaddrinfo(socket.gethostname(), None,
                                                               socket.AF_INET)]
        except OSError:
            found = []
    lan = sorted({ip for ip in found if not _is_loopback(ip)})
    return lan or ["127.0.0.1"]


def build_parser() -> argparse.ArgumentParser:
    d = ServerConfig()
    p = argparse.ArgumentParser(description="LAN chat server (thread per connection).",
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--host", default=d.host, help="address to listen on (0.0.0.0 = every interface)")
    p.add_argument("--port", type=int, default=d.port, help="TCP port")
    p.add_argument("--max-frame-bytes", type=int, default=d.max_frame_bytes,
                   help="largest frame body accepted (bigger ones get too_large)")
    p.add_argument("--max-text", type=int, default=d.max_text,
                   help="longest message, in characters")
    p.add_argument("--db", default=d.db, help="SQLite history file (:memory: keeps none on disk)")
    p.add_argument("--history", type=int, default=d.history,
                   help="messages replayed to someone who joins")
    p.add_argument("--rate", type=float, default=d.rate,
                   help="messages per second per connection (0 disables)")
    p.add_argument("--burst", type=int, default=d.burst, help="messages allowed in a burst")
    p.add_argument("--max-clients", type=int, default=d.max_clients,
                   help="connections at once; the next gets server_full")
    p.add_argument("--max-per-ip", type=int, default=d.max_per_ip,
                   help="connections from one address (loopback is exempt)")
    p.add_argument("--frame-timeout", type=float, default=d.frame_timeout,
                   help="seconds a started frame may take to arrive")
    p.add_argument("--idle-timeout", type=float, default=d.idle_timeout,
                   help="seconds a structured client may be silent (clients ping every 30)")
    p.add_argument("--max-send-queue", type=int, default=d.max_send_queue,
                   help="bytes queued for a slow reader before it is dropped")
    p.add_argument("--password", default=None,
                   help="password clients must give (better: set CHAT_PASSWORD)")
    p.add_argument("--tls-cert", metavar="FILE", default=None,
                   help="TLS certificate (PEM); clients then connect with --tls")
    p.add_argument("--tls-key", metavar="FILE", default=None,
                   help="private key of --tls-cert (PEM), if not in that file")
    p.add_argument("--tls-self-signed", action="store_true",
                   help="TLS with a self-signed certificate made once beside --db and reused")
    p.add_argument("--log-level", default="INFO",
                   choices=["DEBUG", "INFO", "WARNING", "ERROR"], help="logging detail")
    return p


def config_from_args(args: argparse.Namespace) -> ServerConfig:
    return ServerConfig(
        host=args.host, port=args.port, max_frame_bytes=args.max_frame_bytes,
        max_text=args.max_text, db=args.db, history=args.history, rate=args.rate,
        burst=args.burst, max_clients=args.max_clients, max_per_ip=args.max_per_ip,
        frame_timeout=args.frame_timeout, idle_timeout=args.idle_timeout,
        max_send_queue=args.max_send_queue,
        password=args.password or os.environ.get("CHAT_PASSWORD") or None)


def main(argv: Optional[list] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=getattr(logging, args.log_level),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = config_from_args(args)
    import tls
    try:
        config.tls_context, tls_fingerprint, tls_cert = tls.server_setup(
            args.tls_cert, args.tls_key, args.tls_self_signed, config.db, lan_addresses)
    except ValueError as exc:
        parser.error(str(exc))
    try:
        server = ChatServer(config)
    except OSError as exc:
        print(f"error: cannot listen on {config.host}:{config.port}: {exc.strerror or exc}."
              + (" Another server may be running there; stop it or pick another --port."
                 if exc.errno in (98, 48, 10048) else ""), file=sys.stderr)
        return 1
    host, port = server.server_address[:2]
    print(f"chat server listening on {host}:{port} (history: {config.db}, "
          f"last seq {server.room.seq})", flush=True)
    if config.password:
        print("a password is required to join", flush=True)
    if config.tls_context:
        print(f"TLS on; certificate fingerprint {tls_fingerprint} ({tls_cert})", flush=True)
    addresses = lan_addresses() if host in ("0.0.0.0", "") else [host]
    for ip in addresses:
        print(f"clients can connect with: python client.py --host {ip} --port {port}"
              + (" --tls" if config.tls_context else ""), flush=True)

    stop = threading.Event()

    def on_signal(signum, _frame):
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    serving = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                               name="accept", daemon=True)
    serving.start()
    while not stop.wait(0.5):
        pass
    print("shutting down...", flush=True)
    server.close_gracefully()
    print("bye", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
