"""Broadcast cost: server CPU per delivery, throughput and latency, against a baseline.

One run measures, on this machine and in the same minute (the box is shared and noisy,
so every figure is also given as a ratio to the baseline measured alongside it):

* ``baseline``: a tutorial-style synchronous broadcast server, written below: a thread
  per connection; under one lock it loops over the clients and ``sendall``s
  header + body to each, then answers the sender "Msg received".
* ``ours-mem``: ``python server.py --db :memory:``.
* ``ours-file``: ``python server.py --db <temp dir>/bench.db`` (WAL, commit before
  delivery, as in production).

Each server runs in its own subprocess. The load generator is this process: one thread
with a ``selectors`` loop reads every client socket (N receivers + S senders), so client
CPU never counts as server CPU. Server CPU is read from ``/proc/<pid>/task/*/schedstat``
(nanoseconds on CPU, summed over the server's threads) and cross-checked with
``/proc/<pid>/stat`` utime + stime (clock ticks, includes exited threads).

Phases, per server and per N:

1. burst: S senders each send M messages, at most W unacknowledged each (the ack
   comes after the broadcast in both servers, so the window bounds every queue);
   M is picked so that messages x recipients is about ``--deliveries``. A delivery is
   one message reaching one other client (recipients = N + S - 1). Gives CPU per
   delivery and throughput.
2. paced: one sender sends ``--paced`` messages at ``--rate`` per second; the last
   receiver parses frames and times send -> receive (same clock, same process). Gives
   latency p50/p99 and CPU per delivery when nothing coalesces (each message is its own
   journal batch, as in a real chat room).

Also recorded: server context switches per message, and the server's CPU split by
thread (journal thread vs connection threads). The whole set runs ``--repeat`` times
(default 3, about a minute); the summary gives medians, and a fit of burst CPU per
message = fixed + per-recipient x recipients over the N values, which separates what a
message costs (decode, journal, ack) from what each recipient costs (one send).
``--servers ... ref-mem --ref DIR`` adds server.py from another checkout, for A/B runs.

Only 127.0.0.1; every loop is bounded in count and time; the run stops by itself.

    python bench/bench_broadcast.py                      # about a minute
    python bench/bench_broadcast.py --clients 10 50 200 --deliveries 200000 --repeat 5
    git archive HEAD~1 | tar -x -C /tmp/old && \
        python bench/bench_broadcast.py --servers baseline ref-mem ours-mem --ref /tmp/old

Results: a table on stdout and bench/out/broadcast.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import protocol  # noqa: E402

HEADER = 64
MSG_MARK = b"@@m"                 # in every burst message's text
LAT_RE = re.compile(rb"@@L(\d+);")  # in every paced message's text
TEXT_LEN = 48                      # a typical chat line
PHASE_TIMEOUT = 60.0               # no phase may take longer than this
CLK_TCK = os.sysconf("SC_CLK_TCK")


def frame(body: bytes) -> bytes:
    return str(len(body)).encode("ascii").ljust(HEADER) + body


# ------------------------------------------------------------ the baseline server

def serve_baseline(port: int) -> None:
    """The tutorial's server, made correct under load (exact reads), nothing more."""
    clients: list = []
    lock = threading.Lock()
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(256)

    def recv_exact(conn, n):
        chunks = []
        while n:
            chunk = conn.recv(n)
            if not chunk:
                return None
            chunks.append(chunk)
            n -= len(chunk)
        return b"".join(chunks)

    def handle(conn):
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with lock:
            clients.append(conn)
        conn.sendall(frame(b"Welcome"))  # so the bench knows it is registered
        try:
            while True:
                header = recv_exact(conn, HEADER)
                if header is None:
                    break
                body = recv_exact(conn, int(header.strip() or 0))
                if body is None:
                    break
                with lock:
                    for client in clients:
                        if client is not conn:
                            try:
                                client.sendall(header + body)
                            except OSError:
                                pass
                conn.sendall(frame(b"Msg received"))
        except OSError:
            pass
        finally:
            with lock:
                if conn in clients:
                    clients.remove(conn)
            conn.close()

    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    print("ready", flush=True)
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=handle, args=(conn,), daemon=True).start()


# ------------------------------------------------------------------- the servers

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One server subprocess: kind is baseline, ours-mem or ours-file."""

    def __init__(self, kind: str, tmpdir: str, ref_root: str = ""):
        self.kind = kind
        self.port = free_port()
        if kind == "baseline":
            cmd = [sys.executable, os.path.abspath(__file__), "--serve-baseline", str(self.port)]
        else:
            db = (os.path.join(tmpdir, f"bench-{self.port}.db") if kind.endswith("-file")
                  else ":memory:")
            root = ref_root if kind.startswith("ref-") else ROOT
            cmd = [sys.executable, os.path.join(root, "server.py"), "--host", "127.0.0.1",
                   "--port", str(self.port), "--db", db, "--rate", "0",
                   "--max-per-ip", "100000", "--max-clients", "100000",
                   "--max-send-queue", str(256 * 1024 * 1024), "--idle-timeout", "3600",
                   "--log-level", "WARNING"]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                break
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"{kind} server exited: {self.proc.stderr.read().decode()}")
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"{kind} server did not start in 15 s")
                time.sleep(0.02)

    @property
    def structured(self) -> bool:
        return self.kind != "baseline"

    def cpu_by_thread(self) -> dict:
        """{tid: nanoseconds on CPU} for the live threads."""
        pid = self.proc.pid
        out = {}
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                    out[int(tid)] = int(f.read().split()[0])
            except (OSError, ValueError, IndexError):
                pass
        return out

    def thread_split(self, before: dict, after: dict) -> dict:
        """CPU seconds between two ``cpu_by_thread`` readings, by kind of thread.

        Threads are told apart by creation order (tids grow): in server.py the main
        thread, then the journal (made in ChatServer.__init__), then the accept loop,
        then one per connection (and any writer threads, made later, among them).
        """
        tids = sorted(after)
        split = {"main+accept": 0, "journal": 0, "connections": 0}
        for i, tid in enumerate(tids):
            delta = (after[tid] - before.get(tid, 0)) / 1e9
            if self.structured:
                kind = "journal" if i == 1 else "main+accept" if i in (0, 2) else "connections"
            else:
                kind = "main+accept" if i == 0 else "connections"
            split[kind] += delta
        return split

    def cpu(self) -> tuple:
        """(schedstat seconds summed over live threads, stat utime+stime seconds)."""
        pid = self.proc.pid
        ns = 0
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                    ns += int(f.read().split()[0])
            except (OSError, ValueError, IndexError):
                pass
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)
        return ns / 1e9, ticks / CLK_TCK

    def switches(self) -> int:
        """Context switches (voluntary + not) summed over the live threads."""
        total = 0
        pid = self.proc.pid
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{tid}/status") as f:
                    for line in f:
                        if "ctxt_switches:" in line:
                            total += int(line.split()[-1])
            except (OSError, ValueError):
                pass
        return total

    def threads(self) -> int:
        return len(os.listdir(f"/proc/{self.proc.pid}/task"))

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


# ---------------------------------------------------------------- the load generator

class Client:
    """One socket; counts message markers and acks in the byte stream it reads."""

    def __init__(self, server: Server, name: str, sender: bool):
        self.name = name
        self.sender = sender
        self.sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.settimeout(None)  # blocking; read only when the selector says so
        self.ack_mark = b'"type":"ack"' if server.structured else b"Msg received"
        self.ready_mark = b'"type":"welcome"' if server.structured else b"Welcome"
        self.marks = {MSG_MARK: 0, self.ack_mark: 0, self.ready_mark: 0}
        self.tails = {mark: b"" for mark in self.marks}
        self.decoder = None  # a FrameDecoder while this client is the latency probe
        self.latency_seen: dict = {}
        self.sent = 0
        self.closed = False
        if server.structured:
            self.send_body(protocol.encode_message({"type": "hello", "name": name}))
        self.structured = server.structured

    def send_body(self, body: bytes) -> None:
        self.sock.sendall(frame(body))

    def say(self, text: str, msg_id: str) -> None:
        if self.structured:
            self.send_body(protocol.encode_message({"type": "say", "text": text, "id": msg_id}))
        else:
            self.send_body(text.encode("utf-8"))
        self.sent += 1

    def on_readable(self, now: float) -> None:
        """Read what is there; ``now`` is when select returned (arrival time)."""
        try:
            data = self.sock.recv(1 << 18)
        except OSError:
            data = b""
        if not data:
            self.closed = True
            return
        for mark in self.marks:
            joined = self.tails[mark] + data
            self.marks[mark] += joined.count(mark)
            self.tails[mark] = joined[-(len(mark) - 1):]
        if self.decoder is not None:
            self.decoder.feed(data)
            for body in self.decoder.events():
                if isinstance(body, bytes):
                    for m in LAT_RE.finditer(body):
                        self.latency_seen.setdefault(int(m.group(1)), now)

    @property
    def messages(self) -> int:
        return self.marks[MSG_MARK]

    @property
    def acks(self) -> int:
        return self.marks[self.ack_mark]

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


class Load:
    """N receivers and S senders on one server, read by one selector loop."""

    def __init__(self, server: Server, receivers: int, senders: int):
        self.server = server
        self.sel = selectors.DefaultSelector()
        self.receivers = []
        self.senders = []
        for i in range(senders):
            self.senders.append(self._add(Client(server, f"s{i}", True)))
        for i in range(receivers):
            self.receivers.append(self._add(Client(server, f"r{i}", False)))
        self.clients = self.senders + self.receivers
        self.pump_until(lambda: all(c.marks[c.ready_mark] for c in self.clients), "welcome")
        self.quiet(0.3)  # the join events fan out

    def _add(self, client: Client) -> Client:
        self.sel.register(client.sock, selectors.EVENT_READ, client)
        return client

    def pump(self, timeout: float) -> None:
        events = self.sel.select(timeout)
        now = time.perf_counter()
        for key, _ in events:
            key.data.on_readable(now)

    def pump_until(self, done, what: str, timeout: float = PHASE_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.server.kind}: timed out waiting for {what}")
            if any(c.closed for c in self.clients):
                raise RuntimeError(f"{self.server.kind}: the server closed a connection ({what})")
            self.pump(0.2)

    def quiet(self, seconds: float) -> None:
        """Read until nothing arrives for ``seconds`` (at most 5 s)."""
        end = time.monotonic() + 5
        while time.monotonic() < end:
            events = self.sel.select(seconds)
            if not events:
                return
            now = time.perf_counter()
            for key, _ in events:
                key.data.on_readable(now)

    def close(self) -> None:
        for client in self.clients:
            self.sel.unregister(client.sock)
            client.close()
        self.sel.close()


def text_for(tag: str) -> str:
    return (tag + " ").ljust(TEXT_LEN, "x")


def burst(load: Load, per_sender: int, window: int) -> dict:
    """Every sender sends ``per_sender`` messages, ``window`` unacked at most."""
    senders, clients = load.senders, load.clients
    start = {c: (c.messages, c.acks) for c in clients}
    n_send = len(senders)
    want = {c: (n_send - 1 if c.sender else n_send) * per_sender for c in clients}

    def done():
        return (all(c.acks - start[c][1] >= per_sender for c in senders)
                and all(c.messages - start[c][0] >= want[c] for c in clients))

    cpu0, ticks0 = load.server.cpu()
    sw0 = load.server.switches()
    threads0 = load.server.cpu_by_thread()
    me0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    deadline = time.monotonic() + PHASE_TIMEOUT
    base_sent = {c: c.sent for c in senders}
    while not done():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{load.server.kind}: burst timed out")
        if any(c.closed for c in clients):
            raise RuntimeError(f"{load.server.kind}: a connection closed during the burst")
        for c in senders:
            sent = c.sent - base_sent[c]
            while sent < per_sender and sent - (c.acks - start[c][1]) < window:
                c.say(text_for(f"@@m{c.name}.{sent}"), f"{c.name}.{sent}")
                sent += 1
        load.pump(0.5)
    t1 = time.perf_counter()
    cpu1, ticks1 = load.server.cpu()
    sw1 = load.server.switches()
    threads1 = load.server.cpu_by_thread()
    me1 = resource.getrusage(resource.RUSAGE_SELF)
    messages = n_send * per_sender
    deliveries = sum(want.values())
    extra = sum(c.messages - start[c][0] - want[c] for c in clients)
    return {
        "messages": messages, "deliveries": deliveries, "unexpected_deliveries": extra,
        "seconds": t1 - t0, "server_cpu_s": cpu1 - cpu0, "server_cpu_ticks_s": ticks1 - ticks0,
        "loadgen_cpu_s": (me1.ru_utime + me1.ru_stime) - (me0.ru_utime + me0.ru_stime),
        "us_per_delivery": (cpu1 - cpu0) / deliveries * 1e6,
        "us_per_delivery_ticks": (ticks1 - ticks0) / deliveries * 1e6,
        "us_per_message": (cpu1 - cpu0) / messages * 1e6,
        "switches_per_message": (sw1 - sw0) / messages,
        "us_per_message_by_thread": {k: v / messages * 1e6 for k, v in
                                     load.server.thread_split(threads0, threads1).items()},
        "deliveries_per_s": deliveries / (t1 - t0), "messages_per_s": messages / (t1 - t0),
    }


def paced(load: Load, count: int, rate: float) -> dict:
    """One sender at ``rate`` messages/s; the last receiver times each arrival."""
    sender, probe = load.senders[0], load.receivers[-1]
    probe.decoder = protocol.FrameDecoder(protocol.HARD_MAX_FRAME)
    probe.latency_seen = {}
    sent_at: dict = {}
    interval = 1.0 / rate
    cpu0, _ = load.server.cpu()
    sw0 = load.server.switches()
    threads0 = load.server.cpu_by_thread()
    t0 = time.perf_counter()
    deadline = time.monotonic() + PHASE_TIMEOUT
    for i in range(count):
        due = t0 + i * interval
        while True:  # read whatever arrives until this message is due
            left = due - time.perf_counter()
            if left <= 0:
                break
            load.pump(left)
        sent_at[i] = time.perf_counter()
        sender.say(text_for(f"@@L{i};"), f"lat{i}")
        load.pump(0)
    recipients = len(load.clients) - 1
    load.pump_until(lambda: len(probe.latency_seen) >= count, "paced messages",
                    timeout=max(1.0, deadline - time.monotonic()))
    load.quiet(0.1)
    cpu1, _ = load.server.cpu()
    sw1 = load.server.switches()
    threads1 = load.server.cpu_by_thread()
    probe.decoder = None
    lat = sorted((probe.latency_seen[i] - sent_at[i]) * 1e6 for i in range(count))
    return {
        "messages": count, "rate": rate, "deliveries": count * recipients,
        "server_cpu_s": cpu1 - cpu0,
        "us_per_delivery": (cpu1 - cpu0) / (count * recipients) * 1e6,
        "us_per_message": (cpu1 - cpu0) / count * 1e6,
        "switches_per_message": (sw1 - sw0) / count,
        "us_per_message_by_thread": {k: v / count * 1e6 for k, v in
                                     load.server.thread_split(threads0, threads1).items()},
        "latency_us_p50": percentile(lat, 50), "latency_us_p99": percentile(lat, 99),
        "latency_us_max": lat[-1],
    }


def percentile(values: list, p: float) -> float:
    if not values:
        return float("nan")
    k = (len(values) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def run_one(kind: str, receivers: int, args, tmpdir: str) -> dict:
    server = Server(kind, tmpdir, args.ref)
    load = None
    try:
        load = Load(server, receivers, args.senders)
        recipients = receivers + args.senders - 1
        per_sender = max(10, round(args.deliveries / (args.senders * recipients)))
        result = {"server": kind, "receivers": receivers, "senders": args.senders,
                  "recipients_per_message": recipients, "per_sender": per_sender,
                  "window": args.window}
        result["burst"] = burst(load, per_sender, args.window)
        load.quiet(0.1)
        result["paced"] = paced(load, args.paced, args.rate)
        result["server_threads"] = server.threads()
        return result
    finally:
        if load is not None:
            load.close()
        server.stop()


# ------------------------------------------------------------------------ output

def ratio(value: float, base: float) -> float:
    return value / base if base else float("nan")


def table(rows: list) -> str:
    head = (f"{'run':>3} {'server':<10} {'N':>4} {'cpu/deliv':>10} {'x base':>7} "
            f"{'deliv/s':>9} {'x base':>7} {'paced cpu':>10} {'x base':>7} "
            f"{'p50 ms':>7} {'p99 ms':>7} {'x base p99':>10}")
    lines = [head, "-" * len(head)]
    for r in rows:
        b, p, base = r["burst"], r["paced"], r["vs_baseline"]
        lines.append(
            f"{r['repeat']:>3} {r['server']:<10} {r['receivers']:>4} "
            f"{b['us_per_delivery']:>8.2f}us {base['cpu_per_delivery']:>6.2f}x "
            f"{b['deliveries_per_s']:>9.0f} {base['deliveries_per_s']:>6.2f}x "
            f"{p['us_per_delivery']:>8.2f}us {base['paced_cpu_per_delivery']:>6.2f}x "
            f"{p['latency_us_p50'] / 1000:>7.3f} {p['latency_us_p99'] / 1000:>7.3f} "
            f"{base['latency_p99']:>9.2f}x")
    return "\n".join(lines)


def median(values: list) -> float:
    values = sorted(v for v in values if v == v)  # drop NaN
    if not values:
        return float("nan")
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2


def summarize(rows: list) -> list:
    """Medians over the repeats, per server and N (ratios: median of per-run ratios)."""
    out = []
    for key in dict.fromkeys((r["server"], r["receivers"]) for r in rows):
        runs = [r for r in rows if (r["server"], r["receivers"]) == key]
        pick = lambda f: median([f(r) for r in runs])  # noqa: E731
        out.append({
            "server": key[0], "receivers": key[1], "repeats": len(runs),
            "us_per_delivery": pick(lambda r: r["burst"]["us_per_delivery"]),
            "x_cpu": pick(lambda r: r["vs_baseline"]["cpu_per_delivery"]),
            "deliveries_per_s": pick(lambda r: r["burst"]["deliveries_per_s"]),
            "x_throughput": pick(lambda r: r["vs_baseline"]["deliveries_per_s"]),
            "switches_per_message": pick(lambda r: r["burst"]["switches_per_message"]),
            "paced_us_per_delivery": pick(lambda r: r["paced"]["us_per_delivery"]),
            "x_paced_cpu": pick(lambda r: r["vs_baseline"]["paced_cpu_per_delivery"]),
            "paced_switches_per_message": pick(lambda r: r["paced"]["switches_per_message"]),
            "latency_us_p50": pick(lambda r: r["paced"]["latency_us_p50"]),
            "x_p50": pick(lambda r: r["vs_baseline"]["latency_p50"]),
            "latency_us_p99": pick(lambda r: r["paced"]["latency_us_p99"]),
            "x_p99": pick(lambda r: r["vs_baseline"]["latency_p99"]),
        })
    return out


def fit(rows: list) -> dict:
    """Burst CPU per message = fixed + marginal x recipients, fitted over the N values.

    ``fixed`` is what a message costs whatever the room size (decode, journal, ack),
    ``marginal`` what one more recipient costs. Median over the repeats.
    """
    result = {}
    for server in dict.fromkeys(r["server"] for r in rows):
        fixed, marginal = [], []
        for repeat in dict.fromkeys(r["repeat"] for r in rows):
            pts = [(r["recipients_per_message"], r["burst"]["us_per_message"])
                   for r in rows if r["server"] == server and r["repeat"] == repeat]
            if len(pts) < 2:
                continue
            mx = sum(x for x, _ in pts) / len(pts)
            my = sum(y for _, y in pts) / len(pts)
            sxx = sum((x - mx) ** 2 for x, _ in pts)
            if not sxx:
                continue
            b = sum((x - mx) * (y - my) for x, y in pts) / sxx
            marginal.append(b)
            fixed.append(my - b * mx)
        if fixed:
            result[server] = {"us_fixed_per_message": median(fixed),
                              "us_per_recipient": median(marginal)}
    return result


def summary_table(summary: list, fits: dict) -> str:
    head = (f"{'server':<10} {'N':>4} {'cpu/deliv':>10} {'x base':>7} {'deliv/s':>9} "
            f"{'x base':>7} {'sw/msg':>6} {'paced cpu':>10} {'x base':>7} {'p50 ms':>7} "
            f"{'x base':>7} {'p99 ms':>7} {'x base':>7}")
    lines = [head, "-" * len(head)]
    for s in summary:
        lines.append(
            f"{s['server']:<10} {s['receivers']:>4} {s['us_per_delivery']:>8.2f}us "
            f"{s['x_cpu']:>6.2f}x {s['deliveries_per_s']:>9.0f} {s['x_throughput']:>6.2f}x "
            f"{s['switches_per_message']:>6.2f} {s['paced_us_per_delivery']:>8.2f}us "
            f"{s['x_paced_cpu']:>6.2f}x {s['latency_us_p50'] / 1000:>7.3f} {s['x_p50']:>6.2f}x "
            f"{s['latency_us_p99'] / 1000:>7.3f} {s['x_p99']:>6.2f}x")
    if fits:
        lines.append("\nburst CPU per message = fixed + per-recipient x recipients (fit over N):")
        for server, f in fits.items():
            lines.append(f"  {server:<10} fixed {f['us_fixed_per_message']:7.1f} us/message, "
                         f"{f['us_per_recipient']:5.2f} us per recipient")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--clients", type=int, nargs="+", default=[10, 50],
                   help="receiving clients (N), one set of runs per value")
    p.add_argument("--senders", type=int, default=2, help="sending clients (S)")
    p.add_argument("--deliveries", type=int, default=60000,
                   help="target deliveries per burst (messages x recipients)")
    p.add_argument("--window", type=int, default=16, help="unacked messages per sender")
    p.add_argument("--paced", type=int, default=300, help="messages in the latency phase")
    p.add_argument("--rate", type=float, default=250.0, help="messages/s in the latency phase")
    p.add_argument("--servers", nargs="+", default=["baseline", "ours-mem", "ours-file"],
                   choices=["baseline", "ours-mem", "ours-file", "ref-mem", "ref-file"],
                   help="ref-*: server.py from --ref (e.g. an older checkout), for A/B runs")
    p.add_argument("--ref", default="", help="another checkout's directory, for ref-* servers")
    p.add_argument("--repeat", type=int, default=3,
                   help="repeat the whole set; the summary gives medians")
    p.add_argument("--out", default=os.path.join(ROOT, "bench", "out", "broadcast.json"))
    p.add_argument("--serve-baseline", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.serve_baseline is not None:
        serve_baseline(args.serve_baseline)
        return 0
    if args.senders < 1 or "baseline" not in args.servers:
        p.error("need at least one sender and the baseline")
    if any(s.startswith("ref-") for s in args.servers) and not os.path.isfile(
            os.path.join(args.ref, "server.py")):
        p.error("ref-* servers need --ref DIR with a server.py")
    if max(args.clients) + args.senders > 2000:
        p.error("at most 2000 clients")

    rows = []
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="bench-broadcast-") as tmpdir:
        for repeat in range(1, args.repeat + 1):
            for receivers in args.clients:
                # Baseline first, then ours, back to back: the ratio compares like with like.
                group = []
                for kind in args.servers:
                    print(f"  run {repeat}: {kind}, N={receivers} ...", end="", flush=True)
                    t = time.monotonic()
                    r = run_one(kind, receivers, args, tmpdir)
                    r["repeat"] = repeat
                    print(f" {time.monotonic() - t:.1f}s", flush=True)
                    group.append(r)
                base = next(r for r in group if r["server"] == "baseline")
                for r in group:
                    r["vs_baseline"] = {
                        "cpu_per_delivery": ratio(r["burst"]["us_per_delivery"],
                                                  base["burst"]["us_per_delivery"]),
                        "deliveries_per_s": ratio(r["burst"]["deliveries_per_s"],
                                                  base["burst"]["deliveries_per_s"]),
                        "paced_cpu_per_delivery": ratio(r["paced"]["us_per_delivery"],
                                                        base["paced"]["us_per_delivery"]),
                        "latency_p50": ratio(r["paced"]["latency_us_p50"],
                                             base["paced"]["latency_us_p50"]),
                        "latency_p99": ratio(r["paced"]["latency_us_p99"],
                                             base["paced"]["latency_us_p99"]),
                    }
                rows.extend(group)
    summary, fits = summarize(rows), fit(rows)
    print()
    print(table(rows))
    print(f"\nmedians of {args.repeat} run(s):")
    print(summary_table(summary, fits))
    print("\ncpu/deliv: server CPU (all threads) / (messages x recipients) in the burst; "
          "sw/msg: server context\nswitches per message; paced cpu: CPU per delivery at "
          f"{args.rate:g} msg/s from one sender; p50/p99: send -> receive\nat another client "
          "at that rate; x base: ratio to the baseline measured in the same run and N.")
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    result = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "seconds": round(time.time() - started, 1),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform(), "load_avg_at_start": os.getloadavg()},
        "args": {k: v for k, v in vars(args).items() if k != "serve_baseline"},
        "summary": summary,
        "fit": fits,
        "runs": rows,
    }
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)
    print(f"wrote {os.path.relpath(args.out, ROOT)} ({result['seconds']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
