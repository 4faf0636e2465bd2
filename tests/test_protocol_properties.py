"""Property tests of protocol.py (hypothesis): the decoder is pure enough to fuzz.

* Any chunking of any valid frame stream decodes to the same bodies (keepalives
  dropped, oversized bodies reported as ``Oversized`` in their place).
* Random bytes never raise anything but ``protocol.ProtocolError`` (h11's rule: any
  other exception is a bug), and ``decode_message`` raises only ``MessageError``.
* Messages survive encode then decode.
"""

import json

from hypothesis import HealthCheck, given, settings, strategies as st

import protocol
from lanchat import codec
from lanchat.text import MAX_NAME, clean_text, name_problem, numbered_name
from protocol import FrameDecoder, MessageError, Oversized, ProtocolError

MAX_BODY = 64  # small, so oversized frames are common in generated streams

moderate = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

# A frame is a body (bytes; empty = keepalive), optionally with extra spaces before the
# digits and leading zeros, both allowed by the contract.
bodies = st.binary(max_size=3 * MAX_BODY)
frames = st.tuples(bodies, st.integers(0, 5), st.integers(0, 3))


def build(frame) -> bytes:
    body, lead_spaces, zeros = frame
    digits = b"0" * zeros + str(len(body)).encode()
    return (b" " * lead_spaces + digits).ljust(protocol.HEADER_SIZE) + body


def expected_events(frame_list) -> list:
    out = []
    for body, _, _ in frame_list:
        if len(body) > MAX_BODY:
            out.append(Oversized(len(body)))
        elif body:
            out.append(body)
    return out


def chunked(data: bytes, cuts: list) -> list:
    points = sorted({c % (len(data) + 1) for c in cuts})
    pieces, last = [], 0
    for point in points + [len(data)]:
        pieces.append(data[last:point])
        last = point
    return pieces


@moderate
@given(st.lists(frames, max_size=12), st.lists(st.integers(0, 10_000), max_size=30))
def test_any_chunking_of_a_valid_stream_decodes_to_the_same_bodies(frame_list, cuts):
    stream = b"".join(build(f) for f in frame_list)
    decoder = FrameDecoder(max_body=MAX_BODY)
    got = []
    for piece in chunked(stream, cuts):
        decoder.feed(piece)
        got.extend(decoder.events())
    assert got == expected_events(frame_list)
    assert not decoder.in_frame


@moderate
@given(st.lists(frames, min_size=1, max_size=8), st.data())
def test_an_unfinished_frame_stays_buffered_until_its_last_byte(frame_list, data):
    stream = b"".join(build(f) for f in frame_list)
    cut = data.draw(st.integers(0, len(stream) - 1))
    decoder = FrameDecoder(max_body=MAX_BODY)
    decoder.feed(stream[:cut])
    first = list(decoder.events())
    assert first == expected_events(frame_list)[:len(first)]
    decoder.feed(stream[cut:])
    assert first + list(decoder.events()) == expected_events(frame_list)


@moderate
@given(st.lists(st.binary(max_size=200), max_size=10))
def test_random_bytes_raise_only_protocol_errors(chunks):
    decoder = FrameDecoder(max_body=MAX_BODY)
    try:
        for chunk in chunks:
            decoder.feed(chunk)
            for event in decoder.events():
                assert isinstance(event, (bytes, Oversized))
                assert isinstance(event, Oversized) or 0 < len(event) <= MAX_BODY
    except ProtocolError as exc:
        assert exc.code in protocol.ERROR_CODES


header_junk = st.one_of(
    st.binary(min_size=64, max_size=64),
    st.text(alphabet="0123456789 +-_\t\n.e١x", min_size=64, max_size=64).map(
        lambda s: s.encode("utf-8")[:64].ljust(64)),
)


@moderate
@given(header_junk, st.binary(max_size=100))
def test_random_headers_decode_or_raise_a_frame_error(head, rest):
    decoder = FrameDecoder(max_body=MAX_BODY)
    decoder.feed(head + rest)
    try:
        list(decoder.events())
    except protocol.FrameError as exc:
        assert exc.code in (protocol.BAD_HEADER, protocol.TOO_LARGE)
    else:
        digits = head.strip(b" ")
        assert digits.isdigit() and digits.isascii()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


@moderate
@given(st.one_of(st.binary(max_size=300), json_values.map(lambda v: json.dumps(v).encode()),
                 st.dictionaries(st.sampled_from(["type", "text", "name", "id", "since"]),
                                 json_values).map(lambda v: json.dumps(v).encode()),
                 st.dictionaries(st.sampled_from(["state", "room", "to"]),
                                 json_values | st.sampled_from(["active", "paused", "done"]))
                 .map(lambda v: json.dumps({"type": "typing", **v}).encode())))
def test_decode_and_parse_raise_only_message_errors(body):
    try:
        obj = protocol.decode_message(body)
        assert isinstance(obj, dict) and isinstance(obj["type"], str)
        codec.parse_client_message(obj)
    except MessageError as exc:
        assert exc.code in (protocol.BAD_UTF8, protocol.BAD_JSON, protocol.UNKNOWN_TYPE)


# Text that may hold surrogates (paired or lone), as JSON escapes them.
surrogate_texts = st.text(alphabet=st.one_of(
    st.characters(categories=["Cs"]), st.sampled_from("a😀\u00e9 ")), max_size=8)


@moderate
@given(st.dictionaries(st.sampled_from(["type", "text", "name"]) | surrogate_texts,
                       surrogate_texts | json_values, min_size=1)
       .map(lambda v: json.dumps(v).encode()))
def test_decoded_message_text_can_always_be_encoded_again(body):
    # Whatever decode_message accepts, the server can store and broadcast.
    try:
        obj = protocol.decode_message(body)
    except MessageError:
        return
    protocol.encode_message(obj)


names = st.text(min_size=1, max_size=30)
texts = st.text(max_size=200)
ids = st.none() | st.text(max_size=64)


@moderate
@given(st.one_of(
    st.builds(lambda n: {"type": "hello", "name": n}, names),
    st.builds(lambda t, i: {"type": "say", "text": t, **({"id": i} if i is not None else {})},
              texts, ids),
    st.builds(lambda i: {"type": "ping", "id": i}, st.none() | st.text(max_size=10) | st.integers()),
    st.builds(lambda r: {"type": "bye", "reason": r}, st.none() | texts),
    st.builds(lambda s, r: {"type": "typing", "state": s, "room": r},
              st.sampled_from(["active", "paused", "done"]), texts),
    st.builds(lambda s, t: {"type": "typing", "state": s, "to": t},
              st.sampled_from(["active", "paused", "done"]), names),
))
def test_encode_decode_roundtrip(message):
    frame = protocol.message_frame(message)
    decoder = FrameDecoder(max_body=protocol.HARD_MAX_FRAME)
    decoder.feed(frame)
    [body] = list(decoder.events())
    assert protocol.decode_message(body) == message
    parsed = codec.parse_client_message(protocol.decode_message(body))
    for field, value in message.items():
        if field != "type":
            assert getattr(parsed, field) == value


@moderate
@given(st.binary(min_size=1, max_size=300))
def test_encode_frame_roundtrips_any_body(body):
    decoder = FrameDecoder(max_body=len(body))
    decoder.feed(protocol.encode_frame(body))
    assert list(decoder.events()) == [body]


@moderate
@given(st.text(max_size=40), st.integers(2, 10**6))
def test_numbered_name_of_a_valid_name_is_valid(base, number):
    if name_problem(base) is None:
        numbered = numbered_name(base, number)
        assert len(numbered) <= MAX_NAME
        assert name_problem(numbered) is None


@moderate
@given(st.text())
def test_clean_text_leaves_no_control_characters(text):
    import unicodedata
    cleaned = clean_text(text)
    assert clean_text(cleaned) == cleaned
    for ch in cleaned:
        assert ch in "\n\t\u200d" or unicodedata.category(ch) not in ("Cc", "Cf")


json_like = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8)
padding = st.sampled_from(["", " ", "\n", "\t ", "\r\n", "\x0b", "\u2028"])


def outcome(parse, text):
    try:
        return "ok", parse(text)
    except (ValueError, RecursionError) as exc:
        return "error", type(exc).__name__


@moderate
@given(st.one_of(st.builds(lambda value, lead, trail: lead + json.dumps(value) + trail,
                           json_like, padding, padding),
                 st.text(alphabet='{}[]":,0123456789.eE+-truefalsn \\u', max_size=30)))
def test_the_fast_json_path_agrees_with_json_loads(text):
    assert outcome(protocol._json_value, text) == outcome(json.loads, text)
