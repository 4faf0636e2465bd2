"""The benchmark suite's own smoke test: a tiny burst through the real code path.

``bench/run.py`` compares our server with two baselines; the comparison only means
something if the load generator's completeness check holds for all three. Here 4
clients each pipeline 20 messages (240 deliveries) against a server subprocess of
each kind, exactly as ``python bench/run.py --only burst`` does, and every stream
must be complete, in order and fully acknowledged. The checker itself is also fed
streams with a loss, a duplicate, a reordering and a bad header, which it must flag.
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

TINY = Params(burst_clients=4, burst_messages=20, burst_timeout=8.0, workers=2)


@pytest.mark.parametrize("kind", ["ours-mem", "tutorial", "asyncio"])
def test_tiny_burst_is_complete_on_every_server(kind, tmp_path):
    result = run_workload("burst", kind, str(tmp_path), TINY)
    assert result["ok"], result
    assert result["deliveries"] == result["expected_deliveries"] == 4 * 20 * 3
    assert not result["problems"]
    assert result["server_cpu_s"] >= 0  # clock ticks: a tiny run may read 0


def _message(seq: int, sender: int, n: int) -> bytes:
    text = f"b{sender}:{n}:0:".ljust(100, "x")
    return frame(b'{"type":"message","seq":%d,"from":"b%d","text":"%s","kind":"chat"}'
                 % (seq, sender, text.encode()))


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
