"""A short soak (bench/soak.py) as a test; only with ``pytest -m slow``.

It runs 50 simulated clients with random behaviour for 20 seconds against a server
subprocess and passes when the script's own checks pass: no acknowledged line lost,
duplicated or reordered between the checker clients, no error in the server's log,
threads and file descriptors back to the baseline once every client left, and a clean
exit on SIGTERM.
"""

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.live  # real sockets or processes

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.slow
def test_short_soak_keeps_every_acked_line_and_returns_to_baseline(tmp_path):
    report = tmp_path / "soak.json"
    result = subprocess.run(
        [sys.executable, os.path.join(ROOT, "bench", "soak.py"), "--clients", "50",
         "--seconds", "20", "--interval", "5", "--json", str(report)],
        capture_output=True, text=True, timeout=90)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    figures = json.loads(report.read_text())
    assert not figures["problems"]
    assert figures["totals"]["deliveries"] > 500, figures["totals"]
    assert figures["totals"]["acks"] > 50, figures["totals"]
    start, idle = figures["samples"][0], figures["idle"]
    assert idle["threads"] <= start["threads"] and idle["fds"] <= start["fds"], (start, idle)
