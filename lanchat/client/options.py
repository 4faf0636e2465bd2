"""The client's command line: its flags, and a ``ChatConnection`` made from them.

Both front ends use it: the terminal mode (``lanchat.client.terminal``) and the window
(``ui.app``).
"""

from __future__ import annotations

import argparse
import os
from typing import Optional

import protocol
from lanchat import tls
from lanchat.client.connection import ChatConnection
from lanchat.client.wiretap import WireTap


def _fingerprint(text: str) -> str:
    """An argparse type: a SHA-256 fingerprint in either spelling (a typo would
    otherwise read as a man in the middle when the first TLS connection is refused)."""
    if tls.fingerprint_hex(text) is None:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a SHA-256 fingerprint: give the 64 hex digits, or the "
            f"SHA256:AB:CD:... form the server printed at start")
    return text


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description="LAN chat client (window, or terminal with --cli).")
    p.add_argument("--host", help="server address, e.g. 192.168.1.20 (without it: connect screen)")
    p.add_argument("--port", type=int, default=None, help=f"server port (default {protocol.DEFAULT_PORT})")
    p.add_argument("--name", help="your name (without it: connect screen)")
    p.add_argument("--password", default=None,
                   help="server password (better: set CHAT_PASSWORD)")
    p.add_argument("--cli", action="store_true", help="terminal mode: stdin lines are sent")
    p.add_argument("--tls", action="store_true", help="connect with TLS")
    p.add_argument("--cafile", help="CA or server certificate to verify TLS with "
                                    "(without it: trust on first use, pinned)")
    p.add_argument("--fingerprint", metavar="FP", type=_fingerprint,
                   help="the server certificate's SHA-256 fingerprint as it printed at start "
                        "(or as it advertised): the first TLS connection pins only that one")
    p.add_argument("--room", help="terminal mode: start in this room (joined at hello) "
                                  "and send typed lines there, e.g. --room games for #games")
    p.add_argument("--no-reconnect", action="store_true",
                   help="do not reconnect automatically after a drop")
    p.add_argument("--wire", action="store_true",
                   help="show the wire: with --cli, every frame sent and received on "
                        "stderr, one a line (direction, time, the 64-byte header, the "
                        "body); in the window, the inspector pane (F12) open at start")
    p.add_argument("--discover", action="store_true",
                   help="list the chat servers on this network (found within 2 s) and "
                        "exit; --port is then the port they are probed on")
    p.add_argument("--json", action="store_true",
                   help="with --discover: print a JSON array instead of lines")
    return p


def start_room(args: argparse.Namespace) -> str:
    """The room of ``--room`` (``games`` means ``#games``: a shell takes an unquoted
    ``#games`` for a comment), or ``#lobby`` without it."""
    room = (getattr(args, "room", None) or protocol.LOBBY).strip()
    return room if room.startswith("#") else "#" + room


def make_connection(args: argparse.Namespace, host: str, port: int, name: str,
                    rooms=(), wiretap: Optional[WireTap] = None) -> ChatConnection:
    """A ``ChatConnection`` configured from the command line (password, TLS, reconnect),
    asking to be in ``rooms`` besides ``#lobby``, its frames recorded by ``wiretap``."""
    wrap = None
    if args.tls or args.cafile:  # --cafile alone means TLS too
        wrap = tls.client_wrapper(cafile=args.cafile, advertised=args.fingerprint)
    password = args.password or os.environ.get("CHAT_PASSWORD") or None
    conn = ChatConnection(host, port, name, password=password, wrap_socket=wrap,
                          reconnect=not args.no_reconnect, rooms=rooms, wiretap=wiretap)
    if wrap is not None:  # first contact with a server: show what was pinned (TOFU)
        wrap.on_new_pin = lambda where, fp: conn.events.put({"type": "system", "text": (
            f"* new server certificate for {where}, fingerprint {fp}, pinned")})
    return conn
