"""A first TLS connection pins only the certificate the server advertised (issue 13).

Discovery carries the certificate's fingerprint (PROTOCOL.md section 10 ``fp``); the
connect screen passes it on (``--fingerprint`` on the command line does the same), and
``ClientWrapper`` pins on first use only a certificate with that fingerprint. Real
in-process TLS servers on 127.0.0.1, real ``ChatConnection``s, a private pin file.
"""

from __future__ import annotations

from lanchat import tls
from lanchat.client import options
from lanchat.tls.pins import fingerprint_hex

from test_tls import bystanders, chat_works, connect, next_event, pair, pins, tls_server  # noqa: F401
from conftest import wait_for

OTHER = "cd" * 32


def test_the_advertised_certificate_is_pinned_on_first_use(tls_server, connect, pair, pins):
    where = f"127.0.0.1:{tls_server.port}"
    real = tls.file_fingerprint(pair[0])
    wrapper = tls.client_wrapper(advertised=fingerprint_hex(real))  # as discovery says it
    alice, got = connect(tls_server.address, "alice", wrap_socket=wrapper)
    assert got["type"] == "connected", got
    assert tls.PinStore(pins).get(where) == real and wrapper.new_pin == (where, real)


def test_another_certificate_than_advertised_is_refused_and_not_pinned(tls_server, connect,
                                                                      pair, pins):
    alice, bob = bystanders(connect, tls_server.address,
                            wrap_socket=tls.client_wrapper(cafile=pair[0]))
    where = f"127.0.0.1:{tls_server.port}"
    mallory, got = connect(tls_server.address, "mallory",
                           wrap_socket=tls.client_wrapper(advertised=OTHER))
    assert got["type"] == "connect_failed"
    reason = got["reason"]
    for part in ("NOT THE ONE ADVERTISED", where, OTHER, tls.file_fingerprint(pair[0]),
                 "nothing was pinned", "man-in-the-middle"):
        assert part in reason, part
    next_event(mallory, "closed")
    assert tls.PinStore(pins).get(where) is None
    chat_works(alice, bob, "unaffected")
    wait_for(lambda: len(tls_server.room.members) == 2, what="only the two bystanders")


def test_once_pinned_the_pin_decides_not_the_advertisement(tls_server, connect, pair, pins):
    where = f"127.0.0.1:{tls_server.port}"
    real = tls.file_fingerprint(pair[0])
    tls.PinStore(pins).pin(where, real)
    alice, got = connect(tls_server.address, "alice",
                         wrap_socket=tls.client_wrapper(advertised=OTHER))
    assert got["type"] == "connected", got        # the list warned; the pin is right
    tls.PinStore(pins).pin(where, "SHA256:" + ":".join(["AB"] * 32))
    bob, got = connect(tls_server.address, "bob",
                       wrap_socket=tls.client_wrapper(advertised=fingerprint_hex(real)))
    assert got["type"] == "connect_failed" and "HAS CHANGED" in got["reason"]


def test_the_fingerprint_flag_is_the_same_check(tls_server, pair, pins):
    args = options.build_parser().parse_args(["--tls", "--no-reconnect", "--fingerprint",
                                              OTHER])
    conn = options.make_connection(args, tls_server.host, tls_server.port, "carol").start()
    try:
        got = next_event(conn, ("connected", "connect_failed"))
        assert got["type"] == "connect_failed" and "NOT THE ONE ADVERTISED" in got["reason"]
    finally:
        conn.close(timeout=2.0)
    args = options.build_parser().parse_args(
        ["--tls", "--no-reconnect", "--fingerprint", tls.file_fingerprint(pair[0])])
    conn = options.make_connection(args, tls_server.host, tls_server.port, "carol").start()
    try:
        got = next_event(conn, ("connected", "connect_failed"))
        assert got["type"] == "connected", got
    finally:
        conn.close(timeout=2.0)


def test_the_window_checks_the_fingerprint_flag_for_a_typed_address(tls_server, pins):
    import pygame
    import headless  # noqa: F401  (pygame without a screen)
    from test_ui_app import post_key, post_text, run_until
    from lanchat.client import options as client_options
    from ui import app as ui_app
    args = client_options.build_parser().parse_args(
        ["--tls", "--fingerprint", OTHER, "--name", "gui", "--port", str(tls_server.port)])
    app = ui_app.App(args, size=(900, 600), clipboard=lambda: "", browser_factory=None)
    try:
        post_text(tls_server.host)
        post_key(pygame.K_RETURN)
        run_until(app, lambda: app.connect_screen is not None
                  and "NOT THE ONE ADVERTISED" in app.connect_screen.error, "the refusal")
        assert tls.PinStore(pins).get(f"127.0.0.1:{tls_server.port}") is None
        post_key(pygame.K_RETURN)                   # again: still the flag's fingerprint
        run_until(app, lambda: app.connect_screen.busy, "the second attempt")
        run_until(app, lambda: not app.connect_screen.busy, "the second refusal")
        assert "NOT THE ONE ADVERTISED" in app.connect_screen.error
    finally:
        app.quit()
        pygame.display.quit()
