"""delivery.py: the encoded name list, and a batch's gathered sends are what sending
each event to each member in turn would have sent."""

from __future__ import annotations

import json
from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

import protocol
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

@dataclass(eq=False)
class FakeMember:
    name: str
    plain: bool
    welcomed: bool
    gone: bool = False


def event(n: int) -> Outgoing:
    return Outgoing({"type": "message", "seq": n, "ts": 1.0, "from": "x", "text": f"t{n}",
                     "kind": "chat"})


def naive(members: list, ops: list) -> dict:
    """What each member gets if every event is sent to it as it comes."""
    got = {m: [] for m in members}
    receiving = {m for m in members if m.welcomed}
    for op, *args in ops:
        if op == "everyone":
            out, exclude = args
            for m in receiving:
                if m is not exclude:
                    got[m].append(out.frame(m.plain))
        elif op == "one":
            member, item = args
            if member in receiving:
                got[member].append(item if isinstance(item, bytes) else item.frame(member.plain))
        elif op == "starting":
            receiving.add(args[0])
    return {m: b"".join(frames) for m, frames in got.items()
            if frames and not m.gone and m in receiving}


@st.composite
def batches(draw):
    members = [FakeMember(f"m{i}", plain=draw(st.booleans()), welcomed=draw(st.booleans()))
               for i in range(draw(st.integers(1, 5)))]
    ops, started, seq = [], set(), 0
    for _ in range(draw(st.integers(0, 25))):
        kind = draw(st.sampled_from(["everyone", "everyone", "one", "starting", "many"]))
        if kind == "everyone":
            seq += 1
            ops.append(("everyone", event(seq), draw(st.none() | st.sampled_from(members))))
        elif kind == "many":
            exclude = draw(st.sampled_from(members))
            for _ in range(draw(st.integers(1, 4))):
                seq += 1
                ops.append(("everyone", event(seq), exclude))
            ops.append(("many-end",))
        elif kind == "one":
            member = draw(st.sampled_from(members))
            if member.welcomed or member in started:
                item = draw(st.sampled_from([b"reply", event(1000 + seq)]))
                ops.append(("one", member, item))
        else:
            joiner = [m for m in members if not m.welcomed and m not in started]
            if joiner:
                started.add(joiner[0])
                ops.append(("starting", joiner[0]))
    for member in members:
        member.gone = draw(st.booleans()) and draw(st.booleans())
    return members, ops


@settings(max_examples=300)
@given(batches())
def test_gathered_sends_are_what_sending_each_event_in_turn_would_send(batch):
    members, ops = batch
    expected = naive(members, [op for op in ops if op[0] != "many-end"])
    delivery = Delivery()
    pending: list = []
    for op, *args in ops:
        if op == "everyone":
            pending.append(args)
            continue
        flush_pending(delivery, pending, as_run=(op == "many-end"))
        pending = []
        if op == "one":
            delivery.one(*args)
        elif op == "starting":
            args[0].welcomed = True
            delivery.starting(args[0])
    flush_pending(delivery, pending, as_run=False)
    got = dict(delivery.collect(*readers(members)))
    assert got == expected


def readers(members: list) -> tuple:
    """The room's readers: welcomed, not gone, by kind."""
    live = [m for m in members if m.welcomed and not m.gone]
    return [m for m in live if not m.plain], [m for m in live if m.plain]


def flush_pending(delivery: Delivery, pending: list, as_run: bool) -> None:
    """Hand ``everyone`` ops over one by one, or a run with one exclude as one call."""
    if as_run and pending and all(ex is pending[0][1] for _, ex in pending) and pending[0][1]:
        delivery.everyone_many([out for out, _ in pending], pending[0][1])
    else:
        for out, exclude in pending:
            delivery.everyone(out, exclude)


def test_members_who_take_the_common_frames_share_one_bytes_object():
    members = [FakeMember(f"m{i}", plain=False, welcomed=True) for i in range(3)]
    delivery = Delivery()
    delivery.everyone(event(1))
    delivery.everyone(event(2))
    sends = delivery.collect(*readers(members))
    assert len({id(data) for _, data in sends}) == 1
    assert sends[0][1] == event(1).frame(False) + event(2).frame(False)


def test_a_plain_member_gets_the_text_frames():
    plain = FakeMember("p", plain=True, welcomed=True)
    delivery = Delivery()
    delivery.everyone(event(1))
    [(member, data)] = delivery.collect([], [plain])
    assert data == protocol.encode_frame("x: t1")


def test_an_empty_batch_sends_nothing():
    assert Delivery().collect([FakeMember("m", plain=False, welcomed=True)], []) == []
    assert not Delivery()
