"""Where our server's CPU goes during a broadcast burst: py-spy on the server process.

Starts ``server.py`` (as ``bench_broadcast.py`` does), connects N receivers and S
senders, attaches ``py-spy record`` (``pip install py-spy``) to the server for one burst,
and prints the functions by share of on-CPU samples (self and inclusive) and by thread.

    python bench/broadcast_profile.py --clients 10 --deliveries 200000

Only 127.0.0.1; bounded like the benchmark. The raw stacks are kept in bench/out/.
"""

from __future__ import annotations

import argparse
import collections
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bench_broadcast as bb  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--server", default="ours-mem", choices=["baseline", "ours-mem", "ours-file"])
    p.add_argument("--clients", type=int, default=10)
    p.add_argument("--senders", type=int, default=2)
    p.add_argument("--deliveries", type=int, default=200000)
    p.add_argument("--window", type=int, default=16)
    p.add_argument("--paced", type=int, default=0,
                   help="profile a paced phase of this many messages instead of a burst")
    p.add_argument("--rate", type=float, default=250.0)
    p.add_argument("--native", action="store_true", help="py-spy --native (C frames too)")
    p.add_argument("--gil", action="store_true", help="py-spy --gil: only the thread holding the GIL")
    p.add_argument("--top", type=int, default=40)
    p.add_argument("--sample-rate", type=int, default=250, help="py-spy samples per second")
    args = p.parse_args(argv)
    spy = shutil.which("py-spy")
    if spy is None:
        p.error("py-spy is not installed: pip install py-spy")
    out_dir = os.path.join(bb.ROOT, "bench", "out")
    os.makedirs(out_dir, exist_ok=True)
    raw = os.path.join(out_dir, f"profile-{args.server}-{args.clients}.txt")
    with tempfile.TemporaryDirectory(prefix="bench-profile-") as tmpdir:
        server = bb.Server(args.server, tmpdir)
        load = None
        try:
            load = bb.Load(server, args.clients, args.senders)
            cmd = [spy, "record", "-p", str(server.proc.pid), "-o", raw, "--format", "raw",
                   "-r", str(args.sample_rate), "--threads", "--nonblocking"]
            if args.native:
                cmd.append("--native")
            if args.gil:
                cmd.append("--gil")
            recorder = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            time.sleep(1.0)  # let py-spy attach
            if args.paced:
                result = bb.paced(load, args.paced, args.rate)
            else:
                recipients = args.clients + args.senders - 1
                per_sender = max(10, round(args.deliveries / (args.senders * recipients)))
                result = bb.burst(load, per_sender, args.window)
            recorder.send_signal(signal.SIGINT)
            try:
                recorder.wait(20)
            except subprocess.TimeoutExpired:
                recorder.kill()
                recorder.wait(5)
        finally:
            if load is not None:
                load.close()
            server.stop()
    print({k: round(v, 2) if isinstance(v, float) else v for k, v in result.items()})
    report(raw, args.top)
    return 0


def report(raw: str, top: int) -> None:
    selfs: collections.Counter = collections.Counter()
    incl: collections.Counter = collections.Counter()
    threads: collections.Counter = collections.Counter()
    total = 0
    with open(raw) as f:
        for line in f:
            stack, _, count = line.rstrip("\n").rpartition(" ")
            if not stack:
                continue
            n = int(count)
            frames = stack.split(";")
            total += n
            thread = frames[0].split(": ", 1)[-1]
            threads["handler" if "process_request" in thread else thread.split(" (")[0]] += n
            names = [fr.split(" (")[0] + " (" + fr.rsplit("/", 1)[-1] if "/" in fr else fr
                     for fr in frames[1:]]
            if names:
                selfs[names[-1]] += n
            for name in set(names):
                incl[name] += n
    print(f"\n{total} on-CPU samples")
    print("\nby thread:")
    for name, n in threads.most_common(10):
        print(f"  {100 * n / total:5.1f}%  {name}")
    print("\nself (the function itself was on top):")
    for name, n in selfs.most_common(top):
        print(f"  {100 * n / total:5.1f}%  {name}")
    print("\ninclusive:")
    for name, n in incl.most_common(top):
        print(f"  {100 * n / total:5.1f}%  {name}")


if __name__ == "__main__":
    sys.exit(main())
