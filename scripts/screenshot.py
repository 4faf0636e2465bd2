"""Render a demo conversation headless to docs/screenshot.png (for the README).

No server and no window: the chat screen is built on a dummy video driver, fed the
same events a connection would deliver (a welcome with an op and an away member,
joins, chat, an action, a moderation notice, a private message, a refused line and
one still pending), drawn once, and saved.

    python scripts/screenshot.py [--out docs/screenshot.png] [--size 1000x660]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import pygame  # noqa: E402

from ui import windowtext  # noqa: E402
from ui.chatlog import ChatLog  # noqa: E402
from ui.chatscreen import ChatScreen  # noqa: E402
from ui.textfonts import Fonts  # noqa: E402


def demo_events(now: float):
    """The events of a short, lively conversation, as a connection would emit them."""
    t = now - 600
    users = ["alice", "bob", "carol", "dmitri", "mei"]
    yield {"type": "connecting", "host": "192.168.1.20", "port": 5050, "attempt": 1}
    yield {"type": "connected", "name": "alice", "users": users, "max_text": 4000, "seq": 40,
           "server": "chat-server/1", "host": "192.168.1.20", "port": 5050,
           "away": {"dmitri": "booking the table"}, "admin": False,
           "rooms": [{"room": "#lobby", "topic": "", "users": users, "ops": ["bob"],
                      "slow": 0, "muted": False}]}
    yield {"type": "pong", "id": 1, "rtt": 0.003}
    seq = iter(range(41, 200))
    yield {"type": "message", "seq": next(seq), "ts": t, "from": "bob", "kind": "chat",
           "text": "lunch at the noodle place, 12:30?", "replay": True}
    yield {"type": "join", "seq": next(seq), "ts": t + 200, "name": "dmitri"}
    yield {"type": "message", "seq": next(seq), "ts": t + 230, "from": "dmitri", "kind": "chat",
           "text": "Привет! Count me in too"}
    yield {"type": "message", "seq": next(seq), "ts": t + 240, "from": "dmitri", "kind": "chat",
           "text": "I'll book a table for five"}
    yield {"type": "message", "seq": next(seq), "ts": t + 300, "from": "mei", "kind": "chat",
           "text": "你好! I can only join at 12:45, the build review runs long. "
                   "Order the dumplings for me?"}
    yield {"type": "message", "seq": next(seq), "ts": t + 320, "from": "bob", "kind": "action",
           "text": "does a little happy dance"}
    yield {"type": "mode", "seq": next(seq), "ts": t + 380, "room": "#lobby", "by": "bob",
           "change": "+op", "target": "mei"}
    yield {"type": "message", "seq": next(seq), "ts": t + 420, "from": "carol", "kind": "private",
           "to": "alice", "text": "psst, it's bob's birthday. cake after lunch?"}


def build(size=(1000, 780)):
    """The demo chat screen drawn on a fresh display surface; returns (surface, screen)."""
    pygame.display.init()
    pygame.font.init()
    surface = pygame.display.set_mode(size)
    fonts = Fonts()
    log = ChatLog(me="alice")
    ids = iter(range(1, 100))
    screen = ChatScreen(size, fonts, log, send=lambda text: f"demo-{next(ids)}")
    for event in demo_events(time.time()):
        log.apply(event)
    screen.submit("/msg carol yes! I'll get candles")
    log.apply({"type": "ack", "id": "demo-1", "seq": 150, "text": None})
    screen.submit("sounds great, see you all at 12:30 héllo")
    log.apply({"type": "ack", "id": "demo-2", "seq": 151, "text": None})
    screen.submit("who's bringing the birthday card?")
    refusal = {"type": "error", "id": "demo-3", "code": "rate_limited", "text": None}
    log.apply({**refusal, "message": windowtext.chat_error(refusal)})  # as the app does
    screen.submit("on my way \u2014 saving seats by the window")
    screen.input.insert("lunch is the best meeting of the day")
    screen.update(0.0)
    screen.draw(surface)
    return surface, screen


def main() -> int:
    """Render and save the demo; prints where."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(ROOT, "docs", "screenshot.png"))
    parser.add_argument("--size", default="1000x780")
    args = parser.parse_args()
    w, h = (int(v) for v in args.size.lower().split("x"))
    surface, _ = build((w, h))
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    pygame.image.save(surface, args.out)
    print(f"wrote {args.out}")
    pygame.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
