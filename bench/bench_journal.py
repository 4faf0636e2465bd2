"""The journal's own cost per chat line, in one process: rows made and committed.

Not a test (timings depend on the machine). A burst's lines reach the journal in
batches of a few hundred; this submits ``--lines`` room lines in batches of
``--batch`` to a real ``Journal`` on a file in a new folder, each batch run inline as
``incoming.said`` runs it, with deliveries that do nothing, and reports the CPU per
line (making the rows, committing them) and the bytes per line on disk. With
``--ours DIR`` it measures that checkout too, alternating, each in its own process:

    python bench/bench_journal.py
    mkdir /tmp/old && git archive HEAD~5 | tar -x -C /tmp/old && \\
        python bench/bench_journal.py --ours /tmp/old --repeat 5
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def measure(lines: int, batch: int) -> dict:
    """One run in this process, of the checkout on ``sys.path``."""
    from lanchat.server.delivery import Outgoing
    from lanchat.server.journal import Journal

    with tempfile.TemporaryDirectory(prefix="bench-journal-") as folder:
        journal = Journal(os.path.join(folder, "history.db"))
        journal.start(lambda actions: None)
        now = time.time()
        outs = [Outgoing({"type": "message", "seq": seq, "ts": now, "from": "b3",
                          "text": "x" * 100, "kind": "chat", "room": "#lobby"})
                for seq in range(1, lines + 1)]
        bodies = [out.body() for out in outs]  # the broadcast encodes them anyway
        session = "s" * 24
        row_s = 0.0
        started = time.process_time()
        for first in range(0, lines, batch):
            made = time.process_time()
            rows = [journal.row(outs[i].event, sender="b3", session=session, msg_id=f"m{i}",
                                body=bodies[i]) for i in range(first, min(first + batch, lines))]
            row_s += time.process_time() - made
            journal.submit_rows(rows, lambda: None, wake=False)
            journal.run_inline()
        journal.close()  # waits for the last commit
        cpu = time.process_time() - started
        size = sum(os.path.getsize(os.path.join(folder, name)) for name in os.listdir(folder)
                   if name.startswith("history.db"))
    return {"us_per_line": 1e6 * cpu / lines, "row_us_per_line": 1e6 * row_s / lines,
            "bytes_per_line": size / lines}


def run_in(root: str, lines: int, batch: int) -> dict:
    """``measure`` in a new process running the checkout at ``root``."""
    code = (f"import sys, json; sys.path.insert(0, {root!r}); sys.path.insert(0, {ROOT + '/bench'!r}); "
            f"import bench_journal; print(json.dumps(bench_journal.measure({lines}, {batch})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300, cwd=root)
    if out.returncode != 0:
        raise RuntimeError(f"{root}: {out.stderr.strip()[-400:]}")
    return json.loads(out.stdout)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lines", type=int, default=51200)
    parser.add_argument("--batch", type=int, default=256, help="lines per batch")
    parser.add_argument("--repeat", type=int, default=3, help="runs per checkout (medians)")
    parser.add_argument("--ours", metavar="DIR", help="also measure this checkout")
    args = parser.parse_args(argv)
    trees = {"this": ROOT}
    if args.ours:
        trees["other"] = os.path.abspath(args.ours)
    runs: dict = {name: [] for name in trees}
    for _ in range(args.repeat):
        for name, root in trees.items():
            runs[name].append(run_in(root, args.lines, args.batch))
    for name, root in trees.items():
        median = {key: statistics.median(r[key] for r in runs[name]) for key in runs[name][0]}
        print(f"{name:5} {root}: {median['us_per_line']:.2f} us CPU a line "
              f"(rows {median['row_us_per_line']:.2f}), {median['bytes_per_line']:.0f} bytes "
              f"a line on disk ({args.repeat} runs, medians)")
    if args.ours:
        this, other = (statistics.median(r["us_per_line"] for r in runs[name]) for name in trees)
        print(f"this/other: {this / other:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
