"""The workloads: each starts a fresh server, drives it with a Fleet, returns its figures.

A *delivery* is one message reaching one other client. Every workload that sends
messages checks completeness at every receiver: no message lost, none duplicated,
each sender's messages in the order sent, every event's seq above the last, every
frame well framed, every sender's messages all acknowledged.

Server CPU is read just before the clients start sending (after everyone has joined
and every join event has arrived, so joins are not counted; in ``rooms``, after every
member has also entered its room) and again as soon as every member has its last
delivery and ack.
"""

from __future__ import annotations

import array
import collections
import math
import time
from dataclasses import dataclass
from typing import Optional

from clients import IdleClient, Member, SlowReader, Staller
from dialects import IrcMember, RespMember
from loadgen import Fleet, LoadError, split
from servers import ROOT, Missing, ServerProcess

# A message frame as our server writes it: 64-byte header + ~190 bytes of JSON
# around a 100-character text. Used to size the stall/slow bursts in bytes.
FRAME_BYTES_ESTIMATE = 250
JOIN_TIMEOUT_S = 60.0
JOIN_GRACE_S = 10.0        # for the joins in flight when no new one may start
SETTLE_TIMEOUT_S = 30.0
START_DELAY_NS = 50_000_000  # "go" is this far ahead, so every worker starts together
MARKER = "@@everyone@@"


@dataclass
class Params:
    """Sizes of every workload (``quick()`` gives the smoke-test sizes)."""

    workers: int = 2                # load-generator processes for the message workloads
    text_len: int = 100
    burst_clients: int = 20
    burst_messages: int = 500       # per client, all pipelined
    burst_timeout: float = 60.0
    rooms: int = 20                 # the rooms workload: this many rooms ...
    room_members: int = 10          # ... of this many members each, all sending at once
    rooms_messages: int = 0         # per member; 0: scaled to burst's deliveries (below)
    steady_clients: int = 50
    steady_rate: float = 10.0       # messages/s per client
    steady_seconds: float = 10.0
    extra_clients: int = 10         # the senders of the stall and slow workloads
    extra_mbytes: float = 20.0      # headed for the staller / slow reader (~5 s of heavy)
    extra_timeout: float = 30.0
    extra_window: int = 64          # unacked messages per sender in stall/slow (see README)
    slow_rate: float = 500_000.0    # bytes/s the slow reader takes
    staller_rcvbuf: int = 4096
    conns: int = 5000
    conns_workers: int = 4
    conns_parallel: int = 512       # joins in flight per worker: a crowd (backlog 4096)
    conns_timeout: float = 25.0     # each of: joining, the join fan-out, the broadcast
    ours_root: str = ROOT           # the checkout whose server.py is "ours"

    def rooms_per_member(self) -> int:
        """Lines each ``rooms`` member sends: ``rooms_messages``, or by default as many
        as give the same number of deliveries as ``burst`` (so both take about as
        long): 20 x 19 x 500 / (20 rooms x 10 x 9) = 106."""
        if self.rooms_messages:
            return self.rooms_messages
        burst = self.burst_clients * (self.burst_clients - 1) * self.burst_messages
        per_line = self.rooms * self.room_members * (self.room_members - 1)
        return max(1, round(burst / per_line)) if per_line else 0

    @classmethod
    def quick(cls) -> "Params":
        return cls(burst_clients=10, burst_messages=100, burst_timeout=20.0, steady_clients=20,
                   steady_seconds=1.0, extra_clients=5, extra_mbytes=1.0, extra_timeout=15.0,
                   conns=300, conns_workers=2, conns_timeout=20.0)


class Session:
    """A fresh server of ``kind`` and a Fleet over ``clients``; both stopped on exit."""

    def __init__(self, kind: str, workdir: str, clients: list, workers: int, ours_root: str):
        self.server = ServerProcess(kind, workdir, ours_root=ours_root)
        self.rss_start = self.server.rss_bytes()
        self.clients = clients
        try:
            self.fleet = Fleet(self.server.port, split(clients, workers))
        except BaseException:
            self.server.stop()
            raise

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc) -> None:
        # The server first: closing thousands of clients first would make it
        # broadcast thousands of leaves to everyone still there.
        try:
            self.server.stop()
        finally:
            self.fleet.close()

    def join(self, timeout: float, parallel: int, grace: float = JOIN_GRACE_S) -> dict:
        """Connect and join everyone; counts, failures by reason and the join time."""
        answers = self.fleet.step("join", timeout + grace, timeout=timeout, parallel=parallel,
                                  grace=grace)
        failed: collections.Counter = collections.Counter()
        for answer in answers:
            failed.update(answer["failed"])
        first = min(a["first_ns"] for a in answers if a["first_ns"])
        last = max(a["last_welcome_ns"] for a in answers)
        return {"welcomed": sum(a["welcomed"] for a in answers), "failed": dict(failed),
                "seconds": (last - first) / 1e9 if last else math.nan, "start_ns": first}

    def settle(self, total: int, timeout: float) -> dict:
        answers = self.fleet.step("settle", timeout, total=total, timeout=timeout)
        return {"complete": all(a["complete"] for a in answers),
                "settled": sum(a["settled"] for a in answers), "of": sum(a["of"] for a in answers),
                "last_ns": max(a["last_ns"] for a in answers)}


# The load clients of the servers that do not speak our protocol (burst and steady).
DIALECTS = {"ngircd": IrcMember, "redis": RespMember}


def _members(count: int, per_sender: int, kind: str = "", **kwargs) -> list:
    cls = DIALECTS.get(kind, Member)
    return [cls(f"b{i}", i, count, per_sender, send_count=per_sender, **kwargs)
            for i in range(count)]


def _failure(why: str) -> dict:
    return {"ok": False, "failure": why}


def message_run(kind: str, workdir: str, p: Params, members: list, extras: list,
                timeout: float) -> dict:
    """Join ``members`` + ``extras``, let every member send, check every stream.

    Returns the figures: deliveries/s, server CPU per delivery, completeness counts,
    latencies (nanoseconds, when the members record them) and the extras' fate.
    """
    expected = sum(m.expected_deliveries for m in members)
    sent = sum(m.send_count for m in members)
    with Session(kind, workdir, members + extras, p.workers, p.ours_root) as s:
        joined = s.join(JOIN_TIMEOUT_S, 16)
        if joined["welcomed"] < len(s.clients):
            return _failure(f"only {joined['welcomed']} of {len(s.clients)} joined: "
                            f"{joined['failed']}")
        settled = s.settle(len(s.clients), SETTLE_TIMEOUT_S)
        if not settled["complete"]:
            return _failure(f"join events did not all arrive ({settled['settled']} of "
                            f"{settled['of']} clients saw everyone)")
        cpu0 = s.server.cpu_seconds()
        go_ns = time.monotonic_ns() + START_DELAY_NS
        runs = s.fleet.step("run", timeout, go_ns=go_ns, timeout=timeout)
        cpu1 = s.server.cpu_seconds()
        finished = all(r["complete"] for r in runs)
        end_ns = max(r["last_ns"] for r in runs) if finished else time.monotonic_ns()
        reports = s.fleet.step("report", 5.0, drain_s=3.0)
        alive = s.server.alive()
    server_log = s.server.log_tail
    totals: collections.Counter = collections.Counter()
    for report in reports:
        totals.update(report["totals"])
    seconds = (end_ns - go_ns) / 1e9
    delivered = totals["delivered"]
    problems = {k: totals[k] for k in ("missing", "duplicates", "out_of_order",
                                       "seq_regressions", "framing_errors", "bad_bodies",
                                       "wrong_room", "errors", "closed") if totals[k]}
    if totals["acks"] != sent:
        problems["acks"] = f"{totals['acks']} of {sent}"
    latencies = array.array("q")
    for report in reports:
        latencies.frombytes(report["latencies"])
    return {
        "ok": finished and not problems and alive,
        "timed_out": not finished,
        "server_alive": alive,
        "expected_deliveries": expected, "deliveries": delivered,
        "seconds": seconds,
        "deliveries_per_s": delivered / seconds if seconds > 0 else math.nan,
        "server_cpu_s": cpu1 - cpu0,
        "us_per_delivery": (cpu1 - cpu0) / delivered * 1e6 if delivered else math.nan,
        "us_per_line": (cpu1 - cpu0) / sent * 1e6 if sent else math.nan,
        "loadgen_cpu_s": sum(r["cpu_s"] for r in runs),
        "problems": problems,
        "problem_samples": [p for r in reports for p in r["problems"]][:40],
        "left": sorted({name for r in reports for name in r["left"]}),
        "extras": [e for r in reports for e in r["extras"]],
        "latencies_ns": latencies,
        "server_log": server_log,
    }


def burst(kind: str, workdir: str, p: Params) -> dict:
    """``burst_clients`` clients each pipeline ``burst_messages`` messages at once."""
    members = _members(p.burst_clients, p.burst_messages, kind, text_len=p.text_len)
    result = message_run(kind, workdir, p, members, [], p.burst_timeout)
    result.pop("latencies_ns", None)
    return result


def rooms(kind: str, workdir: str, p: Params, control: Optional[dict] = None) -> dict:
    """``rooms`` rooms of ``room_members`` each, every member pipelining its lines at once.

    Every member is in ``#lobby`` (everyone is) and enters ``#r<k>`` once welcomed; its
    lines go to that room only, and it must get every line of its room's other
    members and nothing else. ``control`` is the same run's one-room ``burst`` result:
    the CPU per delivery and the rate are also given as ratios to it.
    """
    size, per_member = p.room_members, p.rooms_per_member()
    senders = p.rooms * size
    members = []
    for i in range(senders):
        first = i - i % size
        members.append(Member(f"b{i}", i, senders, per_member, send_count=per_member,
                              text_len=p.text_len, room=f"#r{i // size}", room_size=size,
                              peers=[j for j in range(first, first + size) if j != i]))
    result = message_run(kind, workdir, p, members, [], p.burst_timeout)
    result.pop("latencies_ns", None)
    result.update(rooms=p.rooms, room_members=size, per_member=per_member)
    if control and control.get("ok") and result.get("ok") and control["us_per_delivery"] > 0:
        result["cost_vs_burst"] = result["us_per_delivery"] / control["us_per_delivery"]
        result["rate_vs_burst"] = result["deliveries_per_s"] / control["deliveries_per_s"]
        result["line_cost_vs_burst"] = result["us_per_line"] / control["us_per_line"]
    return result


def steady(kind: str, workdir: str, p: Params) -> dict:
    """``steady_clients`` clients each at ``steady_rate``/s, phases spread evenly."""
    count = round(p.steady_rate * p.steady_seconds)
    interval_ns = round(1e9 / p.steady_rate)
    cls = DIALECTS.get(kind, Member)
    members = [cls(f"b{i}", i, p.steady_clients, count, send_count=count,
                      interval_ns=interval_ns, phase_ns=interval_ns * i // p.steady_clients,
                      text_len=p.text_len, latency=True)
               for i in range(p.steady_clients)]
    result = message_run(kind, workdir, p, members, [], p.steady_seconds + p.burst_timeout)
    latencies = sorted(result.pop("latencies_ns", []))
    for q in (50, 90, 99):
        result[f"latency_p{q}_ms"] = _percentile(latencies, q) / 1e6
    result["latency_max_ms"] = latencies[-1] / 1e6 if latencies else math.nan
    return result


def _extra_senders(p: Params) -> list:
    per_sender = math.ceil(p.extra_mbytes * 1e6 / (p.extra_clients * FRAME_BYTES_ESTIMATE))
    return _members(p.extra_clients, per_sender, text_len=p.text_len, window=p.extra_window)


def heavy(kind: str, workdir: str, p: Params) -> dict:
    """The stall/slow load without the extra member: what those two are compared with."""
    result = message_run(kind, workdir, p, _extra_senders(p), [], p.extra_timeout)
    result.pop("latencies_ns", None)
    return result


def _with_extra(kind: str, workdir: str, p: Params, extra: Member,
                control: Optional[dict]) -> dict:
    """``heavy`` plus ``extra``; its rate relative to ``control`` (a ``heavy`` result).

    A server that blocks on the extra member never finishes, so the run may take at
    most twice as long as the control, plus 2 s (at most ``extra_timeout``).
    """
    timeout = p.extra_timeout
    if control and control.get("ok"):
        timeout = min(timeout, 2 * control["seconds"] + 2.0)
    result = message_run(kind, workdir, p, _extra_senders(p), [extra], timeout)
    result.pop("latencies_ns", None)
    fate = next((e for e in result.get("extras", []) if e["name"] == extra.name), {})
    result["extra_fate"] = fate
    result["extra_dropped"] = extra.name in result.get("left", []) or bool(fate.get("closed"))
    if control and control.get("deliveries_per_s") and "deliveries_per_s" in result:
        result["vs_control"] = result["deliveries_per_s"] / control["deliveries_per_s"]
    return result


def stall(kind: str, workdir: str, p: Params, control: Optional[dict] = None) -> dict:
    """``heavy`` while one more member never reads (tiny SO_RCVBUF): is it dropped?"""
    senders, per_sender = p.extra_clients, _extra_senders(p)[0].send_count
    staller = Staller("staller", senders, senders, per_sender, rcvbuf=p.staller_rcvbuf)
    return _with_extra(kind, workdir, p, staller, control)


def slow(kind: str, workdir: str, p: Params, control: Optional[dict] = None) -> dict:
    """``heavy`` while one more member reads at ``slow_rate`` bytes/s."""
    senders, per_sender = p.extra_clients, _extra_senders(p)[0].send_count
    reader = SlowReader("slow", p.slow_rate, index=senders, senders=senders,
                        per_sender=per_sender)
    result = _with_extra(kind, workdir, p, reader, control)
    fate = result["extra_fate"]
    result["extra_well_formed"] = bool(fate) and not fate.get("bad")
    return result


def conns(kind: str, workdir: str, p: Params) -> dict:
    """``conns`` idle joined connections: join time, RSS each, one broadcast to all."""
    clients = [IdleClient(f"c{i}", MARKER.encode()) for i in range(p.conns)]
    with Session(kind, workdir, clients, p.conns_workers, p.ours_root) as s:
        result = _conns_steps(s, p)
    result["server_log"] = s.server.log_tail
    return result


def _conns_steps(s: Session, p: Params) -> dict:
    cpu0 = s.server.cpu_seconds()
    joined = s.join(p.conns_timeout, p.conns_parallel)
    result = {"ok": False, "wanted": p.conns, "joined": joined["welcomed"],
              "join_failures": joined["failed"], "join_s": joined["seconds"]}
    if not joined["welcomed"]:
        return {**result, "failure": f"nobody joined: {joined['failed']}"}
    settled = s.settle(joined["welcomed"], p.conns_timeout)
    result["fanout_done_s"] = (settled["last_ns"] - joined["start_ns"]) / 1e9
    result["settled"] = settled["complete"]
    result["join_cpu_s"] = s.server.cpu_seconds() - cpu0
    result["rss_start_mib"] = s.rss_start / 2 ** 20
    rss = s.server.rss_bytes()
    result["rss_mib"] = rss / 2 ** 20
    result["rss_per_conn_kib"] = (rss - s.rss_start) / joined["welcomed"] / 1024
    sent_ns = s.fleet.step("say", 5.0, only=[0], marker=MARKER,
                           text_len=p.text_len)[0]["sent_ns"]
    answers = s.fleet.step("await_marker", p.conns_timeout, timeout=p.conns_timeout)
    seen, of = sum(a["seen"] for a in answers), sum(a["of"] for a in answers)
    last_ns = max(a["last_ns"] for a in answers)
    result["broadcast_reached"] = seen
    result["broadcast_of"] = of
    result["broadcast_ms"] = (last_ns - sent_ns) / 1e6 if seen == of else math.nan
    result["ok"] = joined["welcomed"] == p.conns and settled["complete"] and seen == of
    if not result["ok"]:
        result["failure"] = (f"joined {joined['welcomed']} of {p.conns} in the "
                             f"{p.conns_timeout:.0f} s budget "
                             f"({joined['failed'] or 'no failures'}); fan-out "
                             f"{'done' if settled['complete'] else 'timed out'}; "
                             f"broadcast reached {seen} of {of}")
    return result


def _percentile(values: list, q: float) -> float:
    if not values:
        return math.nan
    k = (len(values) - 1) * q / 100
    lo = int(k)
    hi = min(lo + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


WORKLOADS = {"burst": burst, "rooms": rooms, "steady": steady, "heavy": heavy, "stall": stall,
             "slow": slow, "conns": conns}
# workload -> the one it is compared with (run first, on the same server kinds)
CONTROLLED = {"stall": "heavy", "slow": "heavy", "rooms": "burst"}


def run_workload(name: str, kind: str, workdir: str, p: Params,
                 control: Optional[dict] = None) -> dict:
    """Run one workload on one server kind; a failure to run is a result, not a crash.

    ``control`` is the same server's ``heavy`` result, for ``stall`` and ``slow``,
    and its ``burst`` result for ``rooms``.
    """
    started = time.monotonic()
    if kind in DIALECTS and name not in ("burst", "steady"):
        return {"ok": True, "skipped": f"{name} is not written for {kind}", "wall_s": 0.0}
    try:
        if name in CONTROLLED:
            result = WORKLOADS[name](kind, workdir, p, control)
        else:
            result = WORKLOADS[name](kind, workdir, p)
    except Missing as exc:
        result = {"ok": True, "skipped": str(exc)}
    except (LoadError, RuntimeError, OSError) as exc:
        result = _failure(f"{type(exc).__name__}: {exc}")
    result["wall_s"] = time.monotonic() - started
    return result
