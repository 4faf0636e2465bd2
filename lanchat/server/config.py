"""The server's settings: one ``ServerConfig`` from the command line to every component.

Each setting has its one default here (the ``ServerConfig`` field); ``build_parser``
takes its defaults from it and ``config_from_args`` maps the flags one to one.
"""

from __future__ import annotations

import argparse
import math
import os
import socket
from dataclasses import dataclass, field
from typing import Callable, Optional

import protocol
from lanchat.discovery.wire import MAX_NAME_BYTES, valid_name
from lanchat.errors import BadAnnouncement

IDLE_MARGIN = 5.0  # seconds a ping may take to arrive beyond the clients' interval


def default_server_name() -> str:
    """``<hostname> chat``: this machine's short host name, cut to fit a DNS label."""
    host = socket.gethostname().split(".")[0] or "LAN"
    return f"{host[:MAX_NAME_BYTES - len(' chat')]} chat"


@dataclass
class ServerConfig:
    """Every knob of the server; the CLI flags map one to one."""

    # --name: what the welcome says the server is, and the name discovery shows
    server_name: str = field(default_factory=default_server_name)
    host: str = "0.0.0.0"
    port: int = protocol.DEFAULT_PORT
    max_frame_bytes: int = protocol.DEFAULT_MAX_FRAME
    max_text: int = protocol.DEFAULT_MAX_TEXT
    db: str = "chat-history.db"
    history: int = 50
    rate: float = protocol.DEFAULT_RATE
    burst: int = protocol.DEFAULT_BURST
    max_clients: int = 1000
    max_rooms: int = 200           # rooms besides #lobby
    max_rooms_per_user: int = 20   # rooms one member may be in besides #lobby
    # Over this many in #lobby, joins and leaves go out as one crowd notice per run
    # instead of one event each (docs/protocol.md, "Crowded rooms"); 0: never.
    announce_limit: int = 500
    max_per_ip: int = 10
    frame_timeout: float = 30.0
    idle_timeout: float = 90.0
    max_send_queue: int = 1024 * 1024
    password: Optional[str] = None
    admin_password: Optional[str] = None  # /admin PASSWORD makes a session an admin
    tls_context: object = None  # an ssl.SSLContext for the server side, or None
    advertise: bool = True      # server.py makes itself findable (mDNS, UDP probe answer)
    # How 64-byte plain (tutorial) clients get their replies: "bare" text as the
    # tutorial servers send it (v2), or "framed" with the 64-byte header (v1).
    plain_replies: str = "bare"
    # --redis: servers with the same Redis are one chat (docs/cluster.md); None: alone,
    # on the SQLite history of --db.
    redis: Optional[str] = None
    # Events kept per room in Redis beyond --history, for `since` and `resume`.
    redis_window: int = 10000


def _whole(low: int, high: Optional[int] = None) -> Callable[[str], int]:
    """An argparse type: a whole number from ``low`` (to ``high``)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(
                f"{text!r} is not a whole number from {low}"
                + (f" to {high}" if high is not None else " up"))
        return value
    return parse


def _number(low: float, *, above: bool = False) -> Callable[[str], float]:
    """An argparse type: a finite number at least ``low`` (over it, with ``above``)."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or value < low or (above and value == low):
            raise argparse.ArgumentTypeError(
                f"{text!r} is not a number {'over' if above else 'of at least'} {low:g}")
        return value
    return parse


def _server_name(text: str) -> str:
    """An argparse type: a name discovery can carry (1-63 bytes, no control characters)."""
    try:
        return valid_name(text)
    except BadAnnouncement as exc:
        raise argparse.ArgumentTypeError(f"{text!r} cannot be a server name: {exc} "
                                         f"(at most {MAX_NAME_BYTES} bytes)") from None


def build_parser() -> argparse.ArgumentParser:
    """The server's flags, each defaulting to ``ServerConfig``'s value and checked for
    range here, so a bad one is one ``error:`` line and exit code 2."""
    d = ServerConfig()
    p = argparse.ArgumentParser(prog="server.py", description="LAN chat server (thread per connection).",
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--host", default=d.host, help="address to listen on (0.0.0.0 = every interface)")
    p.add_argument("--port", type=_whole(0, 65535), default=d.port,
                   help="TCP port (0 picks a free one); discovery probes are answered "
                        "on the same UDP port")
    p.add_argument("--name", type=_server_name, default=d.server_name,
                   help="the chat's name: shown in clients' window titles and in the "
                        "list of chats found on the LAN")
    p.add_argument("--no-advertise", action="store_true",
                   help="do not make the server findable on the LAN (no mDNS record, "
                        "no answer to discovery probes); clients then need --host")
    p.add_argument("--max-frame-bytes", type=_whole(64, protocol.HARD_MAX_FRAME),
                   default=d.max_frame_bytes,
                   help="largest frame body accepted (bigger ones get too_large)")
    p.add_argument("--max-text", type=_whole(1), default=d.max_text,
                   help="longest message, in characters")
    p.add_argument("--db", default=d.db, help="SQLite history file (:memory: keeps none on disk)")
    p.add_argument("--history", type=_whole(0), default=d.history,
                   help="messages replayed to someone who joins")
    p.add_argument("--rate", type=_number(0), default=d.rate,
                   help="messages per second per connection (0 disables)")
    p.add_argument("--burst", type=_whole(1), default=d.burst, help="messages allowed in a burst")
    p.add_argument("--max-clients", type=_whole(1), default=d.max_clients,
                   help="connections at once; the next gets server_full")
    p.add_argument("--max-rooms", type=_whole(0), default=d.max_rooms,
                   help="rooms there may be besides #lobby")
    p.add_argument("--max-rooms-per-user", type=_whole(0), default=d.max_rooms_per_user,
                   help="rooms one person may be in besides #lobby")
    p.add_argument("--announce-limit", type=_whole(0), default=d.announce_limit,
                   help="over this many people in #lobby, joins and leaves are sent as one "
                        "'crowd' notice per batch instead of one event each (0: never)")
    p.add_argument("--max-per-ip", type=_whole(1), default=d.max_per_ip,
                   help="connections from one address (loopback is exempt)")
    p.add_argument("--frame-timeout", type=_number(0, above=True), default=d.frame_timeout,
                   help="seconds a started frame may take to arrive")
    p.add_argument("--idle-timeout", type=_number(0, above=True), default=d.idle_timeout,
                   help=f"seconds a structured client may be silent (clients ping every "
                        f"{protocol.PING_INTERVAL:g})")
    p.add_argument("--max-send-queue", type=_whole(1024), default=d.max_send_queue,
                   help="bytes queued for a slow reader before it is dropped")
    p.add_argument("--password", default=None,
                   help="password clients must give (better: set CHAT_PASSWORD)")
    p.add_argument("--admin-password", default=None,
                   help="password of /admin, which makes a session an op everywhere "
                        "(better: set CHAT_ADMIN_PASSWORD)")
    p.add_argument("--tls-cert", metavar="FILE", default=None,
                   help="TLS certificate (PEM); clients then connect with --tls")
    p.add_argument("--tls-key", metavar="FILE", default=None,
                   help="private key of --tls-cert (PEM), if not in that file")
    p.add_argument("--tls-self-signed", action="store_true",
                   help="TLS with a self-signed certificate made once beside --db and reused")
    p.add_argument("--plain-replies", choices=["bare", "framed"], default=d.plain_replies,
                   help="replies to 64-byte tutorial clients: bare text as the tutorial "
                        "servers send it, or framed with the 64-byte header (version 1)")
    p.add_argument("--redis", metavar="URL", default=None,
                   help="redis://HOST:PORT/DB: servers started with the same Redis form "
                        "one chat (better: set CHAT_REDIS_URL); --db is then not used")
    p.add_argument("--redis-window", type=_whole(0), default=d.redis_window,
                   help="events kept per room in Redis beyond --history, for clients "
                        "that reconnect (since, resume)")
    p.add_argument("--log-level", default="INFO", type=str.upper,
                   choices=["DEBUG", "INFO", "WARNING", "ERROR"], help="logging detail")
    return p


def warnings_for(config: ServerConfig) -> list:
    """Sentences about settings that work but will surprise (printed at start)."""
    found = []
    least = protocol.PING_INTERVAL + IDLE_MARGIN
    if config.idle_timeout < least:
        found.append(
            f"--idle-timeout {config.idle_timeout:g} is under {least:g} s: quiet clients ping "
            f"every {protocol.PING_INTERVAL:g} s, so they would be dropped and rejoin again "
            f"and again. Use at least {least:g}.")
    return found


def config_from_args(args: argparse.Namespace) -> ServerConfig:
    """The ``ServerConfig`` of parsed flags (the password may come from CHAT_PASSWORD)."""
    return ServerConfig(
        server_name=args.name, advertise=not args.no_advertise,
        host=args.host, port=args.port, max_frame_bytes=args.max_frame_bytes,
        max_text=args.max_text, db=args.db, history=args.history, rate=args.rate,
        burst=args.burst, max_clients=args.max_clients, max_per_ip=args.max_per_ip,
        max_rooms=args.max_rooms, max_rooms_per_user=args.max_rooms_per_user,
        announce_limit=args.announce_limit,
        frame_timeout=args.frame_timeout, idle_timeout=args.idle_timeout,
        max_send_queue=args.max_send_queue, plain_replies=args.plain_replies,
        redis=args.redis or os.environ.get("CHAT_REDIS_URL") or None,
        redis_window=args.redis_window,
        password=args.password or os.environ.get("CHAT_PASSWORD") or None,
        admin_password=args.admin_password or os.environ.get("CHAT_ADMIN_PASSWORD") or None)
