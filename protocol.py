"""Wire protocol, version 2: framing, message bodies, names and error codes.

Sans-I/O in the style of h11: nothing here touches a socket, a thread or a clock.
The server and the client feed received bytes into a ``FrameDecoder`` and write the
bytes that ``encode_frame`` returns. That keeps the parsing pure enough to fuzz: any
input either decodes or raises a ``ProtocolError``; any other exception is a bug.
Every byte of the format is written here too, the server's fast encoders included.
The contract itself is ``docs/protocol.md``; the tutorial dialects: ``lanchat/dialects``.
"""

from __future__ import annotations

import json
import json.scanner
import re
from dataclasses import dataclass
from typing import Any, Iterator, Optional, Tuple, Union

HEADER_SIZE = 64
# The largest body a peer may even declare; beyond it we cannot afford to read and
# discard, so the connection is closed (PROTOCOL.md section 1).
HARD_MAX_FRAME = 1024 * 1024
DEFAULT_PORT = 5050  # the chat's TCP port when none is given (both sides)
# Seconds a quiet client waits between pings; the server's --idle-timeout must exceed it.
PING_INTERVAL = 30.0
DEFAULT_RATE, DEFAULT_BURST = 5.0, 10  # lines a second, and a burst (section 7)
DEFAULT_MAX_FRAME = 65536
DEFAULT_MAX_TEXT = 4000
MAX_ID = 64
MAX_HELLO_ROOMS = 100  # rooms a hello may name (the server's own limit is lower)
# The header after stripping spaces: digits only (int() would accept "+1", "1_0").
_HEADER_RE = re.compile(rb"[0-9]+")
_HEADER_PREFIX_RE = re.compile(rb" *[0-9]* *")  # what the start of a valid header can be
# A JSON escape of a UTF-16 surrogate; only then is a body checked for lone ones.
_SURROGATE_ESCAPE_RE = re.compile(r"\\u[dD][89a-fA-F]")
# json.loads' own scanner, called directly: 1.5 us for a chat line instead of 4
# (json.loads adds two regex passes for surrounding whitespace and its wrappers).
_SCAN_JSON = json.scanner.make_scanner(json.JSONDecoder())

# Error codes (PROTOCOL.md section 6).
BAD_HEADER, TOO_LARGE, BAD_UTF8, BAD_JSON = "bad_header", "too_large", "bad_utf8", "bad_json"
UNKNOWN_TYPE, NOT_WELCOME, BAD_NAME = "unknown_type", "not_welcome", "bad_name"
NAME_TAKEN, AUTH_FAILED, SERVER_FULL = "name_taken", "auth_failed", "server_full"
EMPTY_TEXT, TEXT_TOO_LONG, RATE_LIMITED = "empty_text", "text_too_long", "rate_limited"
NO_SUCH_USER, UNKNOWN_COMMAND = "no_such_user", "unknown_command"
SEND_QUEUE_FULL, SHUTTING_DOWN = "send_queue_full", "shutting_down"
# v2, sections 8 and 9:
BAD_ROOM, NO_SUCH_ROOM, NOT_IN_ROOM = "bad_room", "no_such_room", "not_in_room"
NOT_OP, MUTED, BANNED, SLOW_MODE = "not_op", "muted", "banned", "slow_mode"
CANNOT_PART_LOBBY, BAD_ARGUMENT, UNAVAILABLE = "cannot_part_lobby", "bad_argument", "unavailable"
TOO_MANY_ROOMS = "too_many_rooms"  # extension: --max-rooms, --max-rooms-per-user
# Extension (docs/protocol.md): the history database refused the line, so it was
# neither stored nor shown to anyone.
NOT_STORED = "not_stored"
ERROR_CODES = frozenset({
    BAD_HEADER, TOO_LARGE, BAD_UTF8, BAD_JSON, UNKNOWN_TYPE, NOT_WELCOME, BAD_NAME,
    NAME_TAKEN, AUTH_FAILED, SERVER_FULL, EMPTY_TEXT, TEXT_TOO_LONG, RATE_LIMITED,
    NO_SUCH_USER, UNKNOWN_COMMAND, SEND_QUEUE_FULL, SHUTTING_DOWN, BAD_ROOM, NO_SUCH_ROOM,
    NOT_OP, MUTED, BANNED, SLOW_MODE, BAD_ARGUMENT, NOT_IN_ROOM, CANNOT_PART_LOBBY, UNAVAILABLE,
})
LOBBY = "#lobby"  # the room everyone connected is in (PROTOCOL.md section 8)
TYPING_STATES = frozenset({"active", "paused", "done"})  # section 9
# Errors after which the server closes the connection (when they answer no line: a
# wrong /admin password is auth_failed with the line's id, and the connection stays).
CLOSING_CODES = frozenset({BAD_HEADER, AUTH_FAILED, SERVER_FULL, SEND_QUEUE_FULL})


class ProtocolError(Exception):
    """Base of every error this module raises; ``code`` is a section-6 error code."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


class FrameError(ProtocolError):
    """The byte stream cannot be resynchronised: answer (best effort) and close."""


class MessageError(ProtocolError):
    """One body was unacceptable: answer with ``error`` and keep the connection."""


# --------------------------------------------------------------------------- framing

def encode_frame(body: Union[bytes, str]) -> bytes:
    """``body`` (bytes, or text as UTF-8) framed with its 64-byte ASCII length header."""
    if isinstance(body, str):
        body = body.encode("utf-8")
    return frame_header(len(body)) + body


def frame_header(size: int) -> bytes:
    """The 64-byte ASCII header of a frame whose body is ``size`` bytes."""
    return str(size).encode("ascii").ljust(HEADER_SIZE)


KEEPALIVE = encode_frame(b"")


@dataclass(frozen=True)
class Oversized:
    """A frame whose declared size was over the limit; its body was discarded."""

    declared: int


class FrameDecoder:
    """Incremental decoder: feed any chunks, take complete bodies out.

    ``feed(data)`` buffers bytes; iterating ``events()`` yields each complete body as
    ``bytes`` and, for a body over ``max_body`` (but at most ``HARD_MAX_FRAME``), one
    ``Oversized`` once that body has been skipped. Keepalives (``N = 0``) yield nothing.
    ``frames()`` adds each header as received (for a wire inspector). A bad header or a
    size over ``HARD_MAX_FRAME`` raises ``FrameError``; the decoder is then unusable."""
    header_size = HEADER_SIZE  # a subclass's own (the ten-byte dialect's reader)

    def __init__(self, max_body: int = DEFAULT_MAX_FRAME, hard_max: int = HARD_MAX_FRAME):
        self.max_body = max_body
        self.hard_max = max(hard_max, max_body)
        self._buf = bytearray()
        self._header = b""                # the header of the frame being read
        self._need: Optional[int] = None  # body length once the header is read
        self._discard = 0                 # bytes of an oversized body still to skip
        self._discarding: Optional[int] = None

    @property
    def in_frame(self) -> bool:
        """True while a frame has started but is not complete (for frame timeouts)."""
        return bool(self._buf) or self._need is not None or self._discarding is not None

    def feed(self, data: bytes) -> None:
        """Buffer received bytes; nothing is parsed until ``events()`` is iterated."""
        self._buf += data

    def events(self) -> Iterator[Union[bytes, Oversized]]:
        """Yield every complete body (or ``Oversized``) the buffer now holds."""
        return (body for _, body in self.frames() if body)

    def frames(self) -> Iterator[Tuple[bytes, Union[bytes, Oversized]]]:
        """``events()`` with each frame's 64 header bytes as received, keepalives too."""
        while True:
            if self._discarding is not None:
                skip = min(self._discard, len(self._buf))
                del self._buf[:skip]
                self._discard -= skip
                if self._discard:
                    return
                declared, self._discarding = self._discarding, None
                yield self._header, Oversized(declared)
                continue
            if self._need is None:
                if len(self._buf) < self.header_size:
                    # Refuse a header as soon as no completion could be valid (someone
                    # typing into telnet gets the error now, not at the frame timeout).
                    if not _HEADER_PREFIX_RE.fullmatch(self._buf):
                        self._parse_header(bytes(self._buf))  # raises bad_header
                    return
                self._header = bytes(self._buf[:self.header_size])
                self._need = self._parse_header(self._header)
                del self._buf[:self.header_size]
                if self._need > self.max_body:
                    self._discarding, self._discard = self._need, self._need
                    self._need = None
                    continue
            if len(self._buf) < self._need:
                return
            body = bytes(self._buf[:self._need])
            del self._buf[:self._need]
            self._need = None
            yield self._header, body

    def _parse_header(self, header: bytes) -> int:
        digits = header.strip(b" ")
        if not _HEADER_RE.fullmatch(digits):
            raise FrameError(BAD_HEADER, f"bad frame header {header[:16]!r}...: expected "
                             f"ASCII digits padded with spaces to {self.header_size} bytes")
        size = int(digits)
        if size > self.hard_max:
            raise FrameError(TOO_LARGE, f"frame of {size} bytes is over the hard limit "
                             f"of {self.hard_max} bytes")
        return size


# ------------------------------------------------------------------ message bodies

# Every JSON body is written by this encoder (compact, UTF-8 as is); one instance,
# since json.dumps with non-default arguments builds a new encoder on every call.
ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
quote = json.encoder.encode_basestring  # a JSON string literal as ENCODE writes it (C)


def encode_message(message: dict) -> bytes:
    """Return the UTF-8 JSON body for one structured message (no header)."""
    return ENCODE(message).encode("utf-8")


# The fast encoders below write the same text as ENCODE for the server's commonest
# frames (tests/test_protocol_encoders.py checks that with random values); events are
# written by lanchat/codec.py.

def encode_ack(msg_id: Optional[str], seq: Optional[int]) -> str:
    """``ENCODE({"type": "ack", "id": msg_id, "seq": seq})``, directly."""
    return '{"type":"ack","id":%s,"seq":%s}' % (
        "null" if msg_id is None else quote(msg_id), "null" if seq is None else int(seq))


def welcome_frame(*, name: str, others: bytes, server: str, max_text: int, max_frame: int,
                  seq: int, session: str, rate: float, burst: int, away: dict, lobby: dict,
                  admin: bool) -> bytes:
    """The framed ``welcome``: ``message_frame`` of it, with the other members' names
    (``others``: JSON strings joined by commas, tens of kilobytes in a big room)
    copied in as they are instead of encoded once per join; ``name`` follows them.
    ``rate`` and ``burst`` (an extension, docs/protocol.md) tell a client the rate
    limit; ``away`` is ``{name: message}`` of who is away; ``lobby`` the #lobby room
    object without its ``users`` (the same list again, copied in too)."""
    head = ('{"type":"welcome","name":%s,"users":[' % quote(name)).encode("utf-8")
    users = ("%s%s]" % ("," if others else "", quote(name))).encode("utf-8")
    room_head = (',"server":%s,"max_text":%d,"max_frame":%d,"seq":%d,"session":%s,'
                 '"rate":%s,"burst":%d,"away":%s,"rooms":[%s,"users":[' % (
                     quote(server), max_text, max_frame, seq, quote(session),
                     ENCODE(float(rate)), burst, ENCODE(away),
                     ENCODE({"room": lobby["room"], "topic": lobby["topic"]})[:-1])).encode("utf-8")
    room_tail = (",%s],\"admin\":%s}" % (
        ENCODE({k: v for k, v in lobby.items() if k not in ("room", "topic")})[1:],
        "true" if admin else "false")).encode("utf-8")
    parts = [head, others, users, room_head, others, users, room_tail]
    return b"".join([frame_header(sum(map(len, parts)))] + parts)


def message_frame(message: dict) -> bytes:
    """Return a complete frame (header + JSON body) for one structured message."""
    return encode_frame(encode_message(message))


def decode_text(body: bytes) -> str:
    """Decode a body as UTF-8; raises ``MessageError(bad_utf8)``."""
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MessageError(BAD_UTF8, f"body is not valid UTF-8 (byte {exc.start})") from None


def decode_message(body: bytes) -> dict:
    """Decode one structured body into a dict with a string ``type``; raises
    ``MessageError``: ``bad_utf8``, or ``bad_json`` (not JSON, not an object, no type)."""
    text = decode_text(body)
    try:
        obj = _json_value(text)
    except (ValueError, RecursionError):
        raise MessageError(BAD_JSON, "body is not valid JSON") from None
    if not isinstance(obj, dict):
        raise MessageError(BAD_JSON, "body must be a JSON object")
    # JSON may escape a lone surrogate ("\ud800"): not text, and not encodable to UTF-8.
    if _SURROGATE_ESCAPE_RE.search(text):
        try:
            encode_message(obj)
        except UnicodeEncodeError:
            raise MessageError(BAD_JSON, "body has a lone surrogate escape (not text)") from None
    if not isinstance(obj.get("type"), str):
        raise MessageError(BAD_JSON, 'body must have a string field "type"')
    return obj


def _json_value(text: str) -> Any:
    """``json.loads(text)``, the common case (no whitespace around the value) faster."""
    try:
        obj, end = _SCAN_JSON(text, 0)
        if end == len(text):
            return obj
    except StopIteration:  # no value at 0: leading whitespace, or not JSON
        pass
    return json.loads(text)  # whatever is around the value, or the error


def looks_like_hello(body: bytes) -> bool:
    """True if a first frame opens a structured connection (PROTOCOL.md section 2)."""
    try:
        obj = json.loads(body.decode("utf-8"))
    except (ValueError, RecursionError):
        return False
    return isinstance(obj, dict) and obj.get("type") == "hello"


# Client-to-server messages are typed and validated in lanchat/codec.py.


def error_message(code: str, message: str, msg_id: Optional[str] = None,
                  **extra: Any) -> dict:
    """Return an ``error`` message dict (``id`` only when there is one); ``extra``
    adds fields such as ``retry_after`` (seconds) or ``room``."""
    out = {"type": "error", "code": code, "message": message}
    if msg_id is not None:
        out["id"] = msg_id
    out.update(extra)
    return out
