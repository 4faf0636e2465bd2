"""bench/bench_journal.py runs: a few lines through a real journal, figures that add up."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "bench"))

import bench_journal  # noqa: E402


def test_the_journal_bench_measures_this_checkout_in_its_own_process():
    figures = bench_journal.run_in(bench_journal.ROOT, lines=300, batch=128)
    assert figures["us_per_line"] > figures["row_us_per_line"] > 0
    # 300 lines of 100 characters cannot take less room than their text.
    assert figures["bytes_per_line"] > 100


def test_the_journal_bench_prints_both_checkouts(capsys):
    assert bench_journal.main(["--lines", "200", "--repeat", "1", "--ours",
                               bench_journal.ROOT]) == 0
    out = capsys.readouterr().out
    assert out.count("us CPU a line") == 2 and "this/other:" in out
