"""LAN chat server: one thread per connection, one room, one order for everyone.

Run ``python server.py`` and it listens on port 5050 on every interface and prints the
addresses other machines can use. This file is the command line only: flags become one
``ServerConfig`` (``lanchat/server/config.py``), which starts a ``ChatServer``
(``lanchat/server/listener.py``). docs/architecture.md has the map of the rest.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from typing import Optional

from lanchat import tls
from lanchat.discovery.announce import ServerDiscovery
from lanchat.discovery.found import Found
from lanchat.tls.pins import fingerprint_hex
from lanchat.netaddr import lan_addresses
from lanchat.errors import HistoryUnusable, StoreUnavailable
from lanchat.server.config import build_parser, config_from_args, warnings_for
from lanchat.server.database import check_location
from lanchat.server.listener import ChatServer


def main(argv: Optional[list] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # Connection threads are plain _thread ones (lanchat.server.listener): a record
    # must not ask threading for their name, which would keep a dummy Thread for each.
    logging.logThreads = False
    logging.basicConfig(level=getattr(logging, args.log_level),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = config_from_args(args)
    try:
        if not config.redis:
            check_location(config.db)  # before --tls-self-signed makes files beside it
    except HistoryUnusable as exc:
        parser.error(f"--db {config.db}: {exc}")
    try:
        config.tls_context, tls_fingerprint, tls_cert = tls.server_setup(
            args.tls_cert, args.tls_key, args.tls_self_signed, config.db, lan_addresses)
    except ValueError as exc:
        parser.error(str(exc))
    for warning in warnings_for(config):
        print(f"warning: {warning}", file=sys.stderr, flush=True)
    try:
        server = ChatServer(config)
    except HistoryUnusable as exc:
        parser.error(f"--db {config.db}: {exc}")
    except StoreUnavailable as exc:
        print(f"error: --redis: {exc}. Is redis-server running there?", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"error: cannot listen on {config.host}:{config.port}: {exc.strerror or exc}."
              + (" Another server may be running there; stop it or pick another --port."
                 if exc.errno in (98, 48, 10048) else ""), file=sys.stderr)
        return 1
    # Before anything is printed: a test (or a person) may signal as soon as it reads.
    stop = threading.Event()

    def on_signal(signum, _frame):
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    host, port = server.server_address[:2]
    history = f"shared in Redis {config.redis}" if config.redis else config.db
    print(f"chat server listening on {host}:{port} (history: {history}, "
          f"last seq {server.room.seq})", flush=True)
    if config.password:
        print("a password is required to join", flush=True)
    if config.tls_context:
        print(f"TLS on; certificate fingerprint {tls_fingerprint} ({tls_cert})", flush=True)
    addresses = lan_addresses() if host in ("0.0.0.0", "") else [host]
    for ip in addresses:
        print(f"clients can connect with: python client.py --host {ip} --port {port}"
              + (" --tls" if config.tls_context else ""), flush=True)

    discovery = start_discovery(server, tls_fingerprint)
    serving = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                               name="accept", daemon=True)
    serving.start()
    while not stop.wait(0.5):
        pass
    print("shutting down...", flush=True)
    if discovery is not None:
        discovery.stop()  # first: browsers drop the server at once
    server.close_gracefully()
    print("bye", flush=True)
    return 0


def start_discovery(server: ChatServer, tls_fingerprint: Optional[str]
                    ) -> Optional[ServerDiscovery]:
    """Make the server findable on the LAN unless ``--no-advertise``; print which it does."""
    config = server.config
    if not config.advertise:
        print("Not advertising (--no-advertise): clients need --host to connect", flush=True)
        return None
    host, port = server.server_address[:2]
    found = Found(name=config.server_name, host=host, port=port,
                  tls=config.tls_context is not None, pw=config.password is not None,
                  fp=fingerprint_hex(tls_fingerprint))
    discovery = ServerDiscovery(found, host, server.people)
    sentence, warnings = discovery.start()
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr, flush=True)
    print(sentence, flush=True)
    return discovery


if __name__ == "__main__":
    sys.exit(main())
