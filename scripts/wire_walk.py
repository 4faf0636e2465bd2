"""Capture a real session's bytes for docs/wire.md: a server, alice and bob.

A real ``ChatServer`` (in this process, port 0, no history file) and two real
``ChatConnection``s, each with a ``WireTap``: alice connects, bob connects, alice says
"hi bob", bob reads it, both leave. The frames the taps recorded are printed as the
markdown of docs/wire.md's walk (``--markdown``, the default) or one ``--wire`` line
each (``--lines``). tests/test_wire_doc.py runs the same capture and checks the doc
against it, so the doc stays true.

    python scripts/wire_walk.py > /tmp/walk.md
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from lanchat.client.connection import ChatConnection  # noqa: E402
from lanchat.client.wiretap import ARROWS, SENT, WireTap, wire_line  # noqa: E402
from lanchat.server.config import ServerConfig  # noqa: E402
from lanchat.server.listener import ChatServer  # noqa: E402

WAIT = 5.0


def _wait(condition, what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.01)


def _received(tap: WireTap, kind: bytes) -> bool:
    return any(f.body.startswith(b'{"type":"%s"' % kind) for f in tap.since(0))


def capture():
    """Run the session; returns ``[(who, WireFrame)]`` in time order: alice's frames
    (hello, welcome, bob's join, her say, its ack, her bye) and the message bob got."""
    server = ChatServer(ServerConfig(host="127.0.0.1", port=0, db=":memory:"))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    alice_tap, bob_tap = WireTap(), WireTap()
    alice = ChatConnection(host, port, "alice", wiretap=alice_tap, reconnect=False).start()
    bob = None
    try:
        _wait(lambda: alice.connected, "alice to connect")
        bob = ChatConnection(host, port, "bob", wiretap=bob_tap, reconnect=False).start()
        _wait(lambda: bob.connected and _received(alice_tap, b"join"), "bob to join")
        alice.say("hi bob")
        _wait(lambda: _received(alice_tap, b"ack") and _received(bob_tap, b"message"),
              "the line and its ack")
    finally:
        alice.close()
        if bob is not None:
            bob.close()
        server.shutdown()
        server.server_close()
        thread.join(WAIT)
    walk = [("alice", f) for f in alice_tap.since(0)]
    walk += [("bob", f) for f in bob_tap.since(0) if f.body.startswith(b'{"type":"message"')]
    return sorted(walk, key=lambda pair: pair[1].time)  # stable: alice first on a tie


def hexdump(header: bytes) -> str:
    """The 64 header bytes as 4 rows of 16: offset, hex, then the characters (a space
    shown as ``·``)."""
    rows = []
    for at in range(0, len(header), 16):
        chunk = header[at:at + 16]
        text = "".join("\u00b7" if b == 32 else chr(b) for b in chunk)
        rows.append(f"{at:02d}  {' '.join(f'{b:02x}' for b in chunk)}  {text}")
    return "\n".join(rows)


def header_words(header: bytes) -> str:
    digits = header.strip(b" ").decode("ascii")
    return f'`b"{digits}"` + {len(header) - len(digits)} spaces'


def markdown(walk) -> str:
    """The walk as docs/wire.md shows it: per frame who, which way, the header (whole
    for the first frame, then as digits + spaces) and the body as sent."""
    out = []
    for n, (who, frame) in enumerate(walk):
        message = frame.message() or {}
        way = "sends" if frame.direction == SENT else "receives"
        out.append(f"**{n + 1}. {who} {way} `{message.get('type')}`** "
                   f"({ARROWS[frame.direction]}, header {header_words(frame.header)}, "
                   f"body {frame.size} bytes)\n")
        if n == 0:
            out.append("```\n" + hexdump(frame.header) + "\n```\n")
        out.append("```json\n" + frame.text() + "\n```\n")
    return "\n".join(out)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lines", action="store_true", help="one --wire line a frame")
    args = parser.parse_args(argv)
    walk = capture()
    if args.lines:
        for who, frame in walk:
            print(f"{who:5} {wire_line(frame)}")
    else:
        print(markdown(walk))
    return 0


if __name__ == "__main__":
    sys.exit(main())

