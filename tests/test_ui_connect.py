"""The connect screen's TLS choice, long errors inside the card, window sentences.

Widget tests build events directly; the app tests run the real loop headless
(SDL_VIDEODRIVER=dummy) against real loopback servers, with TLS where it matters.
"""

from __future__ import annotations

import json
import os

os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

import pygame  # noqa: E402
import pytest  # noqa: E402

from lanchat import tls  # noqa: E402
from ui import settings, windowtext  # noqa: E402
from ui.app import WINDOW_SIZE  # noqa: E402
from ui.connectscreen import ConnectScreen  # noqa: E402

from test_ui_app import config_home, make_app, post_key, post_text, run_until  # noqa: E402,F401
from headless import fonts  # noqa: E402,F401 (a fixture)

CHANGED = tls.mismatch_message("192.168.1.20:5050", "SHA256:" + ":".join(["AB"] * 32),
                               "SHA256:" + ":".join(["CD"] * 32),
                               "/home/someone/.config/lanchat/known_servers.json")


def key(k, mod=0):
    return pygame.event.Event(pygame.KEYDOWN, {"key": k, "mod": mod, "unicode": "", "scancode": 0})


def click(pos):
    return pygame.event.Event(pygame.MOUSEBUTTONDOWN, {"button": 1, "pos": pos})


# ---------------------------------------------------------------- the TLS choice

def test_tls_checkbox_is_reached_with_tab_and_ticked_with_space(fonts):
    screen = ConnectScreen(WINDOW_SIZE, fonts, "10.0.0.5", 5050, "zoe")
    assert not screen.tls.checked
    for _ in range(4 - screen.focus):
        screen.handle_event(key(pygame.K_TAB))
    assert screen.tls.focused
    screen.handle_event(key(pygame.K_SPACE))
    screen.handle_event(pygame.event.Event(pygame.TEXTINPUT, {"text": " "}))
    assert screen.tls.checked
    assert [f.text for f in screen.fields] == ["10.0.0.5", "5050", "zoe", "", ""]
    screen.handle_event(key(pygame.K_RETURN))
    request = screen.take_request()
    assert request.tls is True and request.cafile == ""
    assert request[:4] == ("10.0.0.5", 5050, "zoe", "")


def test_tls_checkbox_toggles_with_a_click(fonts):
    screen = ConnectScreen(WINDOW_SIZE, fonts, "h", 1, "n", tls=True)
    assert screen.tls.checked
    screen.handle_event(click(screen.tls.rect.center))
    assert not screen.tls.checked


def test_ca_file_field_is_prefilled_and_means_tls(fonts):
    screen = ConnectScreen(WINDOW_SIZE, fonts, "h", 1, "n", cafile="/tmp/ca.pem")
    assert screen.tls.checked and screen.fields[4].text == "/tmp/ca.pem"
    screen.tls.toggle()
    screen.handle_event(key(pygame.K_RETURN))
    request = screen.take_request()
    assert request.tls is True and request.cafile == "/tmp/ca.pem"


def test_settings_remember_tls_and_ca_file(config_home):  # noqa: F811
    assert settings.save("h", 5050, "n", tls=True, cafile="/etc/ca.pem")
    assert settings.load() == {"host": "h", "port": 5050, "name": "n", "tls": True,
                               "cafile": "/etc/ca.pem"}
    assert settings.save("h", 5050, "n")
    assert settings.load() == {"host": "h", "port": 5050, "name": "n"}


# ---------------------------------------------------------------- long errors

def test_certificate_changed_error_is_all_visible_at_the_default_size(fonts):
    screen = ConnectScreen(WINDOW_SIZE, fonts, "192.168.1.20", 5050, "zoe")
    screen.failed(CHANGED)
    lines = screen.message_lines()
    assert len(lines) > 4
    assert screen.visible_rows() >= len(lines)
    assert "python -m lanchat.tls --forget 192.168.1.20:5050" in " ".join(lines)
    assert screen.message_rect.bottom <= WINDOW_SIZE[1]
    assert screen.card.bottom <= WINDOW_SIZE[1] and screen.card.top >= 0
    screen.draw(pygame.Surface(WINDOW_SIZE))


def test_long_error_scrolls_in_a_small_window(fonts):
    size = (560, 500)
    screen = ConnectScreen(size, fonts, "192.168.1.20", 5050, "zoe")
    screen.failed(CHANGED)
    lines = screen.message_lines()
    assert screen.visible_rows() < len(lines)
    assert screen.message_rect.bottom <= size[1]
    for _ in range(len(lines)):
        screen.handle_event(key(pygame.K_PAGEDOWN))
    assert screen.message_scroll + screen.visible_rows() == len(lines)
    screen.handle_event(pygame.event.Event(pygame.MOUSEWHEEL, {"x": 0, "y": 1}))
    assert screen.message_scroll < len(lines) - screen.visible_rows()
    screen.draw(pygame.Surface(size))


# ---------------------------------------------------------------- the real window

@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    return tls.self_signed(str(tmp_path_factory.mktemp("cert")), addresses=[])


def test_tls_from_the_connect_screen_connects_shows_the_fingerprint_and_is_remembered(
        make_server, make_app, pair):  # noqa: F811
    server = make_server(rate=0, tls_context=tls.server_context(*pair))
    app = make_app("--port", str(server.port))
    post_text(server.host)
    for _ in range(2):
        post_key(pygame.K_TAB)
    post_text("locked")
    post_key(pygame.K_TAB)          # password
    post_key(pygame.K_TAB)          # the TLS checkbox
    post_key(pygame.K_SPACE)
    post_key(pygame.K_RETURN)
    run_until(app, lambda: app.chat is not None and app.log.status.state == "connected",
              "the TLS connection from the connect screen")
    expected = tls.file_fingerprint(pair[0])
    assert app.chat.status.fingerprint == expected
    app.step(max_wait=0)
    assert settings.load().get("tls") is True


def test_without_tls_a_tls_server_says_tick_use_tls(make_server, make_app, pair):  # noqa: F811
    server = make_server(rate=0, tls_context=tls.server_context(*pair))
    app = make_app("--host", server.host, "--port", str(server.port), "--name", "plain")
    run_until(app, lambda: app.connect_screen is not None and app.connect_screen.error,
              "the refusal")
    assert "Use TLS" in app.connect_screen.error
    assert "--tls" not in app.connect_screen.error


def test_changed_certificate_is_explained_in_full(make_server, make_app, pair,
                                                  config_home):  # noqa: F811
    server = make_server(rate=0, tls_context=tls.server_context(*pair))
    where = tls.server_key(server.host, server.port)
    pins = tls.default_pins_path()
    os.makedirs(os.path.dirname(pins), exist_ok=True)
    with open(pins, "w", encoding="utf-8") as fh:
        json.dump({where: "SHA256:" + ":".join(["00"] * 32)}, fh)
    app = make_app("--host", server.host, "--port", str(server.port), "--name", "x", "--tls",
                   size=WINDOW_SIZE)
    run_until(app, lambda: app.connect_screen is not None and app.connect_screen.error,
              "the certificate warning")
    screen = app.connect_screen
    assert f"--forget {where}" in " ".join(screen.message_lines())
    assert screen.visible_rows() >= len(screen.message_lines())
    assert screen.tls.checked


def test_password_refusal_is_one_window_sentence(make_server, make_app, monkeypatch):  # noqa: F811
    monkeypatch.delenv("CHAT_PASSWORD", raising=False)
    server = make_server(rate=0, password="s3cret")
    app = make_app("--host", server.host, "--port", str(server.port), "--name", "gui")
    run_until(app, lambda: app.connect_screen is not None and app.connect_screen.error,
              "the refusal on the connect screen")
    assert app.connect_screen.error == windowtext.NEEDS_PASSWORD


def test_refused_line_in_the_chat_reads_as_a_window_sentence(make_server, make_app):  # noqa: F811
    """A refusal reads as a sentence (capital, full stop), not the server's raw text.

    (Lines refused for speed are no longer shown as failed: the connection paces them
    to the announced rate and resends them, so a private message to nobody is used.)
    """
    from test_ui_app import connected_app, press_enter
    server = make_server()
    app = connected_app(make_app, server)
    post_text("/msg nobody are you there")
    press_enter()
    run_until(app, lambda: any(e.state == "failed" for e in app.log.entries), "a refused line")
    failed = [e for e in app.log.entries if e.state == "failed"]
    assert failed[0].reason == "Nobody called 'nobody' is here."
    assert windowtext.chat_error({"type": "error", "code": "rate_limited",
                                  "message": "the limit is 1 message per second"}) == \
        windowtext.CHAT_ERRORS["rate_limited"]


def test_status_bar_draws_lock_and_fingerprint_only_on_tls(fonts):
    from ui.chatlog import ChatLog
    from ui.statusbar import StatusBar
    from ui import theme
    log = ChatLog(me="alice")
    log.apply({"type": "connected", "name": "alice", "users": ["alice"], "host": "h", "port": 1})
    bar = StatusBar(pygame.Rect(0, 0, 1000, 26), fonts, log)

    def green_pixels():
        surface = pygame.Surface((1000, 26))
        bar.draw(surface)
        right = surface.subsurface(pygame.Rect(500, 0, 500, 26))
        return sum(1 for x in range(500) for y in range(26) if right.get_at((x, y))[:3] == theme.OK)

    assert green_pixels() == 0
    bar.fingerprint = "SHA256:" + ":".join(["AB"] * 32)
    assert green_pixels() > 20


def test_a_ca_file_that_cannot_be_read_is_a_sentence_not_a_traceback(make_app, tmp_path):
    """Before: FileNotFoundError from ssl.create_default_context inside App.step()."""
    for cafile in (str(tmp_path / "missing.pem"), str(tmp_path)):
        app = make_app("--host", "127.0.0.1", "--port", "9", "--name", "zoe", "--cafile", cafile)
        run_until(app, lambda: app.connect_screen is not None and app.connect_screen.error,
                  "the connect screen with the reason")
        assert "CA file" in app.connect_screen.error


@pytest.mark.live
def test_the_terminal_says_so_too(tmp_path):
    import subprocess
    import sys
    from conftest import ROOT
    done = subprocess.run([sys.executable, "client.py", "--cli", "--host", "127.0.0.1", "--port",
                           "9", "--name", "zoe", "--cafile", str(tmp_path / "missing.pem")],
                          cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "CA file" in done.stderr


# ---------------------------------------------------------------- the name check

@pytest.mark.parametrize("name, words", [
    ("ali\u200bce", "control characters"),   # a zero-width space: invisible, refused
    ("bob smith", "spaces"),
    ("@bob", "cannot start with"),
    ("x" * 25, "1 to 24 characters"),
])
def test_the_name_check_is_the_server_rule_as_a_window_sentence(fonts, name, words):  # noqa: F811
    screen = ConnectScreen(WINDOW_SIZE, fonts, "192.168.1.20", 5050, name)
    assert screen.validate() is None
    assert words in screen.error and screen.error[0].isupper() and screen.error.endswith(".")
    assert screen.focus == 2


def test_a_valid_name_makes_a_request(fonts):  # noqa: F811
    screen = ConnectScreen(WINDOW_SIZE, fonts, "192.168.1.20", 5050, "Zoë_2")
    assert screen.validate().name == "Zoë_2"


def test_a_certificate_changed_mid_session_returns_to_the_connect_screen(
        make_server, make_app, pair, tmp_path):  # noqa: F811
    """Connected with "Use TLS", the server restarts with another certificate: the
    window goes back to the connect screen with the whole warning, not a chat stuck
    on "Reconnecting…"."""
    server = make_server(rate=0, tls_context=tls.server_context(*pair))
    app = make_app("--host", server.host, "--port", str(server.port), "--name", "pinned",
                   "--tls", size=WINDOW_SIZE)
    run_until(app, lambda: app.chat is not None and app.log.status.state == "connected",
              "the first TLS connection (pins the certificate)")
    server.stop()
    other = tls.self_signed(str(tmp_path / "other"), addresses=[])
    make_server(rate=0, port=server.port, tls_context=tls.server_context(*other))
    if app.conn is not None:
        app.reconnect_now()
    run_until(app, lambda: app.connect_screen is not None and app.connect_screen.error,
              "the connect screen with the certificate warning", timeout=10)
    screen = app.connect_screen
    where = tls.server_key(server.host, server.port)
    assert app.chat is None and app.conn is None
    assert f"--forget {where}" in " ".join(screen.message_lines())
    assert screen.tls.checked and not screen.busy
