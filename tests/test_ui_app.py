"""The real app loop, headless, against a real loopback server.

Each test drives ``App.step()`` frame by frame and posts real pygame events
(TEXTINPUT, KEYDOWN Return), while a ``RawClient`` in the same room checks what
really went over the wire. Every wait is bounded.
"""

from __future__ import annotations

import os
import socket
import time

os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

import pygame  # noqa: E402
import pytest  # noqa: E402

from lanchat.client import options  # noqa: E402
from ui import app as ui_app, launch, windowtitle  # noqa: E402
from ui.displaycheck import NoWindow  # noqa: E402
from ui import settings  # noqa: E402
from ui.chatlog import SENT  # noqa: E402

WAIT = 5.0


@pytest.fixture(autouse=True)
def config_home(tmp_path, monkeypatch):
    """Keep the remembered connect values out of the real config directory."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return tmp_path / "config"


@pytest.fixture
def make_app():
    apps = []

    def factory(*argv, size=(900, 600), clipboard=lambda: "", browser_factory=None):
        args = options.build_parser().parse_args(list(argv))
        app = ui_app.App(args, size=size, clipboard=clipboard, browser_factory=browser_factory)
        apps.append(app)
        return app

    yield factory
    for app in apps:
        app.quit()
    pygame.display.quit()


def run_until(app, condition, what, timeout=WAIT):
    """Step the loop until ``condition()``; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        app.step(max_wait=0.01)


def post_text(text):
    pygame.event.post(pygame.event.Event(pygame.TEXTINPUT, {"text": text}))


def post_key(key, mod=0, up=False):
    kind = pygame.KEYUP if up else pygame.KEYDOWN
    pygame.event.post(pygame.event.Event(kind, {"key": key, "mod": mod, "unicode": "",
                                                "scancode": 0}))


def press_enter():
    post_key(pygame.K_RETURN)
    post_key(pygame.K_RETURN, up=True)


def view_pixels(app):
    rect = app.chat.view.rect
    return pygame.image.tobytes(app.surface.subsurface(rect), "RGB")


def connected_app(make_app, server, name="gui"):
    app = make_app("--host", server.host, "--port", str(server.port), "--name", name)
    run_until(app, lambda: app.log.status.state == "connected", "the app to connect")
    return app


def test_typed_line_reaches_server_and_inbound_line_is_drawn(chat_server, make_client, make_app):
    app = connected_app(make_app, chat_server)
    raw = make_client(chat_server.address)
    raw.hello("raw")
    run_until(app, lambda: "raw" in app.log.users, "raw to appear in the user list")

    for chunk in ("hello ", "from ", "the GUI ✓"):
        post_text(chunk)
    press_enter()
    run_until(app, lambda: app.log.entries and app.log.entries[-1].mine, "the pending line")
    message = raw.expect("message", **{"from": "gui"})
    assert message["text"] == "hello from the GUI ✓"
    run_until(app, lambda: app.log.entries[-1].state == SENT, "the ack")

    before = view_pixels(app)
    raw.send(type="say", text="Привет, 你好 from raw", id="r1")
    run_until(app, lambda: app.log.entries[-1].text == "Привет, 你好 from raw",
              "the inbound message in the view model")
    entry = app.log.entries[-1]
    assert entry.sender == "raw" and not entry.mine
    run_until(app, lambda: not app.chat.needs_draw, "the frame to be drawn")
    assert view_pixels(app) != before
    assert any(i == len(app.log.entries) - 1 for i, _ in app.chat.view.visible_indices())


def test_refused_line_is_marked_failed_with_reason(make_server, make_client, make_app):
    server = make_server(rate=0, max_text=10)
    app = connected_app(make_app, server)
    app.chat.input.max_text = None  # bypass the local check to see the server's refusal
    app.chat.submit("this line is far too long")
    run_until(app, lambda: app.log.entries[-1].state == "failed", "the refusal")
    assert app.log.entries[-1].reason
    # and with the local check the line never leaves
    post_text("also too long!")
    press_enter()
    app.step(max_wait=0)
    assert "too long" in app.chat.input.notice and app.chat.input.text == "also too long!"


def test_slash_help_shows_server_help_and_quit_sends_bye(chat_server, make_client, make_app):
    app = connected_app(make_app, chat_server)
    raw = make_client(chat_server.address)
    raw.hello("raw")
    post_text("/help")
    press_enter()
    run_until(app, lambda: any(e.kind == "system" and "/nick" in e.text for e in app.log.entries),
              "the server's help text")
    thread = app.conn._thread
    pygame.event.post(pygame.event.Event(pygame.QUIT))
    run_until(app, lambda: not app.running, "the app to stop")
    assert app.conn is None and not thread.is_alive()
    leave = raw.expect("leave", name="gui")
    assert leave["reason"] == "bye"


def test_click_on_user_fills_msg_command(chat_server, make_client, make_app):
    app = connected_app(make_app, chat_server)
    raw = make_client(chat_server.address)
    raw.hello("zed")
    run_until(app, lambda: "zed" in app.log.users, "zed in the sidebar")
    app.step(max_wait=0)
    row = app.chat.users.row_rects()[app.log.users.index("zed")]
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, {"button": 1, "pos": row.center}))
    run_until(app, lambda: app.chat.input.text == "/msg zed ", "the /msg prefill")
    post_text("psst")
    press_enter()
    run_until(app, lambda: app.log.entries[-1].mine and app.log.entries[-1].state == SENT,
              "the private line to be acked")
    message = raw.expect("message", to="zed")
    assert message["text"] == "psst" and message["kind"] == "private"


def test_unread_count_in_title_while_unfocused(chat_server, make_client, make_app):
    app = connected_app(make_app, chat_server)
    raw = make_client(chat_server.address)
    raw.hello("raw")
    pygame.event.post(pygame.event.Event(pygame.WINDOWFOCUSLOST, {}))
    app.step(max_wait=0)
    raw.send(type="say", text="one")
    raw.send(type="say", text="two")
    run_until(app, lambda: pygame.display.get_caption()[0].startswith("(2)"), "the unread title")
    pygame.event.post(pygame.event.Event(pygame.WINDOWFOCUSGAINED, {}))
    run_until(app, lambda: not pygame.display.get_caption()[0].startswith("("), "the plain title")


def test_the_title_hook_lists_rooms_and_unread(chat_server, make_client, make_app,
                                              monkeypatch):
    """LANCHAT_TITLE_ROOMS=1 (ui_app.TITLE_ROOMS): the room list in the title, for the
    end-to-end tests; off, the title is as before."""
    app = connected_app(make_app, chat_server)
    app._update_title()
    assert "[" not in pygame.display.get_caption()[0]
    monkeypatch.setattr(windowtitle, "TITLE_ROOMS", True)
    raw = make_client(chat_server.address)
    raw.hello("raw", rooms=["#games"])
    app.chat.submit("/join #games")
    run_until(app, lambda: pygame.display.get_caption()[0].endswith(" [#lobby *#games]"),
              "#games current in the title")
    app.log.rooms.switch("#lobby")
    for n in range(2):
        raw.send(type="say", text=f"line {n}", room="#games")
    run_until(app, lambda: pygame.display.get_caption()[0].endswith(" [*#lobby #games:2]"),
              "the unread count in the title")


def test_no_window_if_sdl_falls_back_to_offscreen(monkeypatch, capsys):
    """client.py's check passed, but the App's own init got SDL's offscreen driver (an
    Xvfb resetting in between did that): no invisible window joins, the sentence shows."""
    connections = []
    monkeypatch.setattr(pygame.display, "get_driver", lambda: "offscreen")
    monkeypatch.delenv("SDL_VIDEODRIVER")  # as a user's: no driver asked for
    args = options.build_parser().parse_args(["--host", "127.0.0.1", "--name", "ghost"])
    with pytest.raises(NoWindow, match="no display"):
        ui_app.App(args, connection_factory=lambda *a: connections.append(a))
    monkeypatch.setattr(launch, "App", lambda args: (_ for _ in ()).throw(
        NoWindow("There is no display to open the chat window on.")))
    assert launch.run_gui(args) == 1
    assert "no display" in capsys.readouterr().err
    assert connections == []


def test_burst_is_drained_in_bounded_steps(chat_server, make_client, make_app):
    app = connected_app(make_app, chat_server)
    raw = make_client(chat_server.address)
    raw.hello("raw")
    run_until(app, lambda: "raw" in app.log.users, "raw in the sidebar")
    for i in range(600):
        raw.send(type="say", text=f"burst {i}")
    deadline = time.monotonic() + WAIT
    while not (app.log.entries and app.log.entries[-1].text == "burst 599"):
        assert time.monotonic() < deadline, "burst not shown in time"
        before = len(app.log.entries)
        app.step(max_wait=0.01)
        # a frame applies a bounded number of events, so the window keeps responding
        assert len(app.log.entries) - before <= ui_app.EVENTS_PER_FRAME + 2
    texts = [e.text for e in app.log.entries if e.text.startswith("burst")]
    assert texts == [f"burst {i}" for i in range(600)]


def test_connect_screen_flow_and_remembered_values(chat_server, make_app, config_home):
    app = make_app()
    assert app.connect_screen is not None and app.chat is None
    post_text(chat_server.host)
    post_key(pygame.K_TAB)
    post_key(pygame.K_u, pygame.KMOD_CTRL)
    post_text(str(chat_server.port))
    post_key(pygame.K_TAB)
    post_text("newbie")
    post_key(pygame.K_RETURN)
    run_until(app, lambda: app.chat is not None and app.log.status.state == "connected",
              "the connect screen to connect")
    assert settings.load() == {"host": chat_server.host, "port": chat_server.port,
                               "name": "newbie"}
    app.quit()
    again = make_app()
    assert again.connect_screen.values() == (chat_server.host, str(chat_server.port), "newbie")


@pytest.mark.live
def test_refused_connection_is_explained_on_connect_screen(make_app):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = make_app("--host", "127.0.0.1", "--port", str(port), "--name", "gui")
    run_until(app, lambda: app.connect_screen is not None and app.connect_screen.error,
              "the connect screen with the error")
    assert "refused" in app.connect_screen.error.lower()
    assert "port" in app.connect_screen.error.lower()
    assert app.conn is None
    app.step(max_wait=0)


def test_resize_reflows(chat_server, make_app):
    app = connected_app(make_app, chat_server)
    pygame.event.post(pygame.event.Event(pygame.VIDEORESIZE, {"w": 500, "h": 400,
                                                             "size": (500, 400)}))
    run_until(app, lambda: app.chat.size == app.surface.get_size() and app.chat.size[0] <= 500,
              "the layout to follow the window")
    assert app.chat.users.rect.width == 0  # the sidebar folds away when narrow
    assert app.chat.input.rect.right <= app.chat.size[0]


def test_password_refusal_is_explained_and_password_field_fixes_it(make_server, make_app,
                                                                   monkeypatch):
    monkeypatch.delenv("CHAT_PASSWORD", raising=False)
    server = make_server(rate=0, password="s3cret")
    app = make_app("--host", server.host, "--port", str(server.port), "--name", "gui")
    run_until(app, lambda: app.connect_screen is not None and app.connect_screen.error,
              "the refusal on the connect screen")
    assert "password" in app.connect_screen.error.lower()
    assert "Traceback" not in app.connect_screen.error
    app.connect_screen.set_focus(3)
    post_text("s3cret")
    post_key(pygame.K_RETURN)
    run_until(app, lambda: app.chat is not None and app.log.status.state == "connected",
              "the connection with the password")


def test_drop_is_shown_and_pending_line_survives_reconnect(make_server, make_client, make_app):
    first = make_server(rate=0)
    port = first.port
    app = connected_app(make_app, first)
    first.stop()
    run_until(app, lambda: app.log.status.state in ("disconnected", "reconnecting"),
              "the status bar to show the drop")
    assert app.chat is not None  # a drop after connecting stays on the chat screen
    assert app.log.status.reason
    post_text("typed while offline")
    press_enter()
    run_until(app, lambda: app.log.entries and app.log.entries[-1].state == "pending",
              "the pending line")
    second = make_server(rate=0, port=port)
    raw = make_client(second.address)
    raw.hello("raw")
    run_until(app, lambda: app.log.status.state == "connected", "the reconnect", timeout=10)
    run_until(app, lambda: app.log.entries[-1].state == SENT, "the resent line's ack")
    message = raw.expect("message", **{"from": "gui"})
    assert message["text"] == "typed while offline"
    run_until(app, lambda: "raw" in app.log.users, "raw in the list")
    assert app.log.users == ["gui", "raw"]  # your own name stays in the list
    texts = [e.text for e in app.log.entries]
    assert texts[0].startswith("Disconnected") and \
        texts[1:] == ["Reconnected as gui", "typed while offline"]


def test_home_end_route_between_input_and_scrollback(chat_server, make_client, make_app):
    app = connected_app(make_app, chat_server)
    raw = make_client(chat_server.address)
    raw.hello("raw")
    for i in range(60):
        raw.send(type="say", text=f"line {i}")
    run_until(app, lambda: app.log.entries and app.log.entries[-1].text == "line 59",
              "the lines")
    post_key(pygame.K_HOME)  # empty input: Home scrolls to the oldest line
    run_until(app, lambda: not app.chat.view.following, "the view to scroll up")
    post_text("abc")
    post_key(pygame.K_HOME)  # with text, Home moves the cursor
    run_until(app, lambda: app.chat.input.cursor == 0, "the cursor to move")
    post_key(pygame.K_END, pygame.KMOD_CTRL)  # Ctrl+End always jumps to the newest
    run_until(app, lambda: app.chat.view.following, "the view to follow again")
    assert app.chat.input.cursor == 0


def test_invisible_events_draw_nothing_and_a_pong_redraws_only_the_status_bar(
        chat_server, make_app, monkeypatch):
    app = connected_app(make_app, chat_server)
    # Unfocused, the cursor does not blink: a step that crosses a blink (a slow,
    # loaded machine) would draw the input box and hide what this test looks at.
    app.set_focused(False)
    # The app pings as it connects: that pong is awaited first, or it would land among
    # the steps below (a draw) or stand in for the test's own pong (no draw awaited).
    run_until(app, lambda: app.log.status.rtt is not None, "the pong of the ping at connect")
    run_until(app, lambda: not app.chat.needs_draw, "the first frames")
    first_rtt = app.log.status.rtt
    flips, updates = [], []
    monkeypatch.setattr(pygame.display, "flip", lambda: flips.append(1))
    monkeypatch.setattr(pygame.display, "update", lambda rects=None: updates.append(rects))
    drawn = app.frames_drawn
    app.conn.events.put({"type": "pong", "id": 999})                 # not ours: no rtt
    app.conn.events.put({"type": "ack", "id": "someone-else", "seq": None})
    app.conn.events.put({"type": "typing", "name": "x", "state": "on"})  # unknown here
    for _ in range(5):
        app.step(max_wait=0)
    assert app.frames_drawn == drawn and not flips and not updates
    app.conn.ping()
    run_until(app, lambda: app.log.status.rtt is not first_rtt, "the pong")
    run_until(app, lambda: not app.chat.needs_draw, "its frame")
    assert not flips
    assert updates and all(rects == [app.chat.status.rect] for rects in updates)


def test_typing_against_a_server_without_typing_shows_no_error(chat_server, make_client, make_app):
    # Section 9 typing frames go out as the user types; a server that does not know
    # them (today's, answering unknown_type) must not put an error in the window.
    app = connected_app(make_app, chat_server)
    raw = make_client(chat_server.address)
    raw.hello("raw")
    for chunk in ("typing ", "away"):
        post_text(chunk)
        app.step(max_wait=0)
    press_enter()
    run_until(app, lambda: [e.state for e in app.log.entries if e.mine] == [SENT],
              "the ack (after any answer to typing)")
    assert raw.expect("message", **{"from": "gui"})["text"] == "typing away"
    assert not [e for e in app.log.entries if e.kind == "error"]


def test_an_idle_turn_stops_after_looking_yet_misses_no_line_and_no_ping(
        chat_server, make_client, make_app, monkeypatch):
    from ui.looppace import IDLE_AFTER
    monkeypatch.setattr(ui_app, "PING_EVERY", 1.0)  # a clock that falls due during the test
    app = connected_app(make_app, chat_server)
    app.set_focused(False)  # no blinking cursor: nothing due but the next ping
    run_until(app, lambda: app.log.status.rtt is not None, "the pong of the ping at connect")
    run_until(app, lambda: not app.chat.needs_draw, "the first frames")
    updates = []
    real_update = app.chat.update
    monkeypatch.setattr(app.chat, "update", lambda dt: (updates.append(dt), real_update(dt)))
    app.pace.active(time.monotonic() - IDLE_AFTER - 1)  # as if idle for a while
    app.step(max_wait=0)  # a full turn plans the next ping, at most 1 s away
    assert app.pace.due <= app._last_ping + 1.0
    updates.clear()
    for _ in range(20):
        assert app.step(max_wait=0)
    assert updates == [] or time.monotonic() >= app.pace.due  # looked, nothing came or was due

    raw = make_client(chat_server.address)
    raw.hello("raw")
    raw.send(type="say", text="while you were idle", id="r1")
    run_until(app, lambda: app.log.entries and app.log.entries[-1].text == "while you were idle",
              "the line in the view model")
    run_until(app, lambda: not app.chat.needs_draw, "its frame")
    assert updates  # the turns that took it ran in full

    pinged = app.log.status.rtt
    app.pace.active(time.monotonic() - IDLE_AFTER - 1)
    run_until(app, lambda: app.log.status.rtt is not pinged, "the ping that fell due, idle")


def test_pace_sleeps_short_after_activity_long_when_idle_never_past_what_is_due():
    from ui.looppace import IDLE_AFTER, POLL_ACTIVE, POLL_IDLE, Pace
    pace = Pace(100.0)
    pace.plan(100.0, 60.0)
    assert pace.poll(100.5) == POLL_ACTIVE and not pace.idle(100.5)
    assert pace.poll(100.0 + IDLE_AFTER) == POLL_IDLE and pace.idle(100.0 + IDLE_AFTER)
    pace.plan(110.0, 0.01)  # a blink 10 ms away
    assert pace.poll(110.0) == pytest.approx(0.01) and pace.idle(110.0)
    assert not pace.idle(110.02) and pace.poll(110.02) < 0  # due: a full turn, no sleep
    pace.plan(111.0, -5.0)  # something overdue counts as due now
    assert pace.due == 111.0
    pace.active(111.0)
    assert not pace.idle(111.5) and pace.poll(111.5) <= POLL_ACTIVE
