"""While the link is down: the window says so, keeps the list marked stale, offers a retry.

Headless (SDL_VIDEODRIVER=dummy); the App runs with a small fake connection whose
events the test feeds, so the states are exact and nothing waits on a network.
"""

from __future__ import annotations

import os

os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

import pygame  # noqa: E402
import pytest  # noqa: E402

from fakeconn import FakeConnection  # noqa: E402
from lanchat.client import options  # noqa: E402
from ui import app as ui_app  # noqa: E402
from ui import theme  # noqa: E402

REFUSED = ("Connection refused by 192.168.100.200:5050: nothing is listening there. "
           "Is the server running, and is the port right?")


@pytest.fixture(autouse=True)
def config_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))


@pytest.fixture
def make_app():
    apps = []

    def factory(size=ui_app.WINDOW_SIZE, **fake):
        args = options.build_parser().parse_args(
            ["--host", "192.168.100.200", "--port", "5050", "--name", "alice"])
        conns = []

        def connect(host, port, name):
            conns.append(FakeConnection(host, port, name, **fake))
            return conns[-1]
        app = ui_app.App(args, connection_factory=connect, size=size, clipboard=lambda: "",
                         browser_factory=None)
        apps.append(app)
        return app, conns[0]

    yield factory
    for app in apps:
        app.quit()
    pygame.display.quit()


def feed(app, conn, *events):
    for event in events:
        conn.events.put(event)
    for _ in range(3):
        app.step(max_wait=0)


def online(app, conn):
    conn.connected = True
    feed(app, conn, {"type": "connected", "name": "alice", "users": ["alice", "bob", "carol"],
                     "seq": 10, "host": conn.host, "port": conn.port})


def offline(app, conn):
    conn.connected = False
    feed(app, conn, {"type": "disconnected", "reason": "the server closed the connection",
                     "will_retry": True},
         {"type": "reconnecting", "attempt": 3, "delay": 3.7, "reason": REFUSED})


def test_header_and_user_list_say_offline_and_stale(make_app):
    app, conn = make_app()
    online(app, conn)
    assert "3 online" in app.chat.header_detail()
    assert not app.chat.users.stale
    offline(app, conn)
    detail = app.chat.header_detail()
    assert "online" not in detail and "offline" in detail.lower()
    assert app.chat.users.stale
    assert app.chat.users.title_lines() == ["OFFLINE", "list may be out of date"]
    online(app, conn)
    assert not app.chat.users.stale and "3 online" in app.chat.header_detail()


def test_status_line_fits_at_the_default_size_without_an_ellipsis(make_app):
    app, conn = make_app()
    online(app, conn)
    offline(app, conn)
    bar = app.chat.status
    text = bar.fitted_text()
    assert "\u2026" not in text
    assert "3 s" in text or "4 s" in text          # when the next try comes
    assert "refused" in text.lower()                # and why
    assert bar.fonts.small.width(text) <= bar.text_room()
    assert bar.button_rect is not None and bar.rect.contains(bar.button_rect)


def test_reconnect_now_by_click_and_by_ctrl_r(make_app):
    app, conn = make_app()
    online(app, conn)
    offline(app, conn)
    button = app.chat.status.button_rect
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, {"button": 1, "pos": button.center}))
    app.step(max_wait=0)
    assert conn.reconnects == 1
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, {"key": pygame.K_r,
                                                          "mod": pygame.KMOD_LCTRL,
                                                          "unicode": "", "scancode": 0}))
    app.step(max_wait=0)
    assert conn.reconnects == 2 and app.chat.input.text == ""
    online(app, conn)
    assert app.chat.status.button_rect is None   # nothing to offer while connected


def test_no_button_when_the_connection_cannot_reconnect_now(make_app):
    app, conn = make_app(with_reconnect_now=False)
    online(app, conn)
    offline(app, conn)
    assert app.chat.status.button_rect is None
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, {"key": pygame.K_r,
                                                          "mod": pygame.KMOD_LCTRL,
                                                          "unicode": "", "scancode": 0}))
    app.step(max_wait=0)  # harmless


def test_offline_user_list_is_drawn_grey(make_app):
    app, conn = make_app()
    online(app, conn)
    offline(app, conn)
    app.step(max_wait=0)
    users = app.chat.users
    row = users.row_rects()[1]
    pixels = pygame.image.tobytes(app.surface.subsurface(row), "RGB")
    brightest = max(pixels[i:i + 3] for i in range(0, len(pixels), 3))
    assert max(brightest) <= max(theme.TEXT_MUTED) + 10


def test_the_wait_counts_down(make_app):
    import time
    app, conn = make_app()
    online(app, conn)
    offline(app, conn)
    bar = app.chat.status
    app.log.status.retry_at = time.monotonic() + 2.5
    assert "in 3 s" in bar.fitted_text()
    bar.update(0.0)
    assert bar.dirty and 0 < app.chat.next_wake_in() <= 0.6
    app.step(max_wait=0)
    assert not bar.dirty
    app.log.status.retry_at = time.monotonic() - 0.1
    assert "reconnecting now" in bar.fitted_text()
    bar.update(0.0)
    assert bar.dirty
