"""Closing the window with lines still "sending…" asks first; acks end the wait by themselves."""

from __future__ import annotations

import os

os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

import pygame  # noqa: E402
import pytest  # noqa: E402

from test_ui_offline import config_home, feed, make_app, online  # noqa: E402,F401


def post(kind, **fields):
    pygame.event.post(pygame.event.Event(kind, fields))


def key(k, mod=0):
    post(pygame.KEYDOWN, key=k, mod=mod, unicode="", scancode=0)


@pytest.fixture
def busy(make_app):  # noqa: F811
    """An app with two of its lines still waiting for the server."""
    app, conn = make_app()
    online(app, conn)
    app.chat.submit("first")
    app.chat.submit("second")
    app.step(max_wait=0)
    assert app.log.pending_count == 2
    return app, conn


def test_closing_with_nothing_pending_quits_at_once(make_app):  # noqa: F811
    app, conn = make_app()
    online(app, conn)
    post(pygame.QUIT)
    assert not app.step(max_wait=0)
    assert conn.closed == "bye"


def test_closing_with_pending_lines_asks_and_escape_waits(busy):
    app, conn = busy
    post(pygame.QUIT)
    assert app.step(max_wait=0)
    assert app.quit_dialog is not None and conn.closed is None
    assert app.quit_dialog.message() == "2 messages are still being sent. Quit anyway?"
    key(pygame.K_ESCAPE)
    assert app.step(max_wait=0)
    assert app.quit_dialog is None and app.running and conn.closed is None
    post(pygame.TEXTINPUT, text="x")  # the window works as before
    app.step(max_wait=0)
    assert app.chat.input.text == "x"


def test_enter_quits_anyway(busy):
    app, conn = busy
    key(pygame.K_q, pygame.KMOD_LCTRL)
    app.step(max_wait=0)
    assert app.quit_dialog is not None
    key(pygame.K_RETURN)
    assert not app.step(max_wait=0)
    assert conn.closed == "bye"


def test_buttons_answer_too(busy):
    app, conn = busy
    post(pygame.QUIT)
    app.step(max_wait=0)
    post(pygame.MOUSEBUTTONDOWN, button=1, pos=app.quit_dialog.wait_rect.center)
    app.step(max_wait=0)
    assert app.quit_dialog is None and app.running
    post(pygame.QUIT)
    app.step(max_wait=0)
    post(pygame.MOUSEBUTTONDOWN, button=1, pos=app.quit_dialog.quit_rect.center)
    assert not app.step(max_wait=0)


def test_acks_while_asking_quit_at_once(busy):
    app, conn = busy
    post(pygame.QUIT)
    app.step(max_wait=0)
    feed(app, conn, {"type": "ack", "id": "id1", "seq": 11})
    assert app.running and app.quit_dialog.message() == \
        "1 message is still being sent. Quit anyway?"
    conn.events.put({"type": "ack", "id": "id2", "seq": 12})
    assert not app.step(max_wait=0)
    assert conn.closed == "bye"


def test_the_question_is_drawn_over_the_window(busy):
    app, conn = busy
    app.step(max_wait=0)
    before = pygame.image.tobytes(app.surface, "RGB")
    post(pygame.QUIT)
    app.step(max_wait=0)
    app.step(max_wait=0)
    assert pygame.image.tobytes(app.surface, "RGB") != before
    assert app.surface.get_rect().contains(app.quit_dialog.rect)


def test_offline_the_question_says_nothing_is_being_sent(busy):
    app, conn = busy
    conn.connected = False
    feed(app, conn, {"type": "disconnected", "reason": "the server closed the connection",
                     "will_retry": True})
    post(pygame.QUIT)
    assert app.step(max_wait=0)
    assert app.quit_dialog.message() == ("2 messages have not been delivered (you are "
                                         "offline). Quitting discards them.")
    app.quit_dialog.set_pending(1)
    assert app.quit_dialog.message() == ("1 message has not been delivered (you are "
                                         "offline). Quitting discards it.")
