"""Client messages decoded and events encoded by msgspec, byte for byte as the stdlib.

Per chat line the server used to scan JSON with ``json``'s scanner, validate the dict
with the validators below and write each event with format strings: about 5 us of
interpreter work a line (issue 16's profile). msgspec does the common case in one C
call each way, and the stdlib code stays as the reference that decides everything else:

* Decoding: a ``say`` with only its documented fields (``type``, ``text``, ``id``,
  ``room``) is decoded and validated by one ``msgspec.json.Decoder`` call (0.2 us
  instead of 1.3-2). Anything else (another type, an unknown field, a null, an empty
  room, a lone surrogate escape, malformed JSON) goes through the reference,
  ``protocol.decode_message`` + ``parse_client_message``, which gives exactly the
  answer and the error it always gave. Unknown fields are refused by the fast path
  because msgspec skips them without the stdlib's checks (invalid UTF-8, depth).
* Encoding: ``encode_event`` writes an event with ``msgspec.json.Encoder`` when its
  values are of the kinds both encoders write identically (str, int, bool, None,
  lists, dicts keyed by str or int, floats written without an exponent); anything else,
  with ``protocol.ENCODE``. tests/test_codec.py compares both ways with the stdlib.
"""

from __future__ import annotations

from typing import Annotated, Any, Optional, Union

import msgspec

import protocol
from protocol import BAD_JSON, LOBBY, MAX_HELLO_ROOMS, MAX_ID, TYPING_STATES, MessageError

# Client-to-server messages, validated. Unknown fields are ignored (section 4). The
# tags serve msgspec's decoding: only in a union does it require the "type" field.


class Hello(msgspec.Struct, frozen=True, tag_field="type", tag="hello"):
    name: str
    password: Optional[str] = None
    since: Optional[int] = None
    resume: Optional[str] = None
    client: Optional[str] = None
    rooms: tuple = ()  # (v2) the rooms to be in besides #lobby


class Say(msgspec.Struct, frozen=True, tag_field="type", tag="say", forbid_unknown_fields=True):
    text: str
    # The same limits as parse_client_message; a null or empty room is the reference's
    # to turn into #lobby, so the fast path refuses both (a room of "" fails min_length).
    id: Optional[Annotated[str, msgspec.Meta(max_length=MAX_ID)]] = None
    room: Annotated[str, msgspec.Meta(min_length=1)] = LOBBY  # (v2) where it goes


class Ping(msgspec.Struct, frozen=True, tag_field="type", tag="ping"):
    id: Any = None


class Bye(msgspec.Struct, frozen=True, tag_field="type", tag="bye"):
    reason: Optional[str] = None


class Typing(msgspec.Struct, frozen=True, tag_field="type", tag="typing"):
    state: str
    room: Optional[str] = None  # the room typed in, or
    to: Optional[str] = None    # the person a private line is for


ClientMessage = Union[Hello, Say, Ping, Bye, Typing]

# The union, not Say alone: msgspec takes a single struct's tag field as optional.
_DECODE = msgspec.json.Decoder(ClientMessage).decode


def decode_client_message(body: bytes) -> ClientMessage:
    """Decode and validate one structured body from a client.

    Raises:
        MessageError: ``bad_utf8``, ``bad_json`` or ``unknown_type``, as
            ``parse_client_message(protocol.decode_message(body))`` does.
    """
    try:
        message = _DECODE(body)
        if type(message) is Say:
            return message
    except msgspec.DecodeError:  # ValidationError included: the reference decides
        pass
    return parse_client_message(protocol.decode_message(body))


def _field(obj: dict, name: str, kind: type, required: bool = False) -> Any:
    value = obj.get(name)
    if value is None:
        if required:
            raise MessageError(BAD_JSON, f'"{obj["type"]}" needs a field "{name}"')
        return None
    # bool is an int subclass; a seq of true is not a seq.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise MessageError(BAD_JSON, f'field "{name}" must be {kind.__name__}')
    return value


def parse_client_message(obj: dict) -> ClientMessage:
    """Validate a decoded client body (``protocol.decode_message``) and return its
    typed message: the reference for ``decode_client_message``.

    Raises:
        MessageError: ``bad_json`` for a missing or mistyped field, ``unknown_type``.
    """
    kind = obj["type"]
    if kind == "hello":
        rooms = _field(obj, "rooms", list) or []
        if len(rooms) > MAX_HELLO_ROOMS or not all(isinstance(r, str) for r in rooms):
            raise MessageError(BAD_JSON, f'field "rooms" must be at most {MAX_HELLO_ROOMS} strings')
        return Hello(name=_field(obj, "name", str, True), password=_field(obj, "password", str),
                     since=_field(obj, "since", int), resume=_field(obj, "resume", str),
                     client=_field(obj, "client", str), rooms=tuple(rooms))
    if kind == "say":
        msg_id = _field(obj, "id", str)
        if msg_id is not None and len(msg_id) > MAX_ID:
            raise MessageError(BAD_JSON, f'field "id" must be at most {MAX_ID} characters')
        return Say(text=_field(obj, "text", str, True), id=msg_id,
                   room=_field(obj, "room", str) or LOBBY)
    if kind == "ping":
        ping_id = obj.get("id")
        if not (ping_id is None or isinstance(ping_id, (str, int, float))):
            raise MessageError(BAD_JSON, 'field "id" must be a string or a number')
        return Ping(id=ping_id)
    if kind == "bye":
        return Bye(reason=_field(obj, "reason", str))
    if kind == "typing":
        state, room, to = _field(obj, "state", str, True), _field(obj, "room", str), _field(obj, "to", str)
        if state not in TYPING_STATES:
            raise MessageError(BAD_JSON, 'field "state" must be active, paused or done')
        if room is not None and to is not None:
            raise MessageError(BAD_JSON, 'typing goes to a "room" or "to" a person, not both')
        return Typing(state=state, room=LOBBY if room is None and to is None else room, to=to)
    raise MessageError(protocol.UNKNOWN_TYPE, f"unknown message type {kind[:40]!r}")


# ------------------------------------------------------------------------- events

_ENCODE = msgspec.json.Encoder().encode
# Python writes a float's repr, msgspec its own shortest form: the same digits, but
# outside [1e-4, 1e16) repr uses an exponent ("1e+16", "1e-05") and msgspec another
# ("1e16", "0.00001"); inf and nan are Infinity and NaN to json, null to msgspec. Dict
# keys other than str and int differ too (json writes True as "true"; msgspec refuses).
_PLAIN_FLOAT_MIN, _PLAIN_FLOAT_MAX = 1e-4, 1e16


def encode_event(event: dict) -> bytes:
    """``protocol.ENCODE(event)`` as UTF-8: the body of the event's frame.

    Raises:
        UnicodeEncodeError: a string holds a lone surrogate (as ``ENCODE(...).encode()``).
    """
    if _same_in_both(event):
        return _ENCODE(event)
    return protocol.ENCODE(event).encode("utf-8")


def _same_in_both(value: Any) -> bool:
    """True if msgspec writes ``value`` exactly as the stdlib encoder does: str or int keys;
    str, int, bool, None and plain floats, in lists, tuples and dicts (0.4 us for a
    chat line's event, one walk in Python instead of the whole encoding)."""
    items = value.items() if type(value) is dict else enumerate(value)
    for key, item in items:
        kind = type(item)
        if kind is float:
            if not (_PLAIN_FLOAT_MIN <= abs(item) < _PLAIN_FLOAT_MAX or item == 0):
                return False
        elif kind is not str and kind is not int and kind is not bool and item is not None:
            if kind is not dict and kind is not list and kind is not tuple or not _same_in_both(item):
                return False
        if type(key) is not str and type(key) is not int:  # int: a list's index
            return False
    return True
