"""The terminal mode (``client.py --cli``), which is also the scriptable client.

Every stdin line is sent (slash commands included), every event is printed as one
readable line, and end of input quits after the last line is acknowledged.
"""

from __future__ import annotations

import argparse
import queue
import sys
import threading
import time
from typing import Optional

import protocol
from lanchat import eventtext
from lanchat.client.connection import ChatConnection
from lanchat.client.options import make_connection

EOF_ACK_WAIT = 10.0  # seconds to wait for the last lines' acks after end of input


def terminal_safe(text: str) -> str:
    """Make network text harmless for a terminal: no escape sequences, no control bytes.

    Control characters other than newline and tab are shown as ``\\xNN`` so a peer cannot
    move the cursor, retitle the window or hide text.
    """
    out = []
    for ch in text:
        code = ord(ch)
        if ch in "\n\t" or (code >= 0x20 and code != 0x7F and not 0x80 <= code < 0xA0):
            out.append(ch)
        else:
            out.append(f"\\x{code:02x}")
    return "".join(out)


class TerminalPrinter:
    """Turns connection events into printed lines (for ``--cli``)."""

    def __init__(self, conn: ChatConnection, out=sys.stdout):
        self.conn = conn
        self.out = out
        self.in_replay = False
        self.failed: Optional[str] = None
        self.unsent = 0  # lines the connection gave up on

    def say(self, line: str) -> None:
        print(terminal_safe(line), file=self.out, flush=True)

    def show(self, event: dict) -> None:
        kind = event["type"]
        if kind == "connected":
            users = event.get("users", [])
            self.say(f"* connected to {event['host']}:{event['port']} as {event['name']} "
                     f"({len(users)} here: {', '.join(users)}); /help lists the commands")
        elif kind == "connect_failed":
            self.failed = event["reason"]
            print(terminal_safe(f"error: {event['reason']}"), file=sys.stderr, flush=True)
        elif kind == "disconnected":
            self.say(f"* disconnected: {event['reason']}")
        elif kind == "reconnecting":
            self.say(f"* reconnecting in {event['delay']:.1f} s (attempt {event['attempt']})")
        elif kind in ("ack", "pong", "connecting", "closed"):
            pass
        else:
            replay = bool(event.get("replay"))
            if replay and not self.in_replay:
                self.say("--- earlier messages ---")
            elif not replay and self.in_replay and kind == "message":
                self.say("--- now ---")
            if kind == "message":
                self.in_replay = replay
            line = eventtext.describe(event, self.conn.name)
            if line is None:
                return
            if kind == "error" and event.get("code") == "not_sent":
                self.unsent += 1
            if kind == "error" and event.get("text"):
                line += f" (not sent: {event['text'][:60]})"
            if kind in ("message", "join", "leave", "nick"):
                line = f"{eventtext.clock(event.get('ts'))} {line}"
            self.say(line)


def run_cli(args: argparse.Namespace) -> int:
    """The terminal client: returns the process exit code."""
    if not args.host or not args.name:
        print("error: --cli needs --host and --name", file=sys.stderr)
        return 2
    conn = make_connection(args, args.host, args.port or protocol.DEFAULT_PORT, args.name)
    printer = TerminalPrinter(conn)
    if hasattr(sys.stdin, "reconfigure"):
        sys.stdin.reconfigure(errors="replace")  # a stray byte is not worth a traceback
    connected = threading.Event()
    finished = threading.Event()

    def pump():
        while True:
            event = conn.events.get()
            if event["type"] == "connected":
                connected.set()
            printer.show(event)
            if event["type"] == "connect_failed" or event["type"] == "closed":
                finished.set()
                connected.set()
                if event["type"] == "closed":
                    return

    threading.Thread(target=pump, name="printer", daemon=True).start()
    conn.start()
    connected.wait()
    if printer.failed:
        conn.close()
        return 1
    # stdin is read on its own thread, so when the connection ends for good (a drop
    # with --no-reconnect, a refusal) the program ends without waiting for more input.
    typed: "queue.Queue[Optional[str]]" = queue.Queue()

    def read_stdin():
        try:
            for typed_line in sys.stdin:
                typed.put(typed_line)
        finally:
            typed.put(None)

    threading.Thread(target=read_stdin, name="stdin", daemon=True).start()
    try:
        while not finished.is_set():
            try:
                line = typed.get(timeout=0.1)
            except queue.Empty:
                continue
            if line is None:
                break
            line = line.rstrip("\r\n")
            if line.strip():
                conn.say(line)
    except KeyboardInterrupt:
        pass
    deadline = time.monotonic() + EOF_ACK_WAIT
    while conn.pending() and time.monotonic() < deadline and not finished.is_set():
        time.sleep(0.02)
    conn.close()
    finished.wait(3.0)
    return 1 if printer.failed or printer.unsent else 0
