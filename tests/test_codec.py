"""lanchat/codec.py answers exactly as the stdlib reference it replaced on the hot path.

* Decoding: for any body (random bytes, JSON with any fields, values, whitespace,
  duplicate keys, escapes, surrogates, broken UTF-8), ``decode_client_message`` returns
  the same message (same field values and types) or raises the same ``MessageError``
  (code and sentence) as ``parse_client_message(protocol.decode_message(body))``.
* Encoding: for any JSON value in a dict, ``encode_event`` writes the bytes
  ``protocol.ENCODE`` writes, or fails as it does (a lone surrogate).
* Through ``FrameDecoder`` fed whole, byte by byte and with trailing bytes, and through
  a real server: a fast-path line and a line the reference decides arrive the same.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, example, given, settings, strategies as st

import protocol
from lanchat import codec
from protocol import ENCODE, FrameDecoder, MessageError
from test_protocol_encoders import utf8  # the same "bytes or the error" view of an encoder

many = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def outcome(decode, body: bytes):
    """What decoding ``body`` gives: the message (with its values' types), or the error."""
    try:
        message = decode(body)
    except MessageError as exc:
        return "error", exc.code, exc.message
    return "ok", type(message).__name__, repr(message), \
        [(field, type(getattr(message, field))) for field in message.__struct_fields__]


def reference(body: bytes):
    return codec.parse_client_message(protocol.decode_message(body))


def assert_same(body: bytes):
    assert outcome(codec.decode_client_message, body) == outcome(reference, body)


# Texts with what JSON and UTF-8 make special: controls, quotes, escapes, surrogates.
awkward = st.text(alphabet=st.one_of(
    st.characters(), st.characters(categories=["Cs"]),
    st.sampled_from('"\\/\x00\x1f\x7f\u2028\u2029\ufeff😀é #')), max_size=70)
scalars = (st.none() | st.booleans() | st.integers() | st.integers(-2 ** 70, 2 ** 70)
           | st.floats() | awkward)
json_values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(awkward, inner, max_size=3),
    max_leaves=10)
say_fields = st.sampled_from(["type", "text", "id", "room"])
say_values = st.one_of(awkward, st.sampled_from(["say", "ping", "#lobby", "#a", "", "x" * 64,
                                                  "x" * 65, "é" * 64, "😀" * 65]), json_values)


@st.composite
def say_like_bodies(draw) -> bytes:
    """A JSON object near a ``say``: its fields (some repeated), maybe a stranger, any
    values, written with or without ASCII escapes and with whitespace around it."""
    pairs = [("type", draw(st.sampled_from(["say", "say", "say", "ping", "hello", "typing"])))]
    if draw(st.integers(0, 9)) == 0:
        pairs = []  # no type
    if draw(st.booleans()):
        pairs.append(("text", draw(awkward)))
    pairs += draw(st.lists(st.tuples(say_fields | awkward, say_values), max_size=4))
    draw(st.randoms()).shuffle(pairs)
    ascii_only = draw(st.booleans())
    inside = ",".join(json.dumps(k, ensure_ascii=ascii_only) + ":" + json.dumps(v, ensure_ascii=ascii_only)
                      for k, v in pairs)
    space = st.sampled_from(["", " ", "\n", "\t\r\n ", "\x0c", "\ufeff"])
    return (draw(space) + "{" + inside + "}" + draw(space)).encode("utf-8", "surrogatepass")


@st.composite
def mutated(draw) -> bytes:
    """A valid say body with one byte changed, removed or added."""
    body = bytearray(protocol.encode_message({"type": "say", "text": draw(awkward.filter(
        lambda t: not any(0xD800 <= ord(c) <= 0xDFFF for c in t))), "id": "i1", "room": "#r"}))
    at = draw(st.integers(0, len(body) - 1))
    byte = draw(st.integers(0, 255))
    how = draw(st.sampled_from(["set", "del", "insert"]))
    if how == "set":
        body[at] = byte
    elif how == "del":
        del body[at]
    else:
        body.insert(at, byte)
    return bytes(body)


@many
@given(st.one_of(say_like_bodies(), mutated(), st.binary(max_size=120),
                 st.text(alphabet='{}[]":,0123456789.eE+-truefalsnyaidxom \\u', max_size=40)
                 .map(str.encode)))
@example(b'{"type":"say","text":"a","text":"b"}')
@example(b'{"text":"hi"}')
@example(b'{"type":null,"text":"hi"}')
@example(b'{"type":"say","type":"ping","text":"x"}')
@example(b'{"type":"ping","type":"say","text":"x"}')
@example(b'{"type":"say","text":"\\ud800"}')
@example(b'{"type":"say","text":"\\udc00 \\ud83d\\ude00"}')
@example(b'{"type":"say","text":"\xed\xa0\x80"}')
@example(b'{"type":"say","text":"x","z":"\xff"}')
@example(b'{"type":"say","text":"x","z":' + b"[" * 990 + b"]" * 990 + b"}")
@example(b'{"type":"say","text":"x","z":NaN,"w":1e99999,"v":123456789012345678901234567890}')
@example(b'{"type":"say","text":"x","room":null,"id":null}')
@example(b'{"type":"say","text":"x","room":""}')
@example(b'{"type":"s\\u0061y","t\\u0065xt":"x"}')
@example(b'\xef\xbb\xbf{"type":"say","text":"x"}')
@example(b' \t\r\n{"type":"say","text":"x"}\n')
@example(b'{"type":"say","text":true}')
@example(b'["say"]')
def test_a_body_decodes_as_the_stdlib_reference_decodes_it(body):
    assert_same(body)


def test_a_plain_say_takes_the_fast_path_and_others_the_reference(monkeypatch):
    # The fast path answers a say with its own fields; anything else reaches the
    # reference (which fails here, to show which path answered).
    def refuse(obj):
        raise AssertionError("the reference was asked")
    monkeypatch.setattr(codec, "parse_client_message", refuse)
    assert codec.decode_client_message(b'{"type":"say","text":"hi","id":"1","room":"#r"}') == \
        codec.Say("hi", "1", "#r")
    for body in (b'{"type":"say","text":"hi","extra":1}', b'{"type":"ping"}',
                 b'{"type":"say","text":"hi","room":null}'):
        with pytest.raises(AssertionError, match="reference"):
            codec.decode_client_message(body)


keys = awkward | st.integers() | st.booleans() | st.none() | st.floats()


@many
@given(st.dictionaries(awkward | keys, json_values | st.tuples(scalars, scalars), max_size=8))
@example({"type": "message", "seq": 1, "ts": 1764500000.25, "from": "a", "text": "b", "kind": "chat"})
@example({"t": "\x00\x1f\x7f/\\\"\u2028\u2029\ud800", "f": [1e16, 1e-5, 1e-4, -0.0, 9999999999999998.0]})
@example({"f": float("nan"), "g": float("inf"), "n": 2 ** 64, "k": {True: 1, None: 2, 1.5: 3}})
def test_an_event_encodes_as_the_stdlib_encoder_writes_it(event):
    assert utf8(codec.encode_event, event) == utf8(ENCODE, event)


def says(n: int) -> list:
    return [{"type": "say", "text": f"line {i} é😀", "id": f"i{i}"} for i in range(n)] + \
        [{"type": "say", "text": "odd", "extra": [1, {"deep": None}]}]


def decoded(chunks: list) -> list:
    decoder = FrameDecoder()
    out = []
    for chunk in chunks:
        decoder.feed(chunk)
        out += [codec.decode_client_message(body) for body in decoder.events()]
    return out


def test_frames_decode_the_same_whole_byte_by_byte_and_with_trailing_bytes():
    stream = b"".join(protocol.message_frame(m) for m in says(5))
    expected = [codec.Say(f"line {i} é😀", f"i{i}") for i in range(5)] + [codec.Say("odd")]
    assert decoded([stream]) == expected
    assert decoded([stream[i:i + 1] for i in range(len(stream))]) == expected
    trailing = protocol.message_frame({"type": "say", "text": "later"})
    assert decoded([stream + trailing[:-1]]) == expected  # the last frame stays buffered
    assert decoded([stream + trailing[:-1], trailing[-1:]]) == expected + [codec.Say("later")]


def test_a_real_server_answers_both_paths_alike(chat_server, make_client):
    alice, bob = make_client(chat_server.address), make_client(chat_server.address)
    alice.hello("alice")
    bob.hello("bob")
    alice.expect("join", name="bob")
    # fast path; the reference (an unknown field, a null room); errors as before
    bob.send_raw(protocol.encode_frame(b'{"type":"say","text":"fast \\ud83d\\ude00","id":"f"}'))
    bob.send_raw(protocol.encode_frame(b'{"type":"say","text":"slow","room":null,"x":[1]}'))
    bob.send_raw(protocol.encode_frame(b'{"type":"say","text":"\\ud800","id":"s"}'))
    bob.send_raw(protocol.encode_frame(b'{"type":"say","text":"x","z":"\xff"}'))
    assert alice.expect("message")["text"] == "fast 😀"
    assert alice.expect("message", room="#lobby")["text"] == "slow"
    bob.expect("ack", id="f")
    assert bob.expect("error", code="bad_json")["message"] == \
        "body has a lone surrogate escape (not text)"
    assert bob.expect("error", code="bad_utf8")["message"].startswith("body is not valid UTF-8")
