"""When the connection gives up for good mid-session, the window goes back to the
connect screen with the whole explanation (as a first failed attempt does); a
password refusal puts the keyboard in the Password field.

Headless (SDL_VIDEODRIVER=dummy), the App driven by a fake connection whose events
the test feeds (no network, no waiting).
"""

from __future__ import annotations

from lanchat import tls
from ui import windowtext
from ui.connectscreen import PASSWORD_FIELD

from test_ui_offline import config_home, feed, make_app, online  # noqa: F401

CHANGED = tls.mismatch_message("192.168.100.200:5050", "SHA256:" + ":".join(["AB"] * 32),
                               "SHA256:" + ":".join(["CD"] * 32),
                               "/home/someone/.config/lanchat/known_servers.json")


def dropped(app, conn):
    conn.connected = False
    feed(app, conn, {"type": "disconnected", "reason": "the server closed the connection",
                     "will_retry": True},
         {"type": "reconnecting", "attempt": 1, "delay": 0.4, "reason": "closed"},
         {"type": "connecting", "host": conn.host, "port": conn.port, "attempt": 1})


def test_changed_certificate_mid_session_returns_to_the_connect_screen(make_app):  # noqa: F811
    app, conn = make_app()
    app.args.tls = True
    online(app, conn)
    dropped(app, conn)
    assert app.chat is not None  # still retrying: the chat stays
    feed(app, conn, {"type": "connect_failed", "reason": CHANGED})
    assert app.chat is None and app.connect_screen is not None
    assert app.connect_screen.error == windowtext.window_reason(CHANGED)
    assert "--forget" in "".join(app.connect_screen.message_lines())
    assert app.connect_screen.tls.checked and not app.connect_screen.busy
    assert conn.closed is not None
    app.step(max_wait=0)  # and it draws
    assert app.connect_screen.values() == ("192.168.100.200", "5050", "alice")


def test_a_refusal_that_ends_the_session_returns_to_the_connect_screen(make_app):  # noqa: F811
    app, conn = make_app()
    online(app, conn)
    dropped(app, conn)
    feed(app, conn, {"type": "error", "code": "auth_failed", "ends_session": True,
                     "message": "this server needs a password"},
         {"type": "disconnected", "reason": "this server needs a password",
          "will_retry": False})
    assert app.chat is None and app.connect_screen is not None
    assert app.connect_screen.error == windowtext.NEEDS_PASSWORD
    assert app.connect_screen.focus == PASSWORD_FIELD


def test_a_drop_that_will_be_retried_keeps_the_chat(make_app):  # noqa: F811
    app, conn = make_app()
    online(app, conn)
    dropped(app, conn)
    assert app.chat is not None and app.connect_screen is None and conn.closed is None


def test_needs_password_at_first_connect_focuses_the_password_field(make_app):  # noqa: F811
    app, conn = make_app()
    feed(app, conn, {"type": "error", "code": "auth_failed", "ends_session": True,
                     "message": "this server needs a password"},
         {"type": "disconnected", "reason": "this server needs a password",
          "will_retry": False},
         {"type": "connect_failed", "reason": "this server needs a password"})
    screen = app.connect_screen
    assert screen.error == windowtext.NEEDS_PASSWORD
    assert screen.focus == PASSWORD_FIELD and screen.fields[PASSWORD_FIELD].focused


def test_wrong_password_focuses_the_password_field(make_app):  # noqa: F811
    app, conn = make_app()
    conn.password = "wrong"
    feed(app, conn, {"type": "error", "code": "auth_failed", "ends_session": True,
                     "message": "wrong password"},
         {"type": "connect_failed", "reason": "wrong password"})
    assert app.connect_screen.error == windowtext.WRONG_PASSWORD
    assert app.connect_screen.focus == PASSWORD_FIELD


def test_other_refusals_keep_the_focus_rule(make_app):  # noqa: F811
    app, conn = make_app()
    feed(app, conn, {"type": "error", "code": "name_taken", "ends_session": True,
                     "message": "taken"},
         {"type": "connect_failed", "reason": "taken"})
    assert app.connect_screen.focus != PASSWORD_FIELD
