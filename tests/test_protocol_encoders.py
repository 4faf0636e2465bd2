"""The fast encoders write the same text as the general JSON encoder.

The server writes its commonest frames with format strings (acks, welcomes) or msgspec
(events, lanchat/codec.py) instead of ``json`` (docs/architecture.md says why); these
properties keep those bytes identical to what ``protocol.ENCODE`` would write, for any
values (tests/test_codec.py tries arbitrary JSON values too).
"""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

import protocol
from lanchat.codec import encode_event
from lanchat.server.delivery import NameList
from protocol import ENCODE, encode_ack, welcome_frame

texts = st.text(max_size=60)  # any code point, lone surrogates and controls included
def utf8(encode, event):
    """``encode(event)`` as UTF-8, or the error it raises for a lone surrogate."""
    try:
        body = encode(event)
        return body.encode("utf-8") if isinstance(body, str) else body
    except UnicodeEncodeError:
        return UnicodeEncodeError


seqs = st.integers(min_value=0, max_value=2 ** 63 - 1)
stamps = st.floats(min_value=0, max_value=4e9, allow_nan=False)


@given(seq=seqs, ts=stamps, sender=texts, text=texts,
       kind=st.sampled_from(["chat", "action", "private"]), to=st.none() | texts)
def test_a_message_event_encodes_as_the_general_encoder_does(seq, ts, sender, text, kind, to):
    event = {"type": "message", "seq": seq, "ts": ts, "from": sender, "text": text, "kind": kind}
    if to is not None:
        event["to"] = to
    assert utf8(encode_event, event) == utf8(ENCODE, event)
    if to is not None:  # a room line has "room" where a private one has "to"
        event["room"] = event.pop("to")
        assert utf8(encode_event, event) == utf8(ENCODE, event)


@given(st.dictionaries(st.sampled_from(["type", "seq", "ts", "name", "reason", "replay"]),
                       st.none() | st.booleans() | seqs | stamps | texts))
def test_any_other_event_encodes_as_the_general_encoder_does(event):
    assert utf8(encode_event, event) == utf8(ENCODE, event)


def test_a_message_with_fields_in_another_order_or_extra_fields_keeps_them():
    reordered = {"seq": 1, "type": "message", "ts": 1.5, "from": "a", "text": "b", "kind": "chat"}
    extra = {"type": "message", "seq": 1, "ts": 1.5, "from": "a", "text": "b", "kind": "chat",
             "replay": True}
    for event in (reordered, extra):
        assert json.loads(encode_event(event)) == event


@given(msg_id=st.none() | texts, seq=st.none() | seqs)
def test_an_ack_encodes_as_the_general_encoder_does(msg_id, seq):
    assert encode_ack(msg_id, seq) == ENCODE({"type": "ack", "id": msg_id, "seq": seq})


@given(name=texts, users=st.lists(texts, max_size=5), server=texts, seq=seqs, session=texts,
       rate=st.floats(min_value=0, max_value=1e6, allow_nan=False), burst=st.integers(0, 10 ** 6),
       away=st.dictionaries(texts, texts, max_size=3), ops=st.lists(texts, max_size=3),
       slow=st.integers(0, 3600), muted=st.booleans(), admin=st.booleans())
def test_a_welcome_is_the_general_encoder_s_frame(name, users, server, seq, session, rate, burst,
                                                  away, ops, slow, muted, admin):
    names = NameList()
    for number, user in enumerate(users):
        names.add(f"k{number}", user)
    expected = {"type": "welcome", "name": name, "users": users + [name], "server": server,
                "max_text": 4000, "max_frame": 65536, "seq": seq, "session": session,
                "rate": rate, "burst": burst, "away": away,
                "rooms": [{"room": "#lobby", "topic": "", "users": users + [name], "ops": ops,
                           "slow": slow, "muted": muted}], "admin": admin}
    lobby = {"room": "#lobby", "topic": "", "ops": ops, "slow": slow, "muted": muted}
    assert welcome_frame(name=name, others=names.encoded(), server=server, max_text=4000,
                         max_frame=65536, seq=seq, session=session, rate=rate, burst=burst,
                         away=away, lobby=lobby, admin=admin) == \
        protocol.encode_frame(ENCODE(expected))
