"""The window's own sentences: no terminal flags, full sentences, right singulars."""

from __future__ import annotations

import re

import pytest

import protocol
from lanchat.client.connection import explain_error
from ui import windowtext

SERVER_PASSWORD_TEXT = ("this server needs a password: connect with client.py --password "
                        "(or set CHAT_PASSWORD)")


def _is_window_sentence(text):
    assert (text[0].isupper() or text[0].isdigit()) and text.rstrip()[-1] in ".!?", text
    assert not re.search(r"(^|\s)--[a-z]", text), f"names a flag: {text}"
    assert "client.py" not in text and "CHAT_PASSWORD" not in text


def test_missing_password_reads_as_the_window_asks_for_it():
    text = windowtext.refusal(protocol.AUTH_FAILED, SERVER_PASSWORD_TEXT, password_sent=False)
    assert text == ("This server needs a password. Type it in the Password field and "
                    "connect again.")


def test_wrong_password_is_not_the_missing_one():
    text = windowtext.refusal(protocol.AUTH_FAILED, "wrong password (check client.py "
                              "--password or CHAT_PASSWORD)", password_sent=True)
    _is_window_sentence(text)
    assert "did not accept" in text and "Password field" in text


@pytest.mark.parametrize("code", [protocol.BAD_NAME, protocol.NAME_TAKEN, protocol.SERVER_FULL,
                                  protocol.SHUTTING_DOWN])
def test_refusals_have_window_sentences(code):
    text = windowtext.refusal(code, "server words: with --flags")
    _is_window_sentence(text)
    assert "server words" not in text


def test_plain_server_asking_for_tls_points_at_the_checkbox():
    text = windowtext.refusal(protocol.BAD_HEADER, "this server uses TLS: connect with TLS "
                              "(python client.py --tls)")
    _is_window_sentence(text)
    assert "Use TLS" in text


@pytest.mark.parametrize("reason", [
    "TLS handshake with 10.0.0.1:5050 failed (WRONG_VERSION_NUMBER). Does the server use "
    "TLS (try with or without --tls)?",
    "10.0.0.1:5050 answered without TLS: this chat server does not use TLS. Connect without "
    "--tls, or ask whoever runs it to start it with --tls-self-signed or --tls-cert.",
])
def test_connection_reasons_lose_their_flags(reason):
    text = windowtext.refusal(None, reason)
    _is_window_sentence(text)
    assert "Use TLS" in text


def test_connection_refused_stays_as_it_is():
    reason = explain_error(ConnectionRefusedError(), "127.0.0.1", 9)
    assert windowtext.refusal(None, reason) == reason


def test_chat_errors_are_sentences_without_numbers_to_pluralise():
    text = windowtext.chat_error({"type": "error", "code": protocol.RATE_LIMITED,
                                  "message": "you are sending too fast; the limit is 1 "
                                             "messages per second"})
    _is_window_sentence(text)
    assert "1 messages" not in text


def test_unknown_chat_error_becomes_a_sentence():
    assert windowtext.chat_error({"code": "x", "message": "something odd"}) == "Something odd."
