"""lanchat/dialects: detection from the first bytes, the ten-byte and line readers, and
what each dialect writes. Sans-I/O: bytes in, decisions and bodies out.

Readers are fed three ways (h11's ``tr``): whole, one byte at a time, and with
trailing bytes that must stay buffered; hypothesis checks that every split of the
same bytes decides and decodes the same, and that nothing but ``ProtocolError`` escapes.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import protocol
from lanchat.dialects import detect, writers
from lanchat.dialects.detect import FRAMED, HTTP, LINE, TEN_BYTE, TLS, Detector, decide
from lanchat.dialects.readers import LineDecoder, TenByteDecoder

HELLO = protocol.message_frame({"type": "hello", "name": "alice"})


def tutorial_64(text: str) -> bytes:
    """The 64-byte tutorial client's two sends, as one byte string."""
    message = text.encode()
    send_length = str(len(message)).encode()
    return send_length + b" " * (64 - len(send_length)) + message


def tutorial_10(text: str, spec: str = "<10") -> bytes:
    """The select-based tutorials' frame: f"{len(body):<10}" (the input client has
    f"{len: < 10}", a sign space first)."""
    body = text.encode()
    return f"{len(body):{spec}}".encode() + body


def detect_split(data: bytes, cuts) -> tuple:
    """Feed ``data`` cut at ``cuts``; (kind, buffered) once decided, or at the end."""
    detector = Detector()
    start = 0
    for cut in sorted(set(cuts)) + [len(data)]:
        if detector.feed(data[start:cut]) is not None:
            break
        start = cut
    return detector.kind, detector.buffered


# ------------------------------------------------------------------ detection

@pytest.mark.parametrize("first, kind", [
    (HELLO, FRAMED),
    (tutorial_64("Hello World!"), FRAMED),
    (tutorial_64("12345"), FRAMED),              # a body of digits is still a body
    (tutorial_10("msg_screen"), TEN_BYTE),
    (tutorial_10("alice", " < 10"), TEN_BYTE),   # the input client's header: " 5" + 8 spaces
    (tutorial_10("bob", ">10"), TEN_BYTE),       # right-aligned digits
    (b"hello everyone\n", LINE),
    (b"hi\r\n", LINE),
    (b"\n", LINE),
    (b"42 apples\n", LINE),                      # digits, then a word before byte 10
    (b"/who\n", LINE),
    (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", HTTP),
    (b"POST /chat HTTP/1.0\n", HTTP),
    (b"GET me a coffee\n", LINE),                # upper case, not a request line
    (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", TLS),
])
def test_first_bytes_decide_the_kind(first, kind):
    assert decide(first) == kind
    assert detect_split(first, range(len(first)))[0] == kind  # byte by byte


@pytest.mark.parametrize("prefix", [b"", b" ", b"12", b"12   ", b"  7  ", b" " * 63,
                                    b"1" + b" " * 62, b"GET / HTTP/1.1", b"HELLO"])
def test_not_enough_to_decide(prefix):
    assert decide(prefix) is None


def test_64_spaces_with_no_digit_are_a_line():
    assert decide(b" " * 64) == LINE


def test_the_decision_keeps_every_byte_for_the_reader():
    data = tutorial_10("alice") + tutorial_10("hi there")
    kind, buffered = detect_split(data, [3, 11])
    assert (kind, buffered) == (TEN_BYTE, data[:11])


def test_an_undecided_stream_that_closes_is_a_last_line():
    detector = Detector()
    detector.feed(b"42")
    assert detector.kind is None and detector.closed() == LINE
    assert Detector().closed() is None  # nothing at all: no kind


first_bytes = st.one_of(
    st.binary(max_size=80),
    st.builds(lambda n, a, b: (b" " * a + str(n).encode() + b" " * b)[:80],
              st.integers(0, 10 ** 12), st.integers(0, 12), st.integers(0, 70)),
    st.builds(tutorial_64, st.text(max_size=20)),
    st.builds(tutorial_10, st.text(max_size=20)),
    st.builds(lambda m, p: m + b" " + p + b" HTTP/1.1\r\n", st.sampled_from([b"GET", b"HEAD"]),
              st.binary(max_size=10)),
)


@settings(max_examples=500)
@given(first_bytes, st.lists(st.integers(0, 80), max_size=6), st.binary(max_size=20))
def test_every_split_decides_the_same(data, cuts, more):
    whole = decide(data)
    kind, buffered = detect_split(data, [c for c in cuts if c <= len(data)])
    assert kind == whole
    if whole is not None:  # once decided, more bytes never change it
        assert decide(data + more) == whole
        assert data.startswith(buffered)


# ------------------------------------------------------------------ ten-byte reader

def ten_byte_bodies(data: bytes, how: str, max_body: int = 100) -> list:
    decoder = TenByteDecoder(max_body)
    bodies = []
    chunks = [data] if how == "whole" else [data[i:i + 1] for i in range(len(data))]
    for chunk in chunks:
        decoder.feed(chunk)
        bodies += list(decoder.events())
    return bodies


@pytest.mark.parametrize("how", ["whole", "byte by byte"])
def test_ten_byte_frames_decode(how):
    data = tutorial_10("alice") + tutorial_10("hi there", " < 10") + tutorial_10("é")
    assert ten_byte_bodies(data, how) == [b"alice", b"hi there", "é".encode()]


def test_ten_byte_trailing_bytes_stay_buffered():
    decoder = TenByteDecoder()
    decoder.feed(tutorial_10("alice") + b"8    ")
    assert list(decoder.events()) == [b"alice"] and decoder.in_frame
    decoder.feed(b"     hi there")
    assert list(decoder.events()) == [b"hi there"] and not decoder.in_frame


def test_ten_byte_header_with_letters_is_a_frame_error():
    decoder = TenByteDecoder()
    decoder.feed(b"5x        hello")
    with pytest.raises(protocol.FrameError) as caught:
        list(decoder.events())
    assert caught.value.code == protocol.BAD_HEADER and "10 bytes" in caught.value.message


def test_ten_byte_body_over_the_limit_is_skipped_and_said():
    assert ten_byte_bodies(tutorial_10("x" * 150) + tutorial_10("ok"), "whole") == \
        [protocol.Oversized(150), b"ok"]


@given(st.binary(max_size=60), st.integers(1, 7))
def test_ten_byte_random_bytes_raise_only_protocol_errors(data, step):
    decoder = TenByteDecoder(20, hard_max=40)
    try:
        for i in range(0, len(data), step):
            decoder.feed(data[i:i + step])
            list(decoder.events())
    except protocol.ProtocolError:
        pass


# ------------------------------------------------------------------ line reader

def lines_of(data: bytes, how: str, max_line: int = 20) -> list:
    decoder = LineDecoder(max_line)
    out = []
    chunks = [data] if how == "whole" else [data[i:i + 1] for i in range(len(data))]
    for chunk in chunks:
        decoder.feed(chunk)
        out += list(decoder.events())
    return out


@pytest.mark.parametrize("how", ["whole", "byte by byte"])
def test_lines_end_in_newline_or_crlf(how):
    assert lines_of(b"hi\nthere\r\n\nlast\r\n", how) == [b"hi", b"there", b"", b"last"]


@pytest.mark.parametrize("how", ["whole", "byte by byte"])
def test_a_line_over_the_limit_is_skipped_to_its_newline(how):
    assert lines_of(b"x" * 50 + b"\nok\n", how) == [protocol.Oversized(50), b"ok"]


def test_a_line_that_never_ends_is_never_buffered_whole():
    decoder = LineDecoder(20)
    for _ in range(1000):
        decoder.feed(b"y" * 100)
        assert list(decoder.events()) == []
    assert decoder.in_frame and len(decoder._buf) == 0  # skipped, not kept


def test_trailing_bytes_stay_buffered_and_end_gives_the_last_line():
    decoder = LineDecoder()
    decoder.feed(b"one\ntw")
    assert list(decoder.events()) == [b"one"] and decoder.in_frame
    decoder.feed(b"o")
    assert list(decoder.events()) == []
    assert decoder.end() == b"two"
    assert decoder.end() is None


@settings(max_examples=300)
@given(st.binary(max_size=120), st.lists(st.integers(0, 120), max_size=8))
def test_every_split_gives_the_same_lines(data, cuts):
    whole = lines_of(data, "whole")
    decoder = LineDecoder(20)
    got, start = [], 0
    for cut in sorted(c for c in set(cuts) if c <= len(data)) + [len(data)]:
        decoder.feed(data[start:cut])
        got += list(decoder.events())
        start = cut
    assert got == whole


# ------------------------------------------------------------------ writers

MESSAGE = {"type": "message", "seq": 3, "ts": 1.0, "from": "alice", "text": "hi there",
           "kind": "chat", "room": "#lobby"}
JOIN = {"type": "join", "seq": 4, "ts": 1.0, "name": "bob", "room": "#lobby"}
ERROR = protocol.error_message(protocol.NAME_TAKEN, "name taken")


def test_plain_is_bare_text_without_header_or_terminator():
    assert writers.PLAIN.event(MESSAGE) == b"alice: hi there"
    assert writers.PLAIN.event(JOIN) == b"* bob joined"
    assert writers.PLAIN.reply(ERROR) == b"error: name taken"
    assert writers.PLAIN.ack == b"Msg received"
    assert writers.PLAIN.join([b"a", b"", b"b"]) == b"a\nb"


def test_plain_framed_is_v1():
    assert writers.PLAIN_FRAMED.event(MESSAGE) == protocol.encode_frame("alice: hi there")
    assert writers.PLAIN_FRAMED.ack == protocol.encode_frame("Msg received")


def test_ten_byte_is_a_name_and_a_text():
    assert writers.TEN_BYTE.event(MESSAGE) == b"5         alice8         hi there"
    assert writers.TEN_BYTE.event(JOIN) == b"1         *10        bob joined"
    assert writers.TEN_BYTE.reply(ERROR) == b"1         *17        error: name taken"
    action = dict(MESSAGE, kind="action", text="waves")
    assert writers.TEN_BYTE.event(action) == b"1         *11        alice waves"
    private = dict(MESSAGE, kind="private", to="carol", text="psst")
    assert writers.TEN_BYTE.event(private) == b"5         alice14        (private) psst"
    assert writers.TEN_BYTE.ack is None  # the sender gets nothing back


def test_line_is_text_and_newline():
    assert writers.LINE.event(MESSAGE) == b"alice: hi there\n"
    assert writers.LINE.reply(ERROR) == b"error: name taken\n"
    assert writers.LINE.ack is None
    assert writers.LINE.event({"type": "typing", "name": "a", "state": "active"}) == b""


def test_ten_byte_frames_read_back_with_the_tutorial_receive_loop():
    # What the tutorial's message window does with what we send.
    data = writers.TEN_BYTE.event(MESSAGE) + writers.TEN_BYTE.event(JOIN)
    decoder = TenByteDecoder()
    decoder.feed(data)
    assert list(decoder.events()) == [b"alice", b"hi there", b"*", b"bob joined"]


def test_http_answer_is_a_readable_400():
    answer = writers.http_answer("192.168.1.20", 5050)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.0 400 ")
    assert f"Content-Length: {len(body)}".encode() in head
    assert b"chat server" in body
    assert b"python client.py --host 192.168.1.20 --port 5050" in body  # a command that works
    assert b"nc 192.168.1.20 5050" in body


def test_kinds_are_named():
    assert set(detect.KINDS) == {TLS, FRAMED, TEN_BYTE, LINE, HTTP}
