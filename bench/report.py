"""From raw results to one table: which figures, medians over repeats, text and markdown.

Every figure is one row; the columns are the servers (``ours-mem``, ``ours-file``,
``tutorial``, ``asyncio``, ``ngircd``, ``redis``) and the ratios of ``ours-mem`` to
each baseline, for the figures where a ratio means something. With
``--repeat N`` a number is the median of the N runs; a yes/no is "yes" only if
every run said yes.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Any, Callable, Optional

from servers import KINDS

OURS = "ours-mem"
RATIOS = ("asyncio", "tutorial", "ngircd", "redis")


@dataclass(frozen=True)
class Figure:
    """One row: ``get(result)`` gives a number, a bool, a string or None (n/a)."""

    workload: str
    label: str
    get: Callable[[dict], Any]
    digits: int = 1           # for numbers
    ratio: bool = True        # show ours/asyncio and ours/tutorial


def _key(name: str) -> Callable[[dict], Any]:
    return lambda r: r.get(name)


def completeness(r: dict) -> Any:
    """True when every stream was complete and in order; otherwise a short why."""
    if r.get("skipped"):
        return f"skipped: {r['skipped']}"
    if r.get("failure"):
        return "failed"
    if not r.get("server_alive", True):
        return "server died"
    if r.get("timed_out"):
        return "timed out"
    problems = r.get("problems") or {}
    return True if not problems else "NO: " + ", ".join(k.replace("_", " ") for k in problems)


def problem_text(r: dict) -> str:
    """Everything that went wrong in one run, with the counts."""
    words = [f"{k.replace('_', ' ')} {v:,}" if isinstance(v, int) else f"{k} {v}"
             for k, v in (r.get("problems") or {}).items()]
    if r.get("timed_out"):
        words.insert(0, "timed out")
    if not r.get("server_alive", True):
        words.insert(0, "server died")
    return r.get("failure") or ", ".join(words)


def _percent(name: str) -> Callable[[dict], Any]:
    return lambda r: r[name] * 100 if r.get(name) is not None else None


def _ms(name: str) -> Callable[[dict], Any]:
    return lambda r: r[name] * 1000 if r.get(name) is not None else None


def _extra(name: str) -> Callable[[dict], Any]:
    return lambda r: (r.get("extra_fate") or {}).get(name)


FIGURES = [
    Figure("burst", "deliveries/s", _key("deliveries_per_s"), 0),
    Figure("burst", "server CPU us/delivery", _key("us_per_delivery"), 2),
    Figure("burst", "complete, no dup, in order, all acked", completeness, ratio=False),
    Figure("rooms", "deliveries/s (20 rooms x 10 members)", _key("deliveries_per_s"), 0, False),
    Figure("rooms", "deliveries/s, % of one-room burst", _percent("rate_vs_burst"), 0, False),
    Figure("rooms", "server CPU us/delivery", _key("us_per_delivery"), 2, False),
    Figure("rooms", "CPU per delivery, x one-room burst (target <= 1.10)",
           _key("cost_vs_burst"), 2, False),
    Figure("rooms", "CPU per line sent, x one-room burst",
           _key("line_cost_vs_burst"), 2, False),
    Figure("rooms", "complete per room, no dup, in order, all acked", completeness,
           ratio=False),
    Figure("steady", "latency p50 ms", _key("latency_p50_ms"), 2),
    Figure("steady", "latency p90 ms", _key("latency_p90_ms"), 2),
    Figure("steady", "latency p99 ms", _key("latency_p99_ms"), 2),
    Figure("steady", "latency max ms", _key("latency_max_ms"), 2),
    Figure("steady", "server CPU us/delivery", _key("us_per_delivery"), 2),
    Figure("steady", "complete, no dup, in order, all acked", completeness, ratio=False),
    Figure("heavy", "deliveries/s (stall/slow load, no extra member)",
           _key("deliveries_per_s"), 0),
    Figure("heavy", "complete, no dup, in order, all acked", completeness, ratio=False),
    Figure("stall", "others' deliveries/s", _key("deliveries_per_s"), 0),
    Figure("stall", "others' rate, % of no-staller run", _percent("vs_control"), 0, False),
    Figure("stall", "server CPU us/delivery", _key("us_per_delivery"), 2),
    Figure("stall", "others complete, in order, well framed", completeness, ratio=False),
    Figure("stall", "staller dropped", _key("extra_dropped"), ratio=False),
    Figure("slow", "others' deliveries/s", _key("deliveries_per_s"), 0),
    Figure("slow", "others' rate, % of no-slow-reader run", _percent("vs_control"), 0, False),
    Figure("slow", "others complete, in order, well framed", completeness, ratio=False),
    Figure("slow", "slow reader dropped", _key("extra_dropped"), ratio=False),
    Figure("slow", "slow reader's stream well formed", _key("extra_well_formed"), ratio=False),
    Figure("slow", "slow reader got messages", _extra("messages"), 0, False),
    Figure("conns", "connections joined", _key("joined"), 0, False),
    Figure("conns", "time to join them all, s",
           lambda r: r["join_s"] if r.get("joined") == r.get("wanted") else None, 1),
    Figure("conns", "server RSS per connection, KiB", _key("rss_per_conn_kib"), 1),
    Figure("conns", "one broadcast reaches all others, ms", _key("broadcast_ms"), 1),
    Figure("conns", "all joined, fan-out done, broadcast reached all", _key("ok"), ratio=False),
    Figure("render", "frame draw, 10,000 messages in scrollback, ms", _key("draw_ms_10000"), 2),
    Figure("render", "frame draw, 10 messages, ms", _key("draw_ms_10"), 2),
    Figure("render", "scrolling frame draw, 10,000 messages, ms",
           _key("scroll_draw_ms_10000"), 2),
    Figure("render", "idle CPU, % of a core (cursor blink stopped)", _key("idle_cpu_pct"), 2),
    Figure("render", "idle CPU, % of a core (cursor blinking)", _key("idle_cpu_blink_pct"), 2),
    Figure("render", "idle CPU floor: a bare 40 ms sleep-and-poll loop, %",
           _key("idle_floor_pct"), 2),
    Figure("render", "1,000-message burst fully shown, ms", _key("burst_ms"), 0),
    Figure("render", "cold start to the first frame drawn, ms", _ms("first_frame_s"), 0),
    Figure("render", "cold start to the welcome shown, ms", _ms("connected_s"), 0),
]


def combine(values: list) -> Any:
    """Median of numbers; for checks, True only if all are True, else the problems."""
    values = [v for v in values if v is not None]
    if not values:
        return None
    if all(isinstance(v, bool) for v in values):
        return all(values) if all(values) or not any(values) else (
            f"yes in {sum(values)} of {len(values)}")
    numbers = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)
               and not math.isnan(v)]
    if len(numbers) == len(values):
        return statistics.median(numbers)
    failures = [v for v in values if v is not True]
    if not failures:
        return True
    text = "; ".join(dict.fromkeys(str(v) for v in failures))
    return text if len(failures) == len(values) else f"{text} ({len(failures)} of {len(values)})"


def summarize(runs: dict) -> list:
    """Rows ``{"workload", "label", "values": {kind: v}, "ratios": {base: v}}``.

    ``runs`` is ``{workload: {kind: [result, ...]}}``; the render results sit under
    the kind ``ours-mem`` (the client is ours, it talks to our server).
    """
    rows = []
    for fig in FIGURES:
        by_kind = runs.get(fig.workload)
        if not by_kind:
            continue
        values = {kind: combine([fig.get(r) for r in results])
                  for kind, results in by_kind.items()}
        ratios = {}
        if fig.ratio:
            for base in RATIOS:
                ours, theirs = values.get(OURS), values.get(base)
                if _is_number(ours) and _is_number(theirs) and theirs:
                    ratios[base] = ours / theirs
        rows.append({"workload": fig.workload, "label": fig.label, "digits": fig.digits,
                     "values": values, "ratios": ratios})
    return rows


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and not math.isnan(v)


def cell(value: Any, digits: int) -> str:
    if value is None:
        return "-"
    if value is True:
        return "yes"
    if value is False:
        return "no"
    if _is_number(value):
        return f"{value:,.{digits}f}"
    return str(value)


def _grid(rows: list, kinds: list) -> tuple:
    bases = [b for b in RATIOS if any(b in row["ratios"] for row in rows)]
    head = ["figure", *kinds, *(f"ours/{b}" for b in bases)]
    body = []
    for row in rows:
        body.append([f"{row['workload']}: {row['label']}",
                     *(cell(row["values"].get(k), row["digits"]) for k in kinds),
                     *(f"{row['ratios'][b]:.2f}x" if b in row["ratios"] else ""
                       for b in bases)])
    return head, body


def columns(rows: list) -> list:
    """The server columns that have at least one value, in the usual order."""
    present = {k for row in rows for k in row["values"]}
    return [k for k in KINDS if k in present]


def text_table(rows: list) -> str:
    """A fixed-width table for the terminal."""
    head, body = _grid(rows, columns(rows))
    widths = [max(len(r[i]) for r in [head, *body]) for i in range(len(head))]

    def line(cells: list) -> str:
        return "  ".join([cells[0].ljust(widths[0]),
                          *(c.rjust(w) for c, w in zip(cells[1:], widths[1:]))]).rstrip()
    out = [line(head), "-" * len(line(head))]
    workload = None
    for row, cells in zip(rows, body):
        if workload is not None and row["workload"] != workload:
            out.append("")
        workload = row["workload"]
        out.append(line(cells))
    return "\n".join(out)


def markdown_table(rows: list) -> str:
    head, body = _grid(rows, columns(rows))
    out = ["| " + " | ".join(head) + " |",
           "|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|"]
    out += ["| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |" for cells in body]
    return "\n".join(out)


def notes(runs: dict) -> list:
    """One line per run that failed or found a problem (with samples of what), and per
    run whose server logged a traceback."""
    lines = []
    for workload, by_kind in runs.items():
        for kind, results in by_kind.items():
            for i, r in enumerate(results, 1):
                where = f"{workload} / {kind} / run {i}"
                if r.get("skipped"):
                    if i == 1:
                        lines.append(f"{workload} / {kind}: skipped, {r['skipped']}")
                    continue
                if not r.get("ok", True):
                    samples = "; ".join(r.get("problem_samples", [])[:4])
                    lines.append(f"{where}: {problem_text(r)}"
                                 + (f" (e.g. {samples})" if samples else ""))
                if "Traceback" in r.get("server_log", ""):
                    lines.append(f"{where}: the server logged a traceback: "
                                 f"{r['server_log'][-300:]!r}")
    return lines


def markdown(rows: list, runs: dict, header: Optional[str]) -> str:
    """The table as a markdown section: header line(s), table, notes."""
    parts = [header or "", markdown_table(rows)]
    found = notes(runs)
    if found:
        parts.append("Problems:\n\n" + "\n".join(f"- {n}" for n in found))
    return "\n\n".join(p for p in parts if p) + "\n"
