"""TLS end to end: a real in-process server on 127.0.0.1 and real ``ChatConnection``s.

Covers issue 4's access part: certificates given or self-signed (made once, reused),
real verification with ``--cafile``, trust on first use with a pin file in a temporary
``XDG_CONFIG_HOME``, the loud refusal of a changed certificate, and the wrong-protocol
cases both ways (plaintext client on a TLS port, TLS client on a plain port). Every
error-path test also checks that two other clients keep chatting meanwhile.
"""

from __future__ import annotations

import datetime
import json
import logging
import os
import queue
import re
import socket
import ssl
import threading
import time

import pytest

from lanchat.client import connection
import protocol
import server
from lanchat import tls
from lanchat.tls.__main__ import main as tls_main
from conftest import WAIT, wait_for

FINGERPRINT = re.compile(r"SHA256(:[0-9A-F]{2}){32}")


# ---------------------------------------------------------------------- helpers

@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """One self-signed (certfile, keyfile) for the module's servers."""
    return tls.self_signed(str(tmp_path_factory.mktemp("cert")), addresses=[])


@pytest.fixture
def pins(tmp_path, monkeypatch):
    """A private config dir, so pins never touch the real ~/.config; returns the pin file."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return tls.default_pins_path()


@pytest.fixture
def tls_server(make_server, pair):
    return make_server(rate=0, tls_context=tls.server_context(*pair))


@pytest.fixture
def connect():
    """Factory: ``connect(address, name, **ChatConnection kwargs)`` -> (conn, first outcome)."""
    opened = []

    def factory(address, name, host=None, **kwargs):
        kwargs.setdefault("reconnect", False)
        conn = connection.ChatConnection(host or address[0], address[1], name, **kwargs)
        opened.append(conn)
        conn.start()
        outcome = next_event(conn, ("connected", "connect_failed"))
        return conn, outcome

    yield factory
    for conn in opened:
        conn.close(timeout=2.0)


def next_event(conn, kinds, timeout=WAIT, **fields):
    """The next event of one of ``kinds`` (matching ``fields``), skipping others; bounded."""
    kinds = (kinds,) if isinstance(kinds, str) else kinds
    deadline = time.monotonic() + timeout
    seen = []
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            pytest.fail(f"no {kinds} {fields or ''} within {timeout}s; got {seen[-10:]}")
        try:
            event = conn.events.get(timeout=left)
        except queue.Empty:
            continue
        if event["type"] in kinds and all(event.get(k) == v for k, v in fields.items()):
            return event
        seen.append(event)


def chat_works(sender, receiver, text):
    """``sender`` says ``text``: it is acked and ``receiver`` gets it (bounded waits)."""
    msg_id = sender.say(text)
    next_event(sender, "ack", id=msg_id)
    message = next_event(receiver, "message", text=text)
    assert message["from"] == sender.name


def bystanders(connect, address, **kwargs):
    """Two connected clients that the test later checks can still chat."""
    alice, got = connect(address, "alice", **kwargs)
    assert got["type"] == "connected", got
    bob, got = connect(address, "bob", **kwargs)
    assert got["type"] == "connected", got
    chat_works(alice, bob, "before")
    return alice, bob


# ------------------------------------------------------------------ certificates

def test_fingerprint_is_the_same_for_der_and_pem(pair):
    with open(pair[0]) as f:
        pem = f.read()
    der = ssl.PEM_cert_to_DER_cert(pem)
    assert tls.fingerprint(der) == tls.fingerprint(pem) == tls.file_fingerprint(pair[0])
    assert FINGERPRINT.fullmatch(tls.fingerprint(der))


def test_self_signed_certificate_is_made_once_then_reused(tmp_path):
    from cryptography import x509

    certfile, keyfile = tls.self_signed(str(tmp_path), addresses=["192.0.2.7"])
    first = tls.file_fingerprint(certfile)
    assert os.stat(keyfile).st_mode & 0o777 == 0o600
    again = tls.self_signed(str(tmp_path), addresses=["198.51.100.9"])
    assert again == (certfile, keyfile)
    assert tls.file_fingerprint(certfile) == first

    with open(certfile, "rb") as f:
        cert = x509.load_pem_x509_certificate(f.read())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    names = set(san.get_values_for_type(x509.DNSName))
    ips = {str(ip) for ip in san.get_values_for_type(x509.IPAddress)}
    assert {"localhost", socket.gethostname()} <= names
    assert {"127.0.0.1", "192.0.2.7"} <= ips
    lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert lifetime >= datetime.timedelta(days=9 * 365)


def test_self_signed_server_keeps_its_fingerprint_across_restarts(tmp_path, make_server,
                                                                  connect, pins):
    db = str(tmp_path / "chat-history.db")
    seen = []
    for _ in range(2):  # "start" the server twice with --tls-self-signed --db <db>
        context, fp, certfile = tls.server_setup(None, None, True, db, addresses=lambda: [])
        assert os.path.dirname(certfile) == str(tmp_path)  # beside the database
        running = make_server(tls_context=context, db=db)
        wrap = tls.client_wrapper()
        conn, got = connect(running.address, "alice", wrap_socket=wrap)
        assert got["type"] == "connected", got
        assert wrap.last_fingerprint == fp
        seen.append(fp)
        conn.close()
        running.stop()
    assert seen[0] == seen[1]


def test_server_tls_flags_are_validated_with_clear_errors(tmp_path, pair, capsys):
    cases = [
        (["--tls-self-signed", "--tls-cert", pair[0]], "not both"),
        (["--tls-key", pair[1]], "--tls-key needs --tls-cert"),
        (["--tls-cert", str(tmp_path / "missing.pem")], "not found"),
        (["--tls-cert", pair[0]], "give it with --tls-key"),  # the key is elsewhere
    ]
    for argv, expected in cases:
        with pytest.raises(SystemExit) as stopped:
            server.main(argv + ["--port", "0", "--db", ":memory:"])
        assert stopped.value.code == 2
        assert expected in capsys.readouterr().err
    context, fp, certfile = tls.server_setup(pair[0], pair[1], False, ":memory:")
    assert isinstance(context, ssl.SSLContext) and FINGERPRINT.fullmatch(fp)
    assert context.minimum_version >= ssl.TLSVersion.TLSv1_2
    assert tls.server_setup(None, None, False, ":memory:") == (None, None, None)


# ------------------------------------------------------------- chatting over TLS

def test_chat_over_tls_verified_with_cafile(tls_server, connect, pair, pins):
    wrap = tls.client_wrapper(cafile=pair[0])
    alice, bob = bystanders(connect, tls_server.address, wrap_socket=wrap)
    # the host name is checked too: localhost is in the certificate
    carol, got = connect(tls_server.address, "carol", host="localhost", wrap_socket=wrap)
    assert got["type"] == "connected", got
    chat_works(carol, alice, "hello over verified TLS")
    chat_works(bob, carol, "and back")
    assert alice._sock.version() in ("TLSv1.2", "TLSv1.3")
    assert not os.path.exists(pins)  # real verification pins nothing


def test_wrong_cafile_is_refused_readably(tls_server, connect, pair, tmp_path, pins):
    alice, bob = bystanders(connect, tls_server.address,
                            wrap_socket=tls.client_wrapper(cafile=pair[0]))
    other_cert, _ = tls.self_signed(str(tmp_path / "other"), addresses=[])
    mallory, got = connect(tls_server.address, "mallory",
                           wrap_socket=tls.client_wrapper(cafile=other_cert))
    assert got["type"] == "connect_failed"
    assert "could not be verified" in got["reason"] and "--cafile" in got["reason"]
    chat_works(alice, bob, "still here")
    wait_for(lambda: len(tls_server.room.members) == 2, what="only the two bystanders")


def test_trust_on_first_use_pins_then_accepts_the_same_certificate(tls_server, connect,
                                                                   pair, pins):
    announced = []
    first = tls.client_wrapper(on_new_pin=lambda where, fp: announced.append((where, fp)))
    alice, got = connect(tls_server.address, "alice", wrap_socket=first)
    assert got["type"] == "connected", got
    where = f"127.0.0.1:{tls_server.port}"
    expected = tls.file_fingerprint(pair[0])
    assert announced == [(where, expected)] and first.new_pin == (where, expected)
    with open(pins) as f:
        assert json.load(f) == {where: expected}
    assert os.stat(pins).st_mode & 0o777 == 0o600

    second = tls.client_wrapper(on_new_pin=lambda *a: announced.append(a))
    bob, got = connect(tls_server.address, "bob", wrap_socket=second)
    assert got["type"] == "connected", got
    assert second.new_pin is None and len(announced) == 1  # known: nothing new to say
    chat_works(alice, bob, "pinned and private")
    chat_works(bob, alice, "both ways")


def test_changed_certificate_is_refused_with_a_loud_clear_message(tls_server, connect,
                                                                  pair, pins):
    alice, bob = bystanders(connect, tls_server.address,
                            wrap_socket=tls.client_wrapper(cafile=pair[0]))
    where = f"127.0.0.1:{tls_server.port}"
    old = "SHA256:" + ":".join(["AB"] * 32)
    tls.PinStore(pins).pin(where, old)
    mallory, got = connect(tls_server.address, "mallory", wrap_socket=tls.client_wrapper())
    assert got["type"] == "connect_failed"
    reason = got["reason"]
    now = tls.file_fingerprint(pair[0])
    for part in ("HAS CHANGED", where, old, now, pins, "remove the line", "man-in-the-middle"):
        assert part in reason, part
    next_event(mallory, "closed")  # refused once, no retry loop
    assert tls.PinStore(pins).get(where) == old  # the pin is not silently replaced
    chat_works(alice, bob, "unaffected")
    wait_for(lambda: len(tls_server.room.members) == 2, what="only the two bystanders")


def test_a_pin_line_removed_by_hand_is_forgotten(tmp_path, pins):
    store = tls.PinStore(pins)
    store.pin("a:1", "SHA256:01")
    store.pin("b:2", "SHA256:02")
    with open(pins) as f:
        lines = f.read().splitlines()
    with open(pins, "w") as f:  # what a person does: delete the line for b:2
        f.write("\n".join(line for line in lines if '"b:2"' not in line))
    assert store.load() == {"a:1": "SHA256:01"}
    assert tls_main(["--forget", "a:1", "--pins", pins]) == 0
    assert store.load() == {}
    with open(pins, "w") as f:
        f.write("{ not json")
    with pytest.raises(ValueError, match="damaged"):
        store.load()


# ------------------------------------------------------------- wrong protocol

def test_plaintext_client_on_tls_port_fails_alone_and_server_logs_one_line(
        tls_server, connect, make_client, pair, pins, caplog):
    alice, bob = bystanders(connect, tls_server.address,
                            wrap_socket=tls.client_wrapper(cafile=pair[0]))
    caplog.set_level(logging.DEBUG)
    tutorial = make_client(tls_server.address)
    port = tutorial.sock.getsockname()[1]
    tutorial.send_text("hello, is this thing on?")
    refusal = tutorial.recv_line()  # in the tutorial client's own form, not JSON
    assert refusal.startswith("error: this server uses TLS") and "--tls" in refusal
    assert tutorial.wait_closed()
    chat_works(alice, bob, "served meanwhile")
    wait_for(lambda: any(f":{port}" in r.getMessage() and r.levelno == logging.DEBUG
                         for r in caplog.records), what="the handler to finish")
    lines = [r for r in caplog.records if f":{port}" in r.getMessage()
             and r.levelno >= logging.INFO]
    assert len(lines) == 1, [r.getMessage() for r in lines]
    assert "TLS" in lines[0].getMessage()

    # our own client without --tls is told what to do
    plain, got = connect(tls_server.address, "plain")
    assert got["type"] == "connect_failed" and "--tls" in got["reason"]
    chat_works(bob, alice, "still served")


@pytest.mark.parametrize("first, answer", [
    (b"hi there\n", b"error: this server uses TLS: connect with TLS (python client.py --tls)\n"),
    (b"5         alice", b"1         *"),  # ten-byte: "*", then the error
])
def test_plaintext_dialects_on_the_tls_port_are_told_in_their_form(tls_server, make_client,
                                                                   first, answer):
    client = make_client(tls_server.address, bare=True)
    client.send_raw(first)
    assert client.wait_closed()
    assert bytes(client.received).startswith(answer)
    assert b"--tls" in bytes(client.received)
    assert tls_server.room.members == {}


def test_a_silent_plaintext_connection_on_the_tls_port_does_not_listen(tls_server, make_client):
    client = make_client(tls_server.address, bare=True)
    wait_for(lambda: tls_server.server.connection_count() == 1, what="the connection")
    with pytest.raises(AssertionError):  # no room lines in plaintext, however long it waits
        client.expect_text("joined", timeout=2.5)
    assert tls_server.room.members == {}


def test_tls_client_on_plain_port_gets_a_readable_error(chat_server, connect, pins):
    alice, bob = bystanders(connect, chat_server.address)
    carol, got = connect(chat_server.address, "carol", wrap_socket=tls.client_wrapper())
    assert got["type"] == "connect_failed"
    assert "does not use TLS" in got["reason"] and "without --tls" in got["reason"]
    assert not os.path.exists(pins)
    chat_works(alice, bob, "plain is fine")


@pytest.mark.live
def test_tls_handshake_with_a_silent_server_times_out(connect, pins):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)  # accepts in the kernel, never answers the handshake
    try:
        conn, got = connect(listener.getsockname(), "alice",
                            wrap_socket=tls.client_wrapper(timeout=0.3))
        assert got["type"] == "connect_failed" and "Timed out" in got["reason"]
    finally:
        listener.close()


def test_concurrent_reading_and_sending_over_tls(tls_server, connect, pair, pins):
    """One reader thread and a sending thread share a TLSClientSocket without harm."""
    wrap = tls.client_wrapper(cafile=pair[0])
    alice, bob = bystanders(connect, tls_server.address, wrap_socket=wrap)
    count = 300

    def talk(conn, prefix):
        for i in range(count):
            conn.say(f"{prefix}{i}")

    threads = [threading.Thread(target=talk, args=(alice, "a")),
               threading.Thread(target=talk, args=(bob, "b"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(WAIT)
    for receiver, prefix in ((bob, "a"), (alice, "b")):
        for i in range(count):
            next_event(receiver, "message", text=f"{prefix}{i}")
    wait_for(lambda: not alice.pending() and not bob.pending(), what="every line acked")


@pytest.mark.live
def test_server_cli_self_signed_prints_the_same_fingerprint_on_every_start(tmp_path):
    """``python server.py --tls-self-signed``: made on the first start, reused on the next."""
    import signal
    import subprocess
    import sys

    script = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                          "server.py")
    printed = []
    for _ in range(2):
        proc = subprocess.Popen(
            [sys.executable, script, "--host", "127.0.0.1", "--port", "0",
             "--db", str(tmp_path / "h.db"), "--tls-self-signed", "--log-level", "WARNING"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        out: "queue.Queue[str]" = queue.Queue()
        threading.Thread(target=lambda: [out.put(line) for line in proc.stdout],
                         daemon=True).start()
        try:
            lines = []
            while not any("connect with" in line for line in lines):
                try:
                    lines.append(out.get(timeout=WAIT))
                except queue.Empty:
                    pytest.fail(f"the server printed no address within {WAIT}s: {lines}")
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.communicate(timeout=WAIT)
        tls_line = next(line for line in lines if line.startswith("TLS on"))
        printed.append(FINGERPRINT.search(tls_line).group(0))
        hint = next(line for line in lines if "connect with" in line)
        assert hint.rstrip().endswith("--tls")
    assert printed[0] == printed[1] == tls.file_fingerprint(str(tmp_path / tls.CERT_FILE))
