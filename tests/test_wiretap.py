"""The wire tap: ``FrameDecoder.frames()`` (each header as received), the bounded
``WireTap`` ring, the one-line format of ``--wire``, and the tap inside a real
``ChatConnection`` talking to a real server through a recording proxy, so the frames
recorded are compared with the bytes that really crossed the wire."""

import re
import threading

import pytest
from hypothesis import given, settings, strategies as st

import protocol
from conftest import wait_for
from cutproxy import CutProxy
from lanchat.client.connection import ChatConnection
from lanchat.client.wiretap import (RECEIVED, SENT, WireTap, compact_body, header_text,
                                    wire_line)
from protocol import FrameDecoder, Oversized, encode_frame


def header(text: str) -> bytes:
    return text.encode("ascii").ljust(64)


# ------------------------------------------------------------------ frames()

def frames_whole(data: bytes, **kwargs) -> list:
    decoder = FrameDecoder(**kwargs)
    decoder.feed(data)
    return list(decoder.frames())


def frames_bytewise(data: bytes, **kwargs) -> list:
    decoder = FrameDecoder(**kwargs)
    out = []
    for i in range(len(data)):
        decoder.feed(data[i:i + 1])
        out += decoder.frames()
    return out


def test_frames_give_each_header_as_received_whole_bytewise_and_with_a_tail():
    odd = b"  7" + b" " * 61          # leading spaces: valid, and not what we would write
    data = encode_frame(b"hello") + header("0") + odd + b"goodbye" + header("3") + b"abc"
    expected = [(header("5"), b"hello"), (header("0"), b""), (odd, b"goodbye"),
                (header("3"), b"abc")]
    assert frames_whole(data) == expected
    assert frames_bytewise(data) == expected
    decoder = FrameDecoder()
    decoder.feed(data + header("4")[:20])  # half the next header stays buffered
    assert list(decoder.frames()) == expected and decoder.in_frame
    decoder.feed(header("4")[20:] + b"more")
    assert list(decoder.frames()) == [(header("4"), b"more")]


def test_frames_report_a_skipped_oversized_body_with_its_header():
    data = header("20") + b"x" * 20 + encode_frame(b"ok")
    expected = [(header("20"), Oversized(20)), (header("2"), b"ok")]
    assert frames_whole(data, max_body=10) == expected
    assert frames_bytewise(data, max_body=10) == expected


def test_events_are_frames_without_keepalives():
    data = encode_frame(b"a") + protocol.KEEPALIVE + encode_frame(b"b")
    decoder = FrameDecoder()
    decoder.feed(data)
    assert list(decoder.events()) == [b"a", b"b"]


valid_headers = st.tuples(st.integers(0, 30), st.integers(0, 4)).map(
    lambda t: (b" " * t[1] + str(t[0]).encode()).ljust(64))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(valid_headers, st.binary(max_size=40)), max_size=8),
       st.lists(st.integers(0, 2000), max_size=20))
def test_any_chunking_gives_the_same_headers_and_bodies(frame_specs, cuts):
    stream, expected = b"", []
    for head, filler in frame_specs:
        size = int(head.strip())
        body = (filler * (size // max(1, len(filler)) + 1))[:size] if filler else b"z" * size
        stream += head + body
        expected.append((head, body))
    decoder = FrameDecoder()
    got, last = [], 0
    for cut in sorted({c % (len(stream) + 1) for c in cuts}) + [len(stream)]:
        decoder.feed(stream[last:cut])
        last = cut
        got.extend(decoder.frames())
    assert got == expected and not decoder.in_frame


# ------------------------------------------------------------------ the ring

def test_the_ring_keeps_the_newest_frames_and_counts_the_dropped():
    tap = WireTap(max_frames=3)
    for i in range(5):
        tap.record(RECEIVED, header(str(i)), b"x" * i)
    assert [f.index for f in tap.since(0)] == [2, 3, 4]
    assert tap.count == 5 and tap.dropped == 2
    assert [f.index for f in tap.since(4)] == [4]
    assert tap.since(5) == []


def test_a_body_is_kept_up_to_the_cap_and_its_whole_size_remembered():
    tap = WireTap(max_body=10)
    tap.record_sent(encode_frame(b"0123456789abcdef"))
    (frame,) = tap.since(0)
    assert frame.header == header("16") and frame.body == b"0123456789"
    assert frame.size == 16 and frame.more == 6 and frame.direction == SENT
    assert compact_body(frame).endswith("0123456789 ... 6 more bytes")


def test_a_skipped_body_is_recorded_by_its_declared_size():
    tap = WireTap()
    tap.record(RECEIVED, header("70000"), Oversized(70000))
    (frame,) = tap.since(0)
    assert frame.skipped and frame.size == 70000 and frame.more == 0
    assert "skipped" in compact_body(frame)


def test_two_threads_recording_get_distinct_indexes_in_order():
    seen = []
    tap = WireTap(max_frames=10_000, on_frame=lambda f: seen.append(f.index))

    def record(direction):
        for i in range(2000):
            tap.record(direction, header("1"), b"x")

    threads = [threading.Thread(target=record, args=(d,)) for d in (SENT, RECEIVED)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert seen == list(range(4000))
    assert [f.index for f in tap.since(0)] == seen


def test_a_failing_listener_is_dropped_and_recording_goes_on():
    calls = []

    def listener(frame):
        calls.append(frame.index)
        raise RuntimeError("bug")

    tap = WireTap(on_frame=listener)
    tap.record(SENT, header("1"), b"a")
    tap.record(SENT, header("1"), b"b")
    assert calls == [0] and tap.count == 2


def test_wire_line_shows_direction_time_the_whole_header_and_the_body():
    tap = WireTap()
    tap.record_sent(protocol.message_frame({"type": "say", "text": "hi\nthere", "id": "a-1"}))
    tap.record(RECEIVED, header("5"), "e\u0301\x1b[2J".encode("utf-8"))
    sent, received = (wire_line(f) for f in tap.since(0))
    assert re.fullmatch(r'-> \d\d:\d\d:\d\d\.\d\d\d \[44 {62}\] '
                        r'\{"type":"say","text":"hi\\nthere","id":"a-1"\}', sent)
    assert received.endswith("[5" + " " * 63 + "] e\u0301\\x1b[2J")
    assert header_text(b"\x00" + b" " * 63) == "[\\x00" + " " * 63 + "]"


# ------------------------------------------------------------------ in a real connection

class RecordingProxy(CutProxy):
    """A CutProxy that also keeps every byte it forwards, by direction."""

    def __init__(self, target):
        self.tape = {SENT: bytearray(), RECEIVED: bytearray()}
        super().__init__(target)

    def _pump(self, src, dst):
        with self._lock:
            direction = SENT if any(src is a for a, _ in self._pairs) else RECEIVED
        src.settimeout(None)
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                self.tape[direction] += data
                dst.sendall(data)
        except OSError:
            pass


@pytest.fixture
def proxy(chat_server):
    p = RecordingProxy(chat_server.address)
    yield p
    p.close()


def test_the_tap_records_every_frame_both_ways_in_order_with_the_exact_bytes(
        chat_server, make_client, proxy):
    bob = make_client(chat_server.address)
    bob.hello("bob")
    tap = WireTap()
    conn = ChatConnection("127.0.0.1", proxy.port, "alice", wiretap=tap, reconnect=False).start()
    try:
        wait_for(lambda: conn.connected, what="alice to connect")
        bob.expect("join", name="alice")
        msg_id = conn.say("hello bob")
        bob.expect("message", text="hello bob")
        bob.send(type="say", text="hi alice", id="b1")
        wait_for(lambda: any(b'"hi alice"' in f.body for f in tap.since(0)), what="bob's line")
        conn.ping()
        wait_for(lambda: any(b'"pong"' in f.body for f in tap.since(0)), what="the pong")
    finally:
        conn.close()
    frames = tap.since(0)
    kinds = [(f.direction, f.message()["type"]) for f in frames]
    assert kinds[:2] == [(SENT, "hello"), (RECEIVED, "welcome")]
    say = next(i for i, f in enumerate(frames) if f.message().get("id") == msg_id)
    ack = next(i for i, f in enumerate(frames) if f.message()["type"] == "ack")
    assert frames[say].direction == SENT and say < ack and frames[ack].message()["id"] == msg_id
    assert kinds[-1] == (SENT, "bye")
    assert [f.index for f in frames] == list(range(len(frames)))
    # What was recorded, put back together, is byte for byte what crossed the wire.
    wait_for(lambda: bytes(proxy.tape[SENT]).endswith(frames[-1].body), what="the bye at the proxy")
    for direction in (SENT, RECEIVED):
        recorded = b"".join(f.header + f.body for f in frames if f.direction == direction)
        assert recorded == bytes(proxy.tape[direction]), direction
    for f in frames:
        assert f.header == protocol.frame_header(f.size) and f.more == 0



@pytest.mark.parametrize("password", ["sesame", 'se"sa\\me', "pässwörd"])
def test_the_password_of_a_hello_is_shown_as_stars_of_its_length(password):
    # --wire lines go to stderr (2>wire.log) and the pane into screenshots.
    tap = WireTap(on_frame=lambda frame: lines.append(wire_line(frame)))
    lines = []
    sent = protocol.message_frame({"type": "hello", "name": "bob", "password": password})
    tap.record_sent(sent)
    frame = tap.since(0)[0]
    secret = protocol.encode_message({"password": password})[len(b'{"password":"'):-2]
    assert secret not in frame.body and password not in lines[0]
    assert frame.body == sent[64:].replace(secret, b"*" * len(secret))
    assert frame.size == len(frame.body) and frame.message()["name"] == "bob"
    assert frame.header == sent[:64]


def test_a_say_that_mentions_a_password_is_shown_as_typed():
    tap = WireTap()
    sent = protocol.message_frame({"type": "say", "text": 'my "password": "x" is', "id": "1"})
    tap.record_sent(sent)
    assert tap.since(0)[0].body == sent[64:]
