"""The cluster benchmark runs end to end (a small smoke run: real Redis, real servers)."""

import json
import math
import os
import subprocess
import sys

from conftest import ROOT
from redisserver import needs_redis

pytestmark = [needs_redis]


def test_cluster_benchmark_smoke_run_measures_every_set_up():
    done = subprocess.run([sys.executable, os.path.join("bench", "cluster.py"), "--quick", "--json"],
                          cwd=ROOT, capture_output=True, text=True, timeout=100)
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)
    assert [r["servers"] for r in results] == [0, 1, 2, 3]
    for result in results:
        assert result["deliveries"] == 2 * 50 * 5  # every line reached every other member
        assert result["deliveries_per_s"] > 0
        assert math.isfinite(result["p50_ms"]) and result["p50_ms"] <= result["p99_ms"]
