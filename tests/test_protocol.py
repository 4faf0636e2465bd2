"""Unit tests of protocol.py: framing, bodies, names, text (no sockets).

In the style of h11's tests: every decoder case is fed three ways by ``tr`` (the
whole input at once, one byte at a time, and followed by bytes of a next frame that
must stay buffered), and each test name says the behaviour it pins down.
"""

import json

import pytest

import protocol
from lanchat import codec
from lanchat.text import clean_text, name_key, name_problem, numbered_name
from protocol import (FrameDecoder, FrameError, MessageError, Oversized, ProtocolError,
                      encode_frame)

MiB = 1024 * 1024


def header(text: str) -> bytes:
    """A 64-byte header holding exactly ``text`` (padded with spaces on the right)."""
    raw = text.encode("utf-8")
    assert len(raw) <= 64
    return raw + b" " * (64 - len(raw))


def drain(decoder: FrameDecoder) -> list:
    return list(decoder.events())


def feed_whole(data: bytes, **kwargs):
    decoder = FrameDecoder(**kwargs)
    decoder.feed(data)
    return drain(decoder), decoder


def feed_bytewise(data: bytes, **kwargs):
    decoder = FrameDecoder(**kwargs)
    out = []
    for i in range(len(data)):
        decoder.feed(data[i:i + 1])
        out += drain(decoder)
    return out, decoder


def tr(data: bytes, expected: list, **kwargs) -> None:
    """Check ``data`` decodes to ``expected`` fed whole, bytewise and with a tail."""
    for feed in (feed_whole, feed_bytewise):
        got, decoder = feed(data, **kwargs)
        assert got == expected, feed.__name__
        assert not decoder.in_frame
    # Trailing bytes of the next frame (half a header; a header and half a body)
    # are kept, not parsed early and not lost.
    next_frame = encode_frame(b"abcde")
    for cut in (30, 66):
        decoder = FrameDecoder(**kwargs)
        decoder.feed(data + next_frame[:cut])
        assert drain(decoder) == expected
        assert decoder.in_frame
        decoder.feed(next_frame[cut:])
        assert drain(decoder) == [b"abcde"]
        assert not decoder.in_frame


def tr_error(data: bytes, code: str, **kwargs) -> FrameError:
    """``data`` must raise FrameError(code) fed whole and fed one byte at a time."""
    decoder = FrameDecoder(**kwargs)
    decoder.feed(data)
    with pytest.raises(FrameError) as whole:
        drain(decoder)
    assert whole.value.code == code
    decoder = FrameDecoder(**kwargs)
    with pytest.raises(FrameError) as bytewise:
        for i in range(len(data)):
            decoder.feed(data[i:i + 1])
            drain(decoder)
    assert bytewise.value.code == code
    return whole.value


# ------------------------------------------------------------------ encode_frame

def test_encode_frame_header_is_length_padded_to_64_bytes():
    frame = encode_frame(b"hello")
    assert frame == b"5" + b" " * 63 + b"hello"
    assert len(frame) == 64 + 5


def test_encode_frame_counts_utf8_bytes_not_characters():
    frame = encode_frame("héllo ✓")
    body = "héllo ✓".encode("utf-8")
    assert frame[:64].strip() == str(len(body)).encode()
    assert len(body) == 10 and frame[64:] == body


def test_encode_frame_matches_the_tutorial_header():
    message = "hi there".encode("utf-8")
    send_length = str(len(message)).encode("utf-8")
    send_length += b" " * (64 - len(send_length))
    assert encode_frame(message) == send_length + message


def test_keepalive_is_a_zero_length_frame():
    assert protocol.KEEPALIVE == b"0" + b" " * 63


# ------------------------------------------------------------------ decoding frames

def test_one_frame():
    tr(encode_frame(b"hello"), [b"hello"])


def test_many_frames_in_one_chunk():
    bodies = [b"a", b"bb", "ü".encode(), b"x" * 1000, b"{}"]
    tr(b"".join(encode_frame(b) for b in bodies), bodies)


def test_not_enough_for_header():
    decoder = FrameDecoder()
    decoder.feed(b"5" + b" " * 62)  # 63 of 64 header bytes
    assert drain(decoder) == []
    assert decoder.in_frame
    decoder.feed(b" ")
    assert drain(decoder) == []
    decoder.feed(b"hell")
    assert drain(decoder) == []
    decoder.feed(b"o")
    assert drain(decoder) == [b"hello"]
    assert not decoder.in_frame


def test_nothing_fed_is_not_in_a_frame():
    decoder = FrameDecoder()
    assert drain(decoder) == [] and not decoder.in_frame


def test_keepalives_are_ignored():
    tr(protocol.KEEPALIVE, [])
    tr(protocol.KEEPALIVE * 3 + encode_frame(b"x") + protocol.KEEPALIVE, [b"x"])


def test_header_may_have_leading_spaces_and_leading_zeros():
    tr(b" " * 10 + b"3".ljust(54) + b"abc", [b"abc"])
    tr(header("0003") + b"abc", [b"abc"])
    tr(header("000"), [])  # still a keepalive


def test_header_of_64_digits_is_accepted_when_small():
    tr(b"0" * 63 + b"2" + b"hi", [b"hi"])


def test_body_may_contain_anything_including_header_like_bytes():
    body = header("12") + b"\x00\xff\n"
    tr(encode_frame(body), [body])


@pytest.mark.parametrize("text", [
    "+10", "1_0", "-1", " 1 0", "\t10", "10\t", "1\n", "0x10", "1e3", "1.0", "١",
    "٣", "１０", "10\x00", "abc", "",
])
def test_reject_bad_length(text):
    error = tr_error(header(text) + b"x" * 20, protocol.BAD_HEADER)
    assert isinstance(error, ProtocolError)


@pytest.mark.parametrize("start", [b"x", b"hi\n", b"GET / HTTP/1.1\r\n", b"12 3", b" +", b"\t"])
def test_reject_a_bad_header_as_soon_as_its_bytes_show_it(start):
    # A person typing into telnet/nc gets the error now, not after 64 bytes or a timeout.
    decoder = FrameDecoder()
    decoder.feed(start)
    with pytest.raises(FrameError) as info:
        drain(decoder)
    assert info.value.code == protocol.BAD_HEADER


@pytest.mark.parametrize("start", [b"1", b"  ", b" 12", b"12  ", b"0" * 63, b" " * 63])
def test_a_partial_header_that_may_still_be_valid_waits(start):
    decoder = FrameDecoder()
    decoder.feed(start)
    assert drain(decoder) == [] and decoder.in_frame


def test_reject_header_padded_with_nuls():
    tr_error(b"5" + b"\x00" * 63 + b"hello", protocol.BAD_HEADER)


def test_reject_bad_header_after_good_frames():
    decoder = FrameDecoder()
    decoder.feed(encode_frame(b"ok") + header("nope"))
    events = decoder.events()
    assert next(events) == b"ok"
    with pytest.raises(FrameError) as info:
        next(events)
    assert info.value.code == protocol.BAD_HEADER


def test_decoder_stays_broken_after_a_frame_error():
    decoder = FrameDecoder()
    decoder.feed(header("x"))
    for _ in range(2):
        with pytest.raises(FrameError):
            drain(decoder)
    decoder.feed(encode_frame(b"later"))
    with pytest.raises(FrameError):
        drain(decoder)


def test_reject_declared_size_over_1_mib_before_the_body_arrives():
    error = tr_error(header(str(MiB + 1)), protocol.TOO_LARGE)
    assert isinstance(error, FrameError)
    assert str(MiB + 1) in error.message


def test_declared_size_of_exactly_1_mib_is_skipped_not_fatal():
    decoder = FrameDecoder()
    decoder.feed(header(str(MiB)) + b"z" * MiB + encode_frame(b"next"))
    assert drain(decoder) == [Oversized(MiB), b"next"]
    assert not decoder.in_frame


def test_oversized_body_is_skipped_and_reported_and_the_stream_continues():
    data = encode_frame(b"a") + encode_frame(b"y" * 11) + encode_frame(b"b")
    tr(data, [b"a", Oversized(11), b"b"], max_body=10)


def test_body_at_the_limit_is_delivered():
    tr(encode_frame(b"y" * 10), [b"y" * 10], max_body=10)


def test_oversized_is_reported_only_once_the_body_is_skipped():
    decoder = FrameDecoder(max_body=10)
    decoder.feed(header("100") + b"y" * 99)
    assert drain(decoder) == []
    assert decoder.in_frame
    decoder.feed(b"y")
    assert drain(decoder) == [Oversized(100)]
    assert not decoder.in_frame


def test_oversized_body_is_not_buffered():
    decoder = FrameDecoder(max_body=10)
    decoder.feed(header(str(500_000)))
    drain(decoder)
    for _ in range(10):
        decoder.feed(b"q" * 40_000)
        assert drain(decoder) == []
    assert len(decoder._buf) == 0  # discarded as it came, not held


def test_hard_max_is_never_below_max_body():
    decoder = FrameDecoder(max_body=2 * MiB)
    decoder.feed(header(str(MiB + 5)) + b"k" * (MiB + 5))
    assert drain(decoder) == [b"k" * (MiB + 5)]


def test_frame_errors_are_protocol_errors_but_not_message_errors():
    assert issubclass(FrameError, ProtocolError)
    assert issubclass(MessageError, ProtocolError)
    assert not issubclass(FrameError, MessageError)


def test_error_codes_are_the_contract_codes():
    assert protocol.ERROR_CODES == {
        "bad_header", "too_large", "bad_utf8", "bad_json", "unknown_type", "not_welcome",
        "bad_name", "name_taken", "auth_failed", "server_full", "empty_text",
        "text_too_long", "rate_limited", "no_such_user", "unknown_command",
        "send_queue_full", "shutting_down",
        # v2 (section 6), those the server speaks so far:
        "bad_room", "no_such_room", "not_op", "muted", "banned", "slow_mode", "bad_argument", "not_in_room",
        "cannot_part_lobby", "unavailable"}
    assert protocol.CLOSING_CODES == {"bad_header", "auth_failed", "server_full",
                                      "send_queue_full"}


# ------------------------------------------------------------------ message bodies

def test_encode_message_is_compact_utf8_json():
    body = protocol.encode_message({"type": "say", "text": "héllo"})
    assert body == '{"type":"say","text":"héllo"}'.encode("utf-8")
    assert protocol.message_frame({"type": "x"}) == encode_frame(b'{"type":"x"}')


def test_decode_message_returns_the_object():
    assert protocol.decode_message(b'{"type":"say","text":"hi","extra":[1]}') == {
        "type": "say", "text": "hi", "extra": [1]}


@pytest.mark.parametrize("body,code", [
    (b"\xff\xfe", "bad_utf8"),
    (b'{"type":"say","text":"\xc3"}', "bad_utf8"),
    (b"\xed\xa0\x80", "bad_utf8"),            # a surrogate encoded as UTF-8
    (b"not json", "bad_json"),
    (b"{", "bad_json"),
    (b"", "bad_json"),
    (b'{"type":"say"} trailing', "bad_json"),
    (b"[1, 2]", "bad_json"),
    (b'"hello"', "bad_json"),
    (b"42", "bad_json"),
    (b"null", "bad_json"),
    (b"{}", "bad_json"),
    (b'{"text":"hi"}', "bad_json"),
    (b'{"type":null}', "bad_json"),
    (b'{"type":1}', "bad_json"),
    (b'{"type":["say"]}', "bad_json"),
    (b'{"type":"say","text":"a\\ud800b"}', "bad_json"),   # lone surrogate escape
    (b'{"type":"say","\\udfff":1}', "bad_json"),
    (b"[" * 100_000 + b"]" * 100_000, "bad_json"),        # deep nesting
])
def test_decode_message_rejects(body, code):
    with pytest.raises(MessageError) as info:
        protocol.decode_message(body)
    assert info.value.code == code


def test_decode_message_accepts_escaped_surrogate_pairs():
    # ensure_ascii clients escape an emoji as a pair: that is text.
    obj = protocol.decode_message(json.dumps({"type": "say", "text": "hi 😀"}).encode())
    assert obj["text"] == "hi 😀"


def test_decode_text_rejects_bad_utf8():
    assert protocol.decode_text("ok ✓".encode()) == "ok ✓"
    with pytest.raises(MessageError) as info:
        protocol.decode_text(b"ok \x80")
    assert info.value.code == "bad_utf8"


def test_looks_like_hello():
    assert protocol.looks_like_hello(b'{"type":"hello","name":"a"}')
    assert protocol.looks_like_hello(b'{"type":"hello"}')
    for body in (b"hello", b'{"type":"say"}', b"[]", b"\xff", b'"hello"', b"{"):
        assert not protocol.looks_like_hello(body)


def parse(**obj):
    return codec.parse_client_message(obj)


def test_parse_hello_with_every_field():
    assert parse(type="hello", name="al", password="pw", since=3, resume="tok",
                 client="c/1", future="ignored") == codec.Hello("al", "pw", 3, "tok", "c/1")
    assert parse(type="hello", name="al") == codec.Hello("al")


def test_parse_say_ping_bye():
    assert parse(type="say", text="hi") == codec.Say("hi", None)
    assert parse(type="say", text="hi", id="x" * 64) == codec.Say("hi", "x" * 64)
    assert parse(type="ping") == codec.Ping(None)
    assert parse(type="ping", id="p1") == codec.Ping("p1")
    assert parse(type="ping", id=7) == codec.Ping(7)
    assert parse(type="bye") == codec.Bye(None)
    assert parse(type="bye", reason="off") == codec.Bye("off")


@pytest.mark.parametrize("obj", [
    {"type": "hello"},
    {"type": "hello", "name": 5},
    {"type": "hello", "name": ["al"]},
    {"type": "hello", "name": "al", "since": "3"},
    {"type": "hello", "name": "al", "since": True},
    {"type": "hello", "name": "al", "since": 1.5},
    {"type": "hello", "name": "al", "password": 1234},
    {"type": "hello", "name": "al", "resume": {}},
    {"type": "hello", "name": "al", "client": False},
    {"type": "say"},
    {"type": "say", "text": None},
    {"type": "say", "text": 5},
    {"type": "say", "text": True},
    {"type": "say", "text": "hi", "id": 5},
    {"type": "say", "text": "hi", "id": "x" * 65},
    {"type": "ping", "id": [1]},
    {"type": "ping", "id": {"a": 1}},
    {"type": "bye", "reason": 3},
])
def test_parse_rejects_missing_or_mistyped_fields(obj):
    with pytest.raises(MessageError) as info:
        codec.parse_client_message(obj)
    assert info.value.code == "bad_json"


@pytest.mark.parametrize("kind", ["welcome", "message", "SAY", "hello ", "", "x" * 1000])
def test_parse_rejects_unknown_type(kind):
    with pytest.raises(MessageError) as info:
        codec.parse_client_message({"type": kind})
    assert info.value.code == "unknown_type"
    assert len(info.value.message) < 100  # the echo of the type is cut short


def test_error_message_has_id_only_when_given():
    assert protocol.error_message("bad_json", "no") == {
        "type": "error", "code": "bad_json", "message": "no"}
    assert protocol.error_message("empty_text", "e", "i1") == {
        "type": "error", "code": "empty_text", "message": "e", "id": "i1"}


# ------------------------------------------------------------------ names

@pytest.mark.parametrize("name", [
    "a", "alice", "x" * 24, "Zoë", "李雷", "bob_2", "a-b.c", "a/b", "a#b", "a*", "a@b",
    "😀", "o'neil",
])
def test_valid_names(name):
    assert name_problem(name) is None


@pytest.mark.parametrize("name", [
    "", "x" * 25, "two words", " lead", "trail ", "tab\there", "new\nline", "nul\x00",
    "esc\x1b[2J", "bell\x07", "del\x7f", "c1\x85", "nbsp\u00a0x", "zw\u200bsp",
    "rtl\u202eoverride", "ls\u2028", "ideo\u3000sp", "/slash", "#hash", "*star", "@at",
])
def test_invalid_names(name):
    assert isinstance(name_problem(name), str)


def test_name_length_counts_code_points():
    assert name_problem("é" * 24) is None   # 48 UTF-8 bytes, 24 characters
    assert name_problem("é" * 25) is not None


def test_names_are_unique_ignoring_case():
    assert name_key("Alice") == name_key("ALICE") == name_key("alice")
    assert name_key("Straße") == name_key("STRASSE")
    assert name_key("bob") != name_key("bob_2")


def test_numbered_name():
    assert numbered_name("alice", 2) == "alice_2"
    assert numbered_name("alice", 13) == "alice_13"


def test_numbered_name_shortens_the_base_to_fit_24():
    base = "abcdefghijklmnopqrstuvwx"  # 24
    assert numbered_name(base, 2) == base[:22] + "_2"
    assert numbered_name(base, 10) == base[:21] + "_10"
    assert numbered_name(base[:23], 2) == base[:22] + "_2"
    for n in (2, 9, 10, 99, 100, 12345):
        numbered = numbered_name(base, n)
        assert len(numbered) == 24 and name_problem(numbered) is None


# ------------------------------------------------------------------ clean_text

@pytest.mark.parametrize("raw,clean", [
    ("hello", "hello"),
    ("tab\tand\nnewline", "tab\tand\nnewline"),
    ("nul\x00byte", "nulbyte"),
    ("\x1b[2Jclear", "[2Jclear"),
    ("bell\x07", "bell"),
    ("del\x7f", "del"),
    ("c1\x9bcsi", "c1csi"),
    ("cr\rlf", "crlf"),
    ("rtl\u202eevil", "rtlevil"),
    ("zero\u200bwidth", "zerowidth"),
    ("family 👨\u200d👩\u200d👧", "family 👨\u200d👩\u200d👧"),  # ZWJ keeps emoji sequences
    ("Zoë 李雷 😀", "Zoë 李雷 😀"),
    ("", ""),
])
def test_clean_text(raw, clean):
    assert clean_text(raw) == clean
