"""The terminal mode (``client.py --cli``), which is also the scriptable client.

Every stdin line is sent (slash commands included), every event is printed as one
readable line (away and back included; typing never), and end of input quits after the last line is acknowledged.

Rooms: typed lines go to the current room (``--room #x`` to start there, ``#lobby``
otherwise). ``/join #x`` waits for the server's answer and makes ``#x`` current;
``/part`` leaves the current room and goes back to ``#lobby``. Lines from the other
rooms are printed with a ``[#room] `` prefix.

For scripts: the conversation goes to stdout and errors to stderr; the connection paces
piped lines to the server's rate limit and resends the ones it refuses, so they all
arrive, in order; the exit code is 1 when any line was not delivered (refused, or never
acknowledged), 0 otherwise.
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
from lanchat.client.options import make_connection, start_room
from lanchat.client.rooms import LOBBY, is_lobby
from lanchat.client.wiretap import WireFrame, WireTap, wire_line
from lanchat.errors import ConnectError
from lanchat.text import is_unprintable

# After end of input: how long to wait for the next ack before giving up on the rest.
# Paced lines may take much longer in all; only a server that stopped answering waits
# this long for nothing.
EOF_ACK_WAIT = 10.0
JOIN_WAIT = 10.0  # the longest a typed /join holds the next lines back

# Events about one room; without a ``room`` field they are about #lobby.
ROOM_EVENTS = frozenset({"message", "join", "part", "topic", "mode", "kick", "users"})


def terminal_safe(text: str) -> str:
    """Make network text harmless for a terminal: no escape sequences, no control bytes.

    Control characters other than newline and tab are shown as ``\\xNN`` so a peer cannot
    move the cursor, retitle the window or hide text.
    """
    return "".join(f"\\x{ord(ch):02x}" if ch not in "\n\t" and is_unprintable(ch) else ch
                   for ch in text)


def presence_line(event: dict) -> str:
    """``* alice is away: lunch`` or ``* alice is back`` for a ``presence`` event."""
    name, away = event.get("name", "?"), event.get("away")
    return f"* {name} is back" if away is None else f"* {name} is away: {away}"


class TerminalPrinter:
    """Turns connection events into printed lines (for ``--cli``)."""

    def __init__(self, conn: ChatConnection, out=sys.stdout, err=sys.stderr, room: str = LOBBY):
        self.conn = conn
        self.room = room  # where typed lines go (written by the printer's thread)
        self._join_answered: Optional[threading.Event] = None
        self.out = out
        self.err = err
        self.in_replay = False
        self.ever_connected = False
        self.failed: Optional[str] = None
        self.undelivered = 0  # lines refused by the server, or given up on

    def say(self, line: str) -> None:
        """Print one line of the conversation (stdout)."""
        print(terminal_safe(line), file=self.out, flush=True)

    def complain(self, line: str) -> None:
        """Print one error (stderr)."""
        print(terminal_safe(line), file=self.err, flush=True)

    def show(self, event: dict) -> None:
        """Print what one connection event means, if anything."""
        kind = event["type"]
        if kind == "connected":
            self.ever_connected = True
            users = event.get("users", [])
            self.say(f"* connected to {event['host']}:{event['port']} as {event['name']} "
                     f"({len(users)} here: {', '.join(users)}); /help lists the commands")
            self._rooms_at_welcome(event)
        elif kind == "connect_failed":
            self.failed = event["reason"]
            self.complain(f"error: {event['reason']}")
        elif kind == "disconnected":
            # Never connected: the connect_failed that follows says why, once.
            if self.ever_connected:
                self.say(f"* disconnected: {event['reason']}")
        elif kind == "error" and event.get("ends_session"):
            pass  # the disconnected or connect_failed line that follows says it
        elif kind == "reconnecting":
            self.say(f"* reconnecting in {event['delay']:.1f} s (attempt {event['attempt']})")
        elif kind in ("ack", "pong", "connecting", "closed", "typing"):
            pass  # typing is for windows: a terminal line per keystroke pause is noise
        elif kind == "presence":
            self.say(presence_line(event))
        elif kind == "joined":
            self._joined(event)
        else:
            line = eventtext.describe(event, self.conn.name)
            if line is None:
                return
            # History (any type) under one heading; the first live line closes it, a
            # command's answer too (it is not history).
            replay = bool(event.get("replay"))
            if replay and not self.in_replay:
                self.say("--- earlier messages ---")
            elif not replay and self.in_replay:
                self.say("--- now ---")
            self.in_replay = replay
            prefix = self._prefix(event)
            if kind == "error":
                if event.get("id") is not None:  # the answer to one of our lines
                    self.undelivered += 1
                if event.get("text"):
                    line += f" (not sent: {shown_line(event['text'])})"
                    if event["text"].lower().startswith("/join"):
                        self._answered()
                self.complain(prefix + line)
                return
            if kind in ("message", "join", "part", "leave", "nick"):
                line = f"{eventtext.clock(event.get('ts'))} {line}"
            self.say(prefix + line)
            self._left(event)

    def expect_join(self) -> threading.Event:
        """An event set when the server answers the next ``/join`` (``joined`` or an
        error about the line); call it before sending the line."""
        self._join_answered = threading.Event()
        return self._join_answered

    def _answered(self) -> None:
        if self._join_answered is not None:
            self._join_answered.set()

    def _prefix(self, event: dict) -> str:
        """``[#room] `` for a line from a room other than the current one."""
        room = event.get("room")
        if not isinstance(room, str):
            private = event.get("kind") == "private"
            room = LOBBY if event["type"] in ROOM_EVENTS and not private else None
        mine = event["type"] == "part" and event.get("name") == self.conn.name
        if room is None or mine or room.casefold() == self.room.casefold():
            return ""
        return f"[{room}] "

    def _joined(self, event: dict) -> None:
        """``* you joined #x ...``; ``#x`` becomes the room typed lines go to."""
        obj = event.get("room")
        if isinstance(obj, dict) and isinstance(obj.get("room"), str):
            self.room = obj["room"]
        if self.in_replay:
            self.say("--- now ---")
            self.in_replay = False
        self.say(eventtext.describe(event, self.conn.name))
        self._answered()

    def _left(self, event: dict) -> None:
        """Out of the current room (a part or kick of ours, live): back to #lobby."""
        room = event.get("room")
        if (event["type"] in ("part", "kick") and event.get("name") == self.conn.name
                and not event.get("replay") and isinstance(room, str)
                and room.casefold() == self.room.casefold()):
            self.room = LOBBY

    def _rooms_at_welcome(self, event: dict) -> None:
        """A line per room besides #lobby the welcome puts us in; if the current room
        is not among them (a server that ignores ``hello.rooms``), ``/join`` it."""
        rooms = event.get("rooms") if isinstance(event.get("rooms"), list) else []
        names = []
        for obj in rooms:
            if isinstance(obj, dict) and isinstance(obj.get("room"), str):
                names.append(obj["room"].casefold())
                if not is_lobby(obj["room"]):
                    self.say(eventtext.describe({"type": "joined", "room": obj}))
        if not is_lobby(self.room) and self.room.casefold() not in names:
            self.conn.join(self.room)


def run_cli(args: argparse.Namespace) -> int:
    """The terminal client: returns the process exit code."""
    if not args.host or not args.name:
        print("error: --cli needs --host and --name, e.g. python client.py --cli --host "
              "192.168.1.20 --name alice (python client.py --discover lists the chats on "
              "this network)", file=sys.stderr)
        return 2
    room = start_room(args)
    tap = WireTap(on_frame=print_frame) if getattr(args, "wire", False) else None
    try:
        conn = make_connection(args, args.host, args.port or protocol.DEFAULT_PORT, args.name,
                               rooms=[room], wiretap=tap)
    except ConnectError as exc:  # a CA file that cannot be used
        print(f"error: {exc}", file=sys.stderr)
        return 2
    printer = TerminalPrinter(conn, room=room)
    if hasattr(sys.stdin, "reconfigure"):
        sys.stdin.reconfigure(errors="replace")  # a stray byte is not worth a traceback
    connected = threading.Event()
    finished = threading.Event()

    def pump():
        while True:
            event = conn.events.get()
            printer.show(event)  # first: a --room the server ignored is joined before any line
            if event["type"] == "connected":
                connected.set()
            if event["type"] == "connect_failed" or event["type"] == "closed":
                finished.set()
                connected.set()
                if event["type"] == "closed":
                    return

    threading.Thread(target=pump, name="printer", daemon=True).start()
    conn.start()
    try:
        connected.wait()
    except KeyboardInterrupt:  # Ctrl-C while connecting: quietly, as a shell expects
        conn.close()
        return 130
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
    reason = "bye"
    try:
        while not finished.is_set():
            try:
                line = typed.get(timeout=0.1)
            except queue.Empty:
                continue
            if line is None:
                break
            line = line.rstrip("\r\n")
            quitting = quit_reason(line)
            if quitting is not None:  # as in the window: leave once the lines are in
                reason = quitting
                break
            if line.strip():
                send_line(conn, printer, line, finished)
    except KeyboardInterrupt:
        pass
    left, deadline = len(conn.pending()), time.monotonic() + EOF_ACK_WAIT
    while left and time.monotonic() < deadline and not finished.is_set():
        time.sleep(0.02)
        if len(conn.pending()) < left:  # progress: the server is still taking lines
            left, deadline = len(conn.pending()), time.monotonic() + EOF_ACK_WAIT
    conn.close(reason)
    finished.wait(3.0)
    return 1 if printer.failed or printer.undelivered else 0


def print_frame(frame: WireFrame) -> None:
    """``--wire``: one line on stderr per frame, in one write (the printer's complaints
    go there too, from another thread), so lines never mix."""
    sys.stderr.write(wire_line(frame) + "\n")
    sys.stderr.flush()


def send_line(conn: ChatConnection, printer: TerminalPrinter, line: str,
              finished: threading.Event, wait: float = JOIN_WAIT) -> None:
    """Send one typed line to the current room.

    ``/join`` holds the next lines back until the server answers it (at most ``wait``
    seconds), so that piped lines after it go to the new room (a room we are already
    in only becomes current); ``/part`` without a room
    name, or naming the current room, makes ``#lobby`` current at once.
    """
    word, _, rest = line.strip().partition(" ")
    word, target = word.lower(), (rest.split() or [""])[0]
    known = [r for r in getattr(conn, "rooms", []) if r.casefold() == target.casefold()]
    if word == "/join" and known:  # already in it: only the typed lines move there
        printer.room = known[0]
        printer.say(f"* now talking in {known[0]}")
        return
    answered = printer.expect_join() if word == "/join" else None
    conn.say(line, room=printer.room)
    if answered is not None:
        deadline = time.monotonic() + wait
        while not answered.wait(0.05) and not finished.is_set() and time.monotonic() < deadline:
            pass
    elif word == "/part" and (not target.startswith("#")
                              or target.casefold() == printer.room.casefold()):
        printer.room = LOBBY


def quit_reason(line: str) -> Optional[str]:
    """The reason of a ``/quit [reason]`` line (``quit`` if none), else None.

    The terminal, like the window, ends on /quit itself: sent to the server it would
    end the connection, and the connection would come back as after a drop.
    """
    word, _, rest = line.strip().partition(" ")
    if word.lower() in ("/quit", "/exit"):
        return rest.strip() or "quit"
    return None


def shown_line(text: str) -> str:
    """A line of ours as an error may show it: short, and never a password."""
    word = text.split(" ", 1)[0].lower()
    if word == "/admin":
        return "/admin ..."
    return text[:60]

