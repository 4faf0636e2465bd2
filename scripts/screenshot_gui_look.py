"""Draw the TLS connect screen or a chat in many scripts, for docs/ screenshots.

Opens a real window (run it under Xvfb and capture with ``import -window root``), or
with ``--out`` saves the drawn surface directly (any video driver, dummy included):

    Xvfb :57 -screen 0 1000x660x24 &
    DISPLAY=:57 python scripts/screenshot_gui_look.py tls --hold 4 &
    sleep 2; DISPLAY=:57 import -window root docs/screenshot-tls-connect.png

Scenes: ``tls`` (connect screen, "Use TLS" ticked, a changed-certificate refusal) and
``scripts`` (Arabic, Hebrew, Korean, Thai, Devanagari and emoji lines, connected
over TLS with the fingerprint in the status bar), ``presence`` (two members away,
dimmed with their messages, and "bob and mei are typing…" under the log), and ``rooms``
(three rooms and a private conversation, a topic, an op, an away member, a typing
line, unread counts and a mention).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import pygame  # noqa: E402

from lanchat import tls  # noqa: E402
from ui.chatlog import ChatLog  # noqa: E402
from ui.chatscreen import ChatScreen  # noqa: E402
from ui.connectscreen import ConnectScreen  # noqa: E402
from ui.textfonts import Fonts  # noqa: E402

PINNED = "SHA256:" + ":".join(f"{b:02X}" for b in range(0x10, 0x30))
NOW = "SHA256:" + ":".join(f"{b:02X}" for b in range(0xC0, 0xE0))


def tls_scene(size, fonts):
    """The connect screen after a refused TLS connection to a server whose cert changed."""
    screen = ConnectScreen(size, fonts, "192.168.1.20", 5050, "alice", tls=True)
    screen.failed(tls.mismatch_message("192.168.1.20:5050", PINNED, NOW,
                                       "/home/alice/.config/lanchat/known_servers.json"))
    return screen


def scripts_events(now):
    """A conversation in several scripts, as a connection would deliver it."""
    users = ["alice", "yael", "omar", "jiwoo", "somchai", "priya"]
    yield {"type": "connecting", "host": "192.168.1.20", "port": 5050, "attempt": 1}
    yield {"type": "connected", "name": "alice", "users": users, "max_text": 4000, "seq": 10,
           "server": "chat-server/1", "host": "192.168.1.20", "port": 5050}
    yield {"type": "pong", "id": 1, "rtt": 0.002}
    lines = [
        ("yael", "\u05e9\u05dc\u05d5\u05dd \u05dc\u05db\u05d5\u05dc\u05dd! "
                 "\u05d4\u05e4\u05d2\u05d9\u05e9\u05d4 \u05d1\u05e9\u05e2\u05d4 10:30"),
        ("omar", "\u0645\u0631\u062d\u0628\u0627 \u0628\u0627\u0644\u062c\u0645\u064a\u0639\u060c "
                 "\u0627\u0644\u063a\u062f\u0627\u0621 \u0641\u064a \u0627\u0644\u0633\u0627\u0639\u0629 12"),
        ("jiwoo", "\uc548\ub155\ud558\uc138\uc694! \uc810\uc2ec \uac19\uc774 \uba39\uc5b4\uc694 \U0001f35c"),
        ("somchai", "\u0e2a\u0e27\u0e31\u0e2a\u0e14\u0e35\u0e04\u0e23\u0e31\u0e1a "
                    "\u0e44\u0e1b\u0e01\u0e34\u0e19\u0e02\u0e49\u0e32\u0e27\u0e01\u0e31\u0e19"),
        ("priya", "\u0928\u092e\u0938\u094d\u0924\u0947! \u092e\u0948\u0902 \u0906 "
                  "\u0930\u0939\u0940 \u0939\u0942\u0901 \U0001f44b"),
        ("yael", "mixed: the file \u05e7\u05d5\u05d1\u05e5.txt is ready \u2705"),
        ("omar", "\U0001f389\U0001f382\U0001f973 \u0639\u064a\u062f \u0645\u064a\u0644\u0627\u062f "
                 "\u0633\u0639\u064a\u062f!"),
    ]
    for i, (sender, text) in enumerate(lines):
        yield {"type": "message", "seq": 11 + i, "ts": now - 300 + 40 * i, "from": sender,
               "kind": "chat", "text": text}


def scripts_scene(size, fonts):
    """The chat screen with the lines above, over TLS (lock and fingerprint)."""
    log = ChatLog(me="alice")
    screen = ChatScreen(size, fonts, log, send=lambda text: "demo-1")
    for event in scripts_events(time.time()):
        log.apply(event)
    screen.submit("\U0001f44d see you all there")
    log.apply({"type": "ack", "id": "demo-1", "seq": 40, "text": None})
    screen.status.fingerprint = NOW
    return screen


def presence_events(now):
    """A lobby where two members are away and two are typing (PROTOCOL.md section 9)."""
    users = ["alice", "bob", "carol", "dmitri", "mei", "priya"]
    yield {"type": "connecting", "host": "192.168.1.20", "port": 5050, "attempt": 1}
    yield {"type": "connected", "name": "alice", "users": users, "max_text": 4000, "seq": 10,
           "server": "chat-server/2", "host": "192.168.1.20", "port": 5050,
           "away": {"dmitri": "lunch, back at 1"}}
    yield {"type": "pong", "id": 1, "rtt": 0.002}
    lines = [("bob", "has anyone seen the projector remote?"),
             ("carol", "it was in room 2 this morning"),
             ("priya", "I'll check after the stand-up"),
             ("bob", "thanks! the demo starts at 2")]
    for i, (sender, text) in enumerate(lines):
        yield {"type": "message", "seq": 11 + i, "ts": now - 240 + 50 * i, "from": sender,
               "kind": "chat", "text": text}
    yield {"type": "presence", "name": "carol", "away": "in a meeting until 3"}
    yield {"type": "typing", "name": "bob", "state": "active", "room": "#lobby"}
    yield {"type": "typing", "name": "mei", "state": "active", "room": "#lobby"}


def presence_scene(size, fonts):
    """The chat screen with the presence events above and a draft in the input."""
    log = ChatLog(me="alice")
    screen = ChatScreen(size, fonts, log, send=lambda text: "demo-1")
    for event in presence_events(time.time()):
        log.apply(event)
    screen.input.insert("it's in the drawer under")
    return screen


def rooms_events(now):
    """A class in three rooms: #lobby, #games, #study (PROTOCOL.md sections 4 and 8)."""
    everyone = ["alice", "bob", "carol", "dmitri", "mei", "ms-khan", "priya"]

    def room(name, users, ops=(), topic=""):
        return {"room": name, "topic": topic, "users": users, "ops": list(ops), "slow": 0,
                "muted": False}
    yield {"type": "connecting", "host": "192.168.1.20", "port": 5050, "attempt": 1}
    yield {"type": "connected", "name": "alice", "users": everyone, "max_text": 4000, "seq": 10,
           "server": "chat-server/2", "host": "192.168.1.20", "port": 5050,
           "away": {"dmitri": "lunch, back at 1"},
           "rooms": [room("#lobby", everyone, ops=["ms-khan"]),
                     room("#games", ["alice", "bob", "mei"], ops=["bob"], topic="Friday LAN party")]}
    yield {"type": "pong", "id": 1, "rtt": 0.002}
    yield {"type": "joined", "seq": 11, "room": room(
        "#study", ["alice", "carol", "dmitri", "ms-khan", "priya"], ops=["ms-khan"],
        topic="Chapter 4 quiz at 10:00 \u2014 questions here, answers by Friday")}
    lines = [("ms-khan", "Morning! The quiz covers sections 4.1 to 4.3 only."),
             ("carol", "is the formula sheet allowed?"),
             ("ms-khan", "Yes, one page, handwritten."),
             ("priya", "could we go over question 7 from the practice set?"),
             ("ms-khan", "Good idea: let's start with that at 9:50")]
    for i, (sender, text) in enumerate(lines):
        yield {"type": "message", "seq": 20 + i, "ts": now - 300 + 45 * i, "from": sender,
               "kind": "chat", "text": text, "room": "#study"}
    for i, (sender, text) in enumerate([("mei", "who's bringing the extra switch?"),
                                        ("bob", "alice said she has one"),
                                        ("mei", "nice, 8 ports is plenty")]):
        yield {"type": "message", "seq": 30 + i, "ts": now - 60, "from": sender,
               "kind": "chat", "text": text, "room": "#games"}
    yield {"type": "message", "seq": 33, "ts": now - 30, "from": "bob", "kind": "private",
           "to": "alice", "text": "got a minute after class?"}
    yield {"type": "message", "seq": 34, "ts": now - 20, "from": "mei", "kind": "chat",
           "text": "lunch menu is up", "room": "#lobby"}
    yield {"type": "typing", "name": "priya", "state": "active", "room": "#study"}


def rooms_scene(size, fonts):
    """The chat screen in #study, with the room events above and a draft in the input."""
    log = ChatLog(me="alice")
    screen = ChatScreen(size, fonts, log, send=lambda text, room="#lobby": "demo-1")
    for event in rooms_events(time.time()):
        log.apply(event)
    screen.input.insert("I can explain 7b")
    return screen


SCENES = {"tls": tls_scene, "scripts": scripts_scene, "presence": presence_scene,
          "rooms": rooms_scene}


def main() -> int:
    """Draw the scene, then hold the window open (or save it with --out)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scene", choices=sorted(SCENES))
    parser.add_argument("--size", default="1000x660")
    parser.add_argument("--hold", type=float, default=3.0, help="seconds to keep the window")
    parser.add_argument("--out", help="save the surface here instead of holding the window")
    args = parser.parse_args()
    size = tuple(int(v) for v in args.size.lower().split("x"))
    pygame.display.init()
    pygame.font.init()
    surface = pygame.display.set_mode(size)
    pygame.display.set_caption("LAN Chat")
    fonts = Fonts()
    screen = SCENES[args.scene](size, fonts)
    screen.update(0.0)
    screen.draw(surface)
    pygame.display.flip()
    if args.out:
        pygame.image.save(surface, args.out)
        print(f"wrote {args.out}")
    else:
        deadline = time.monotonic() + args.hold
        while time.monotonic() < deadline:
            pygame.event.pump()
            pygame.display.flip()
            time.sleep(0.05)
    pygame.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
