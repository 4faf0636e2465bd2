"""The benchmark suite's own smoke test: a tiny burst through the real code path.

``bench/run.py`` compares our server with two baselines; the comparison only means
something if the load generator's completeness check holds for all three. Here 4
clients each pipeline 20 messages (240 deliveries) against a server subprocess of
each kind, exactly as ``python bench/run.py --only burst`` does, and every stream
must be complete, in order and fully acknowledged. The checker itself is also fed
streams with a loss, a duplicate, a reordering and a bad header, which it must flag.

The ``rooms`` workload runs tiny too (2 rooms x 2 members, our server only: the
baselines have no rooms), and the checker must flag a line from another room.
"""

from __future__ import annotations

import os
import sys

import pytest

BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench")
if BENCH not in sys.path:
    sys.path.insert(0, BENCH)

from clients import Member, frame  # noqa: E402
from workloads import Params, run_workload  # noqa: E402

pytestmark = pytest.mark.live  # real sockets or processes

TINY = Params(burst_clients=4, burst_messages=20, burst_timeout=8.0, workers=2,
              rooms=2, room_members=2)


@pytest.mark.parametrize("kind", ["ours-mem", "tutorial", "asyncio"])
def test_tiny_burst_is_complete_on_every_server(kind, tmp_path):
    result = run_workload("burst", kind, str(tmp_path), TINY)
    assert result["ok"], result
    assert result["deliveries"] == result["expected_deliveries"] == 4 * 20 * 3
    assert not result["problems"]
    assert result["server_cpu_s"] >= 0  # clock ticks: a tiny run may read 0


def test_tiny_rooms_is_complete_per_room_and_compared_with_burst(tmp_path):
    control = run_workload("burst", "ours-mem", str(tmp_path), TINY)
    result = run_workload("rooms", "ours-mem", str(tmp_path), TINY, control)
    assert result["ok"], result
    # 2 rooms x 2 members: each member gets its one room-mate's 60 lines.
    assert TINY.rooms_per_member() == 60
    assert result["deliveries"] == result["expected_deliveries"] == 2 * 2 * 1 * 60
    assert not result["problems"]
    # Clock ticks: a tiny run may read 0 CPU (then no cost ratio is given); the rate not.
    if control["us_per_delivery"] > 0:
        assert result["cost_vs_burst"] >= 0 and result["rate_vs_burst"] > 0


def _message(seq: int, sender: int, n: int, room: str = "") -> bytes:
    text = f"b{sender}:{n}:0:".ljust(100, "x")
    where = f',"room":"{room}"'.encode() if room else b""
    return frame(b'{"type":"message","seq":%d,"from":"b%d","text":"%s","kind":"chat"%s}'
                 % (seq, sender, text.encode(), where))


def _receiver() -> Member:
    member = Member("b1", index=1, senders=2, per_sender=3)
    member.on_data(frame(b'{"type":"welcome","name":"b1","users":["b0","b1"],"seq":2}'), 0)
    return member


def test_checker_accepts_a_complete_stream_split_anywhere():
    stream = b"".join(_message(3 + n, 0, n) for n in range(3))
    member = _receiver()
    for i in range(len(stream)):  # one byte at a time: frames cut at every position
        member.on_data(stream[i:i + 1], 0)
    assert member.missing() == 0
    assert member.counts["delivered"] == 3
    assert not member.problems


def test_checker_flags_loss_duplicate_reordering_and_bad_header():
    member = _receiver()
    member.on_data(_message(3, 0, 1) + _message(4, 0, 0) + _message(5, 0, 0), 0)
    assert member.counts["out_of_order"] == 1
    assert member.counts["duplicates"] == 1
    assert member.missing() == 1  # message 2 never came
    member.on_data(b"12x".ljust(64) + b"{}", 0)
    assert member.counts["framing_errors"] == 1


def test_checker_flags_a_seq_that_goes_back():
    member = _receiver()
    member.on_data(_message(9, 0, 0) + _message(8, 0, 1), 0)
    assert member.counts["seq_regressions"] == 1


def _room_member() -> Member:
    """b1 of #r0 (b0, b1), with b2 and b3 in #r1, welcomed and settled in its room."""
    member = Member("b1", index=1, senders=4, per_sender=2, room="#r0", room_size=2,
                    peers=[0])
    member.on_data(frame(b'{"type":"welcome","name":"b1","users":["b0","b1"],"seq":2}'), 0)
    assert b"/join #r0" in member.out  # asks for its room once welcomed
    assert not member.settled(2)
    member.on_data(frame(b'{"type":"joined","seq":3,"room":{"room":"#r0","users":["b0","b1"]}}')
                   + frame(b'{"type":"ack","id":"join","seq":null}'), 0)
    assert member.settled(2)
    return member


def test_room_checker_counts_its_room_and_flags_another_rooms_lines():
    member = _room_member()
    member.on_data(_message(4, 0, 0, "#r0") + _message(5, 0, 1, "#r0"), 0)
    assert member.counts["delivered"] == 2 and member.missing() == 0
    assert member.counts["acks"] == 0  # the /join's ack is not one of its lines' acks
    member.on_data(_message(6, 2, 0, "#r1"), 0)      # another room's line
    member.on_data(_message(7, 3, 0, "#r0"), 0)      # a non-member's line in our room
    assert member.counts["wrong_room"] == 2
    assert member.counts["delivered"] == 2


def test_room_checker_skips_the_rooms_history():
    member = Member("b1", index=1, senders=2, per_sender=2, room="#r0", room_size=2,
                    peers=[0])
    member.on_data(frame(b'{"type":"welcome","name":"b1","users":["b0","b1"],"seq":2}'), 0)
    old = (b'{"type":"message","seq":1,"from":"b0","text":"hi","kind":"chat",'
           b'"room":"#r0","replay":true}')
    member.on_data(frame(b'{"type":"joined","seq":3,"room":{"room":"#r0","users":["b0","b1"]}}')
                   + frame(old) + frame(b'{"type":"ack","id":"join","seq":null}'), 0)
    assert member.counts["replayed"] == 1
    assert not member.counts["seq_regressions"]
    assert member.settled(2)
