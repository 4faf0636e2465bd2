"""The server password: right, wrong, missing, plain clients, and never in the logs.

A real in-process server on 127.0.0.1 (``make_server(password=...)``). Wire-level
checks use ``RawClient``; the client side uses ``ChatConnection`` as ``client.py`` does.
Every refusal test also checks that two members connected meanwhile keep chatting.
"""

from __future__ import annotations

import argparse
import hmac
import logging
import queue
import time

import pytest

from lanchat.client import connection, options
import protocol
from lanchat import tls
from lanchat.server import config
from conftest import WAIT, wait_for

SECRET = "correct horse battery staple"
GUESS = "hunter2-wrong-guess"


def members_chatting(address, make_client):
    """Two joined members (with the password); returns a check that they still chat."""
    alice = make_client(address)
    bob = make_client(address)
    alice.hello("alice", password=SECRET)
    bob.hello("bob", password=SECRET)
    alice.expect("join", name="bob")
    rounds = iter(range(1000))

    def still_chatting():
        """Alice's line is acked and reaches bob; returns what bob got before it."""
        text = f"still here {next(rounds)}"
        alice.send(type="say", text=text, id=text)
        alice.expect("ack", id=text)
        before = []
        while True:
            message = bob.recv()
            if message.get("type") == "message" and message.get("text") == text:
                assert message["from"] == "alice"
                return before
            before.append(message)

    still_chatting()
    return alice, bob, still_chatting


@pytest.fixture
def locked(make_server):
    return make_server(rate=0, password=SECRET)


def test_right_password_joins_and_chats(locked, make_client):
    alice, bob, still_chatting = members_chatting(locked.address, make_client)
    carol = make_client(locked.address)
    welcome = carol.hello("carol", password=SECRET)
    assert sorted(welcome["users"]) == ["alice", "bob", "carol"]
    carol.send(type="say", text="hi all", id="c1")
    carol.expect("ack", id="c1")
    alice.expect("message", text="hi all")
    still_chatting()


@pytest.mark.parametrize("given", [GUESS, "", None, SECRET + " ", SECRET.upper()])
def test_wrong_or_missing_password_gets_auth_failed_and_a_close(locked, make_client, given):
    alice, bob, still_chatting = members_chatting(locked.address, make_client)
    mallory = make_client(locked.address)
    extra = {} if given is None else {"password": given}
    mallory.send(type="hello", name="mallory", **extra)
    error = mallory.expect("error")
    assert error["code"] == protocol.AUTH_FAILED
    assert "password" in error["message"] and "--password" in error["message"]
    assert mallory.wait_closed()
    # mallory never joined: bob saw nothing about it, and the room holds only the two
    assert still_chatting() == []
    assert len(locked.room.members) == 2


def test_resume_token_does_not_bypass_the_password(locked, make_client):
    alice, bob, still_chatting = members_chatting(locked.address, make_client)
    first = make_client(locked.address)
    session = first.hello("carol", password=SECRET)["session"]
    first.send(type="bye")
    assert first.wait_closed()
    thief = make_client(locked.address)
    thief.send(type="hello", name="carol", resume=session, since=0, password=GUESS)
    assert thief.expect("error")["code"] == protocol.AUTH_FAILED
    assert thief.wait_closed()
    # bob saw carol come and go once; the thief's attempt added nothing
    assert [m["type"] for m in still_chatting()] == ["join", "leave"]


def test_plain_client_is_refused_readably_and_closed(locked, make_client):
    alice, bob, still_chatting = members_chatting(locked.address, make_client)
    tutorial = make_client(locked.address)
    tutorial.send_text("hello from the tutorial client")
    line = tutorial.recv_line()
    assert line.startswith("error: ") and "password" in line
    assert tutorial.wait_closed()
    assert still_chatting() == []  # no join, no leave, no line from the refused client
    assert len(locked.room.members) == 2


def test_password_never_appears_in_the_logs(make_server, make_client, caplog):
    caplog.set_level(logging.DEBUG)
    running = make_server(rate=0, password=SECRET)
    alice, bob, still_chatting = members_chatting(running.address, make_client)
    for given in (GUESS, SECRET, None):
        other = make_client(running.address)
        other.send(type="hello", name="zed", **({} if given is None else {"password": given}))
        other.recv()  # welcome or error
        other.send(type="bye")
        assert other.wait_closed()
    plain = make_client(running.address)
    plain.send_text(f"my password is {SECRET}?")  # even typed by a plain client
    assert plain.recv_line().startswith("error: ")
    assert plain.wait_closed()
    still_chatting()
    running.stop()  # shutdown logs too
    logged = "\n".join(f"{r.getMessage()} {r.args!r}" for r in caplog.records)
    assert "refused" in logged  # the refusals were logged ...
    assert SECRET not in logged and GUESS not in logged  # ... without any password
    assert SECRET.split()[0] not in caplog.text


def test_comparison_is_constant_time(monkeypatch, locked, make_client):
    calls = []
    real = hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    carol = make_client(locked.address)
    carol.hello("carol", password=SECRET)
    assert calls and all(isinstance(a, bytes) for a, _ in calls)


def test_password_comes_from_the_flag_or_the_environment(monkeypatch):
    parser = config.build_parser()
    monkeypatch.delenv("CHAT_PASSWORD", raising=False)
    assert config.config_from_args(parser.parse_args([])).password is None
    monkeypatch.setenv("CHAT_PASSWORD", SECRET)
    assert config.config_from_args(parser.parse_args([])).password == SECRET
    assert config.config_from_args(parser.parse_args(["--password", "x"])).password == "x"

    args = options.build_parser().parse_args(["--cli", "--host", "h", "--name", "n"])
    assert options.make_connection(args, "h", 1, "n").password == SECRET
    monkeypatch.delenv("CHAT_PASSWORD")
    args = options.build_parser().parse_args(["--password", "pw"])
    assert options.make_connection(args, "h", 1, "n").password == "pw"


# ----------------------------------------------------------- the client side

def next_event(conn, kinds, timeout=WAIT):
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        try:
            event = conn.events.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            break
        if event["type"] in kinds:
            return event, seen
        seen.append(event)
    pytest.fail(f"no {kinds} within {timeout}s; got {seen}")


def test_client_reports_auth_failed_readably_and_does_not_retry(locked, make_client, caplog):
    caplog.set_level(logging.INFO, logger="chat.server")
    alice, bob, still_chatting = members_chatting(locked.address, make_client)
    conn = connection.ChatConnection(*locked.address, "mallory", password=GUESS,
                                     reconnect=True)
    conn.start()
    try:
        failed, _ = next_event(conn, ("connect_failed",))
        assert "wrong password" in failed["reason"] and "--password" in failed["reason"]
        _, between = next_event(conn, ("closed",))
        assert not any(e["type"] in ("connecting", "reconnecting") for e in between)
    finally:
        conn.close(timeout=2.0)
    refusals = [r for r in caplog.records if "refused" in r.getMessage()]
    assert len(refusals) == 1  # one attempt, no retry loop
    still_chatting()

    good = connection.ChatConnection(*locked.address, "carol", password=SECRET,
                                     reconnect=False)
    good.start()
    try:
        connected, _ = next_event(good, ("connected", "connect_failed"))
        assert connected["type"] == "connected"
    finally:
        good.close(timeout=2.0)


def test_password_and_tls_together(make_server, make_client, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    certfile, keyfile = tls.self_signed(str(tmp_path), addresses=[])
    running = make_server(rate=0, password=SECRET,
                          tls_context=tls.server_context(certfile, keyfile))
    conns = []
    try:
        for name, password in (("alice", SECRET), ("bob", SECRET), ("mallory", GUESS)):
            conn = connection.ChatConnection(*running.address, name, password=password,
                                             wrap_socket=tls.client_wrapper(cafile=certfile),
                                             reconnect=False)
            conns.append(conn.start())
        alice, bob, mallory = conns
        assert next_event(alice, ("connected", "connect_failed"))[0]["type"] == "connected"
        assert next_event(bob, ("connected", "connect_failed"))[0]["type"] == "connected"
        failed, _ = next_event(mallory, ("connect_failed", "connected"))
        assert failed["type"] == "connect_failed" and "wrong password" in failed["reason"]
        msg_id = alice.say("secret and private")
        while next_event(alice, ("ack",))[0].get("id") != msg_id:
            pass
        while next_event(bob, ("message",))[0].get("text") != "secret and private":
            pass
        wait_for(lambda: len(running.room.members) == 2, what="two members")
    finally:
        for conn in conns:
            conn.close(timeout=2.0)


def test_make_connection_announces_a_new_pin(tmp_path, monkeypatch, make_server):
    """``client.py --tls`` shows the fingerprint the first time it meets a server."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    certfile, keyfile = tls.self_signed(str(tmp_path), addresses=[])
    running = make_server(rate=0, tls_context=tls.server_context(certfile, keyfile))
    args = argparse.Namespace(tls=True, cafile=None, password=None, no_reconnect=True,
                              fingerprint=None)
    conn = options.make_connection(args, running.host, running.port, "alice").start()
    try:
        note, _ = next_event(conn, ("system",))
        expected = (f"* new server certificate for 127.0.0.1:{running.port}, fingerprint "
                    f"{tls.file_fingerprint(certfile)}, pinned")
        assert note["text"] == expected
        assert next_event(conn, ("connected", "connect_failed"))[0]["type"] == "connected"
    finally:
        conn.close(timeout=2.0)
