"""The benchmark suite: every workload against our server and two baselines, one table.

    python bench/run.py                      # everything, about 3-4 minutes
    python bench/run.py --quick              # small sizes, a smoke run
    python bench/run.py --only burst steady --repeat 3
    python bench/run.py --only rooms --servers ours-mem   # runs burst first, for the ratio
    python bench/run.py --markdown bench/out/results.md
    python bench/run.py --only burst steady --plot     # also the chart, bench/results.png

Workloads (``bench/README.md`` says what each measures): ``burst``, ``rooms`` (our
server only; runs ``burst`` first and compares with it), ``steady``, ``stall``,
``slow`` (both run ``heavy`` first, the same load without the extra member, and
compare with it), ``conns`` and ``render`` (the GUI client, via
``bench_render.py --json``). Servers: ``ours-mem``, ``ours-file`` (history in
SQLite on disk), ``tutorial`` and ``asyncio`` (``bench/baselines``), and for
``burst`` and ``steady`` ngIRCd and Redis pub/sub when installed (``ngircd``,
``redis``; otherwise their cells say "skipped"). One server runs at a time, each
workload on a fresh one.

Prints the table, writes every raw figure to ``bench/out/results.json`` and, with
``--markdown FILE``, the table as markdown with the date and the machine. Only
127.0.0.1 is used; every wait is bounded; every server is stopped at the end.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, BENCH)

import plot  # noqa: E402
import report  # noqa: E402
from servers import KINDS, ROOT, raise_fd_limit  # noqa: E402
from workloads import CONTROLLED, Params, run_workload  # noqa: E402

WORKLOAD_NAMES = ("burst", "rooms", "steady", "stall", "slow", "conns", "render")
# Which servers each workload runs on by default: history on disk is compared on the
# message workloads; the rest would mostly measure SQLite again and cost minutes.
DEFAULT_SERVERS = {
    "burst": KINDS, "steady": KINDS,
    "rooms": ("ours-mem",),  # the baselines have no rooms
    "heavy": ("ours-mem", "tutorial", "asyncio"), "stall": ("ours-mem", "tutorial", "asyncio"),
    "slow": ("ours-mem", "tutorial", "asyncio"), "conns": ("ours-mem", "tutorial", "asyncio"),
}
RENDER_TIMEOUT_S = 120.0


def run_render(idle_seconds: float) -> dict:
    """``bench_render.py --json`` in a subprocess (headless); its figures or a failure.

    It runs in a session of its own, so that on a timeout its server goes too.
    """
    env = dict(os.environ, SDL_VIDEODRIVER="dummy", SDL_AUDIODRIVER="dummy",
               PYGAME_HIDE_SUPPORT_PROMPT="1")
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, os.path.join(BENCH, "bench_render.py"), "--json",
                             "--idle-seconds", str(idle_seconds)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=RENDER_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return {"ok": False, "failure": f"bench_render.py took over {RENDER_TIMEOUT_S:.0f} s"}
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    lines = out.strip().splitlines()
    if proc.returncode or not lines:
        return {"ok": False, "failure": f"bench_render.py exited {proc.returncode}: "
                                        f"{err.strip()[-500:]}"}
    return {"ok": True, **json.loads(lines[-1]), "wall_s": time.monotonic() - started}


def plan(only: list, servers: list) -> list:
    """(workload, [server kinds]) in run order; a compared workload's control goes first.

    A control that was not asked for runs only on the kinds its workload runs on.
    """
    steps = []
    for name in WORKLOAD_NAMES:
        if name not in only:
            continue
        if name in CONTROLLED and CONTROLLED[name] not in [s for s, _ in steps]:
            control = CONTROLLED[name]
            steps.append((control, [k for k in DEFAULT_SERVERS[control] if k in servers
                                    and k in DEFAULT_SERVERS.get(name, KINDS)]))
        if name == "render":
            steps.append((name, ["ours-mem"]))
        else:
            steps.append((name, [k for k in DEFAULT_SERVERS[name] if k in servers]))
    return [(name, kinds) for name, kinds in steps if kinds]


def _no_nan(value):
    """``value`` with every NaN replaced by None (NaN is not JSON)."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _no_nan(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_no_nan(v) for v in value]
    return value


def machine() -> dict:
    return {"platform": platform.platform(), "cpus": os.cpu_count(),
            "python": platform.python_version(), "load_avg_at_start": os.getloadavg()}


def machine_line(host: dict) -> str:
    return f"{host['platform']}, {host['cpus']} CPUs, Python {host['python']}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument("--only", nargs="+", choices=WORKLOAD_NAMES, default=list(WORKLOAD_NAMES),
                        metavar="WORKLOAD", help=f"run only these ({', '.join(WORKLOAD_NAMES)})")
    parser.add_argument("--servers", nargs="+", choices=KINDS, default=list(KINDS),
                        metavar="KIND", help=f"only these servers ({', '.join(KINDS)})")
    parser.add_argument("--repeat", type=int, default=1,
                        help="run everything N times; the table gives medians")
    parser.add_argument("--markdown", metavar="FILE", help="also write the table as markdown")
    parser.add_argument("--plot", nargs="?", const=os.path.join(BENCH, "results.png"),
                        metavar="PNG", help="also draw the burst and steady figures as a "
                        "chart (default file: bench/results.png)")
    parser.add_argument("--out", default=os.path.join(BENCH, "out", "results.json"),
                        help="where the raw results go (default: %(default)s)")
    parser.add_argument("--ours", default=ROOT, metavar="DIR",
                        help="run server.py from this checkout (A/B against another commit)")
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    if not os.path.isfile(os.path.join(args.ours, "server.py")):
        parser.error(f"no server.py in {args.ours}")

    raise_fd_limit()
    params = Params.quick() if args.quick else Params()
    params.ours_root = os.path.abspath(args.ours)
    steps = plan(args.only, args.servers)
    runs: dict = {}
    started, wall0 = time.time(), time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bench-run-") as workdir:
        for repeat in range(1, args.repeat + 1):
            for name, kinds in steps:
                for kind in kinds:
                    print(f"run {repeat}/{args.repeat}: {name:<6} {kind:<9} ...", end="",
                          flush=True)
                    if name == "render":
                        result = run_render(0.5 if args.quick else 3.0)
                    else:
                        control = None
                        if name in CONTROLLED:
                            control = runs.get(CONTROLLED[name], {}).get(kind, [None])[-1]
                        result = run_workload(name, kind, workdir, params, control)
                    runs.setdefault(name, {}).setdefault(kind, []).append(result)
                    flag = ("" if result.get("ok", True) else "  PROBLEM (see below)")
                    if result.get("skipped"):
                        flag = f"  skipped: {result['skipped']}"
                    print(f" {result.get('wall_s', math.nan):5.1f} s{flag}", flush=True)
    seconds = time.monotonic() - wall0

    rows = report.summarize(runs)
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(started))
    host = machine()
    command = " ".join(["python bench/run.py", *argv])
    header = (f"{when}; {host['platform']}, {host['cpus']} CPUs, Python {host['python']}, "
              f"load average {host['load_avg_at_start'][0]:.2f} at start; `{command}` "
              f"({args.repeat} run{'s' if args.repeat > 1 else ''}, {seconds:.0f} s)")
    print()
    print(header.replace("`", ""))
    print(report.text_table(rows))
    problems = report.notes(runs)
    if problems:
        print("\nProblems:")
        print("\n".join(f"  {line}" for line in problems))
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(_no_nan({"when": when, "seconds": round(seconds, 1), "machine": host,
                           "args": vars(args), "params": vars(params), "table": rows,
                           "runs": runs}), f, indent=1, default=str)
    print(f"\nwrote {args.out} ({seconds:.0f} s)")
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(report.markdown(rows, runs, header))
        print(f"wrote {args.markdown}")
    if args.plot:
        try:
            print(f"wrote {plot.save_chart(rows, args.plot, when + ', ' + machine_line(host))}")
        except ValueError as exc:
            print(f"no chart: {exc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
