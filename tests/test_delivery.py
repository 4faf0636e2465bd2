"""delivery.py: the encoded name list, and a batch's gathered sends are what sending
each event to each member in turn would have sent."""

from __future__ import annotations

import json
from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

import protocol
from lanchat.dialects import writers
from lanchat.server.delivery import Delivery, NameList, Outgoing

texts = st.text(max_size=60)  # any code point, lone surrogates and controls included
seqs = st.integers(min_value=0, max_value=2 ** 63 - 1)
stamps = st.floats(min_value=0, max_value=4e9, allow_nan=False)


@given(st.lists(st.tuples(st.booleans(), st.integers(0, 6), texts), max_size=30))
def test_the_name_list_follows_adds_and_removes(operations):
    names, model = NameList(), {}
    for add, key, name in operations:
        if add and key not in model:
            names.add(str(key), name)
            model[key] = name
        elif not add and key in model:
            names.remove(str(key))
            del model[key]
        assert json.loads(b"[" + names.encoded() + b"]") == list(model.values())


# --------------------------------------------------------------- gathering sends

ROOMS = ("#a", "#b")


DIALECTS = (writers.STRUCTURED, writers.PLAIN, writers.PLAIN_FRAMED, writers.TEN_BYTE,
            writers.LINE)


@dataclass(eq=False)
class FakeMember:
    name: str
    dialect: writers.Dialect
    welcomed: bool
    gone: bool = False
    reading: set = None

    def __post_init__(self):
        self.plain = not self.dialect.structured
        if self.reading is None:
            self.reading = {ROOMS[0]}


def event(n: int) -> Outgoing:
    return Outgoing({"type": "message", "seq": n, "ts": 1.0, "from": "x", "text": f"t{n}",
                     "kind": "chat"})


def naive(members: list, ops: list) -> dict:
    """What each member gets if every event is sent to it as it comes."""
    got = {m: [] for m in members}
    receiving = {m for m in members if m.welcomed}
    reading = {m: set(m.reading) for m in members}
    for op, *args in ops:
        if op == "room":
            room, out, exclude = args
            for m in receiving:
                if m is not exclude and room in reading[m]:
                    got[m].append(out.frame(m.dialect))
        elif op == "one":
            member, item = args
            if member in receiving:
                got[member].append(item if isinstance(item, bytes) else item.frame(member.dialect))
        elif op == "starting":
            receiving.add(args[0])
        elif op == "reads":
            member, rooms = args
            reading[member] = set(rooms)
    joined = {m: m.dialect.join(frames) for m, frames in got.items()
              if frames and not m.gone and m in receiving}
    return {m: data for m, data in joined.items() if data}


@st.composite
def batches(draw):
    members = [FakeMember(f"m{i}", draw(st.sampled_from(DIALECTS)), welcomed=draw(st.booleans()),
                          reading=set(draw(st.sampled_from([ROOMS[:1], ROOMS, ROOMS[1:]]))))
               for i in range(draw(st.integers(1, 5)))]
    ops, started, seq = [], set(), 0
    for _ in range(draw(st.integers(0, 25))):
        kind = draw(st.sampled_from(["room", "room", "one", "starting", "many", "reads"]))
        room = draw(st.sampled_from(ROOMS))
        if kind == "room":
            seq += 1
            ops.append(("room", room, event(seq), draw(st.none() | st.sampled_from(members))))
        elif kind == "many":
            exclude = draw(st.sampled_from(members))
            for _ in range(draw(st.integers(1, 4))):
                seq += 1
                ops.append(("room", room, event(seq), exclude))
            ops.append(("many-end",))
        elif kind == "one":
            member = draw(st.sampled_from(members))
            if member.welcomed or member in started:
                item = draw(st.sampled_from([b"reply", event(1000 + seq)]))
                ops.append(("one", member, item))
        elif kind == "reads":
            member = draw(st.sampled_from(members))
            ops.append(("reads", member, draw(st.sampled_from([ROOMS[:1], ROOMS, ROOMS[1:], ()]))))
        else:
            joiner = [m for m in members if not m.welcomed and m not in started]
            if joiner:
                started.add(joiner[0])
                ops.append(("starting", joiner[0]))
    for member in members:
        member.gone = draw(st.booleans()) and draw(st.booleans())
    return members, ops


@settings(max_examples=400)
@given(batches())
def test_gathered_sends_are_what_sending_each_event_in_turn_would_send(batch):
    members, ops = batch
    expected = naive(members, [op for op in ops if op[0] != "many-end"])
    delivery = Delivery()
    pending: list = []
    for op, *args in ops:
        if op == "room":
            pending.append(args)
            continue
        flush_pending(delivery, pending, as_run=(op == "many-end"))
        pending = []
        if op == "one":
            delivery.one(*args)
        elif op == "starting":
            args[0].welcomed = True
            delivery.starting(args[0])
        elif op == "reads":
            member, rooms = args
            delivery.changing(member)
            member.reading = set(rooms)
    flush_pending(delivery, pending, as_run=False)
    got = dict(delivery.collect(readers(members)))
    assert got == expected


def readers(members: list) -> dict:
    """Each room's readers: welcomed, not gone, reading it, by kind."""
    live = [m for m in members if m.welcomed and not m.gone]
    return {room: ([m for m in live if not m.plain and room in m.reading],
                   [m for m in live if m.plain and room in m.reading]) for room in ROOMS}


def flush_pending(delivery: Delivery, pending: list, as_run: bool) -> None:
    """Hand ``room`` ops over one by one, or a run with one room and exclude as one call."""
    if as_run and pending and pending[0][2] and all(
            ex is pending[0][2] and room == pending[0][0] for room, _, ex in pending):
        delivery.to_room_many(pending[0][0], [out for _, out, _ in pending], pending[0][2])
    else:
        for room, out, exclude in pending:
            delivery.to_room(room, out, exclude)


def test_members_who_take_the_common_frames_share_one_bytes_object():
    members = [FakeMember(f"m{i}", writers.STRUCTURED, welcomed=True) for i in range(3)]
    delivery = Delivery()
    delivery.to_room("#a", event(1))
    delivery.to_room("#a", event(2))
    sends = delivery.collect(readers(members))
    assert len({id(data) for _, data in sends}) == 1
    assert sends[0][1] == event(1).frame(writers.STRUCTURED) + event(2).frame(writers.STRUCTURED)


def test_two_rooms_members_of_one_share_their_room_s_bytes():
    a = FakeMember("a", writers.STRUCTURED, True)
    b = FakeMember("b", writers.STRUCTURED, True, reading={"#b"})
    both = FakeMember("both", writers.STRUCTURED, True, reading={"#a", "#b"})
    delivery = Delivery()
    delivery.to_room("#a", event(1))
    delivery.to_room("#b", event(2))
    delivery.to_room("#a", event(3))
    got = dict(delivery.collect(readers([a, b, both])))
    assert got[a] == event(1).frame(writers.STRUCTURED) + event(3).frame(writers.STRUCTURED)
    assert got[b] == event(2).frame(writers.STRUCTURED)
    assert got[both] == event(1).frame(writers.STRUCTURED) + event(2).frame(writers.STRUCTURED) + event(3).frame(writers.STRUCTURED)


def test_each_dialect_gets_the_event_in_its_form():
    members = [FakeMember(d.name, d, welcomed=True) for d in DIALECTS[1:]]
    delivery = Delivery()
    delivery.to_room("#a", event(1))
    delivery.to_room("#a", event(2))
    got = {m.dialect: data for m, data in delivery.collect(readers(members))}
    assert got == {
        writers.PLAIN: b"x: t1\nx: t2",  # bare text; lines sent together split by \n
        writers.PLAIN_FRAMED: protocol.encode_frame("x: t1") + protocol.encode_frame("x: t2"),
        writers.TEN_BYTE: b"1         x2         t11         x2         t2",
        writers.LINE: b"x: t1\nx: t2\n"}


def test_an_event_is_encoded_once_per_dialect():
    out = event(1)
    assert out.frame(writers.LINE) is out.frame(writers.LINE)
    assert out.frame(writers.STRUCTURED) is out.json_frame()


def test_an_empty_batch_sends_nothing():
    assert Delivery().collect(readers([FakeMember("m", writers.STRUCTURED, welcomed=True)])) == []
    assert not Delivery()
