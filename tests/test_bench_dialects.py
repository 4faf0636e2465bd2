"""The C baselines of the benchmark suite: ngIRCd and Redis pub/sub, and their load clients.

``bench/run.py`` runs ``burst`` and ``steady`` against ngIRCd (IRC) and Redis (RESP3
pub/sub) when they are installed, with ``bench/dialects.py``'s members checked by
the same ``Member.deliver`` as ours. Here: a tiny burst on each (skipped when the
binary is missing), a missing binary gives a "skipped" result rather than a failure,
the two parsers fed whole, byte by byte and with a trailing partial reply, and the
chart drawn from a table.
"""

from __future__ import annotations

import os
import sys

import pytest
from hypothesis import given, settings, strategies as st

BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench")
if BENCH not in sys.path:
    sys.path.insert(0, BENCH)

from dialects import IrcMember, RespMember  # noqa: E402
from servers import missing_reason  # noqa: E402
from workloads import Params, run_workload  # noqa: E402

TINY = Params(burst_clients=4, burst_messages=20, burst_timeout=8.0, workers=2)


@pytest.mark.live
@pytest.mark.parametrize("kind", ["ngircd", "redis"])
def test_tiny_burst_is_complete_on_the_c_servers(kind, tmp_path):
    if missing_reason(kind):
        pytest.skip(missing_reason(kind))
    result = run_workload("burst", kind, str(tmp_path), TINY)
    assert result["ok"], result
    assert result["deliveries"] == result["expected_deliveries"] == 4 * 20 * 3
    assert not result["problems"]


def test_a_missing_binary_is_a_skipped_row_not_a_failure(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing is installed here
    import report
    result = run_workload("burst", "redis", str(tmp_path), TINY)
    assert result["ok"] and result["skipped"] == "redis-server is not installed"
    assert report.completeness(result) == "skipped: redis-server is not installed"
    rows = report.summarize({"burst": {"redis": [result]}})
    assert rows[0]["values"]["redis"] is None  # no number, no ratio
    assert report.notes({"burst": {"redis": [result]}}) == [
        "burst / redis: skipped, redis-server is not installed"]


def _irc_stream() -> bytes:
    text = lambda n: b"b0:%d:5:" % n + b"x" * 90  # noqa: E731
    lines = [b":bench.invalid 001 b1 :Welcome", b":bench.invalid 353 b1 = #bench :b0 b1",
             b":bench.invalid 366 b1 #bench :End of NAMES list",
             b":b2!~b2@localhost JOIN :#bench"]
    lines += [b":b0!~b0@localhost PRIVMSG #bench :" + text(n) for n in range(3)]
    lines += [b":bench.invalid PONG bench.invalid :acked"]
    return b"".join(line + b"\r\n" for line in lines)


def _resp_stream() -> bytes:
    msg = lambda n: (b">3\r\n$7\r\nmessage\r\n$5\r\nbench\r\n$100\r\n"  # noqa: E731
                     + (b"b0:%d:5:" % n).ljust(100, b"x") + b"\r\n")
    hello = (b"%3\r\n$6\r\nserver\r\n$5\r\nredis\r\n$5\r\nproto\r\n:3\r\n"
             b"$7\r\nmodules\r\n*0\r\n")
    subscribed = b">3\r\n$9\r\nsubscribe\r\n$5\r\nbench\r\n:1\r\n"
    own = b">3\r\n$7\r\nmessage\r\n$5\r\nbench\r\n$7\r\nb1:0:5:\r\n"
    return hello + subscribed + msg(0) + b":3\r\n" + own + msg(1) + msg(2)


def _fed(member, stream: bytes, cuts: list):
    start = 0
    for cut in sorted(set(cuts)) + [len(stream)]:
        member.on_data(stream[start:cut], 0)
        start = cut
    return member


def _check(member, acks: int) -> None:
    assert member.welcomed and not member.problems
    assert member.counts["delivered"] == 3 and member.missing() == 0
    assert member.counts["acks"] == acks


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(0, len(_irc_stream())), max_size=12))
def test_irc_member_parses_a_stream_cut_anywhere(cuts):
    member = _fed(IrcMember("b1", 1, 2, 3, send_count=1), _irc_stream(), cuts)
    _check(member, acks=1)
    assert member.users == 2 and member.counts["joins"] == 1
    assert b"JOIN #bench\r\n" in member.out  # asked to join once welcomed (001)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(0, len(_resp_stream())), max_size=12))
def test_resp_member_parses_a_stream_cut_anywhere(cuts):
    member = _fed(RespMember("b1", 1, 2, 3, send_count=1), _resp_stream(), cuts)
    _check(member, acks=1)
    assert member.echoes == 1 and member.settled(2)


def test_parsers_byte_by_byte_and_with_a_trailing_partial_reply():
    irc = IrcMember("b1", 1, 2, 3, send_count=1)
    resp = RespMember("b1", 1, 2, 3, send_count=1)
    for member, stream, partial in ((irc, _irc_stream(), b":b0!~b0@h PRIV"),
                                    (resp, _resp_stream(), b">3\r\n$7\r\nmess")):
        for i in range(len(stream)):
            member.on_data(stream[i:i + 1], 0)
        member.on_data(partial, 0)
        _check(member, acks=1)
        assert bytes(member.buf) == partial  # kept for the next read


def test_irc_member_flags_loss_and_reordering():
    member = IrcMember("b1", 1, 3, 3)
    line = lambda n: b":b0!~b0@h PRIVMSG #bench :b0:%d:5:xx\r\n" % n  # noqa: E731
    member.on_data(line(2) + line(0) + line(0), 0)
    assert member.counts["out_of_order"] == 1 and member.counts["duplicates"] == 1
    assert member.missing() == 1 + 3  # b0's line 1, and all of b2's


def test_resp_member_reports_an_error_reply():
    member = RespMember("b1", 1, 2, 3)
    member.on_data(_resp_stream(), 0)
    member.on_data(b"-ERR unknown command\r\n", 0)
    assert member.counts["errors"] == 1
    member.on_data(b"$x\r\n", 0)  # not a length: a framing error, not a crash
    assert member.counts["framing_errors"] == 1


def test_the_chart_is_a_png_with_a_bar_per_server(tmp_path):
    import pygame
    import plot
    rows = [{"workload": "burst", "label": "server CPU us/delivery", "digits": 2,
             "values": {"ours-mem": 1.0, "redis": 0.2, "ngircd": "skipped: not installed"},
             "ratios": {}}]
    path = plot.save_chart(rows, str(tmp_path / "chart.png"), "title")
    image = pygame.image.load(path)
    assert image.get_width() == plot.WIDTH
    assert image.get_height() > 100
