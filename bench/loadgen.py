"""The load generator: worker processes, each driving its share of clients.

One Python process cannot drive thousands of sockets and parse hundreds of thousands
of frames a second while leaving the server a core, so the clients of a workload are
split over a few worker processes (``multiprocessing``, forked). Each worker runs one
``selectors`` loop over its sockets. The parent (``Fleet``) moves all workers through
the same steps in lock step: ``join`` -> ``settle`` -> ``run`` -> ``report`` (and
``say`` / ``await_marker`` for the many-connections workload), one command and one
reply per worker per step, so it can read the server's CPU between two steps.

Every step has a deadline: a worker answers when its step is done or its deadline
has passed (``complete: False``); the parent waits that long plus a grace period
and then gives up on the worker, so nothing here can hang.
"""

from __future__ import annotations

import collections
import multiprocessing
import os
import selectors
import time
import traceback
from multiprocessing.connection import wait as wait_for_pipes
from typing import Callable, Iterable, Optional

from clients import Client, IdleClient, Member, SlowReader, Staller, say_frame
from servers import raise_fd_limit

GRACE_S = 15.0        # how much longer than its step's deadline a worker may take to answer
POLL_S = 0.05         # longest select() wait, so deadlines and timers are checked often
SLOW_TICK_S = 0.005   # how often a paced reader takes its tokens


class LoadError(RuntimeError):
    """A worker failed or stopped answering."""


class Worker:
    """The selector loop of one worker process and the steps it can run."""

    def __init__(self, port: int, clients: list):
        self.port = port
        self.clients = clients
        self.sel = selectors.DefaultSelector()
        self.masks: dict = {}
        self.sayer: Optional[IdleClient] = None
        # Clients with timers: paced senders and paced readers.
        self.timed = [c for c in clients if isinstance(c, SlowReader)
                      or (isinstance(c, Member) and c.interval_ns)]
        self.next_tick_ns = 0

    # ---------------------------------------------------------------- the loop

    def _update(self, client: Client) -> None:
        """(Re)register the client for what it wants now; drop it when closed."""
        want = ((selectors.EVENT_READ if client.wants_read else 0)
                | (selectors.EVENT_WRITE if client.wants_write else 0))
        have = self.masks.get(client, 0)
        if want == have:
            return
        if not want:
            self.sel.unregister(client.sock)
            del self.masks[client]
        elif not have:
            self.sel.register(client.sock, want, client)
            self.masks[client] = want
        else:
            self.sel.modify(client.sock, want, client)
            self.masks[client] = want

    def _poll(self, timeout: float) -> None:
        for key, mask in self.sel.select(timeout):
            client = key.data
            if mask & selectors.EVENT_WRITE:
                client.on_writable()
            if mask & selectors.EVENT_READ and client.closed is None:
                client.on_readable()
            self._update(client)

    def _loop_until(self, done: Callable[[], bool], deadline: float,
                    tick: Optional[Callable[[], float]] = None) -> bool:
        """Serve the sockets until ``done()`` or the deadline; True if done.

        ``tick`` runs every iteration and returns how long the loop may sleep.
        """
        while not done():
            now = time.monotonic()
            if now >= deadline:
                return False
            sleep = min(POLL_S, deadline - now)
            if tick is not None:
                sleep = max(0.0, min(sleep, tick()))
            self._poll(sleep)
        return True

    # --------------------------------------------------------------- the steps

    def join(self, timeout: float, parallel: int, grace: float) -> dict:
        """Connect every client, at most ``parallel`` of them waiting for their welcome.

        No new connection starts after ``timeout`` seconds; those already started get
        ``grace`` more seconds for their welcome (a hello left pending would make the
        server busy joining it during the next step).
        """
        start_deadline = time.monotonic() + timeout
        waiting = collections.deque(self.clients)
        joining: set = set()

        def done() -> bool:
            joining.difference_update([c for c in joining if c.welcomed or c.closed])
            if time.monotonic() >= start_deadline:
                waiting.clear()
            while waiting and len(joining) < parallel:
                client = waiting.popleft()
                client.connect(self.port)
                if client.closed is None:
                    self._update(client)
                    joining.add(client)
            return not waiting and not joining

        complete = self._loop_until(done, start_deadline + grace)
        for client in self.clients:
            if not client.welcomed and client.closed is None:
                client.fail("not started before the deadline" if client.sock is None
                            else "no welcome before the deadline")
                if client.sock is not None:
                    self._update(client)
        failed = collections.Counter(self._why(c) for c in self.clients if not c.welcomed)
        welcomed = [c for c in self.clients if c.welcomed]
        return {"complete": complete and not failed, "welcomed": len(welcomed),
                "failed": dict(failed),
                "first_ns": min((c.started_ns for c in self.clients if c.started_ns), default=0),
                "last_welcome_ns": max((c.welcomed_ns for c in welcomed), default=0)}

    @staticmethod
    def _why(client: Client) -> str:
        error = getattr(client, "error", "") or (
            "; ".join(client.problems) if isinstance(client, Member) and client.problems else "")
        return f"{client.closed or 'not welcomed'}{f' ({error})' if error else ''}"

    def _watchers(self) -> list:
        """The clients that read everything: members (not stallers or slow) and idlers."""
        return [c for c in self.clients if c.welcomed and c.closed is None
                and not isinstance(c, (Staller, SlowReader))]

    def settle(self, total: int, timeout: float) -> dict:
        """Wait until every watcher knows of ``total`` members (the join fan-out is over)
        and every member with a room is in it with all its members (``Member.settled``)."""
        watchers = self._watchers()
        complete = self._loop_until(
            lambda: all(c.settled(total) or c.closed for c in watchers),
            time.monotonic() + timeout, self._tick)
        return {"complete": complete, "settled": sum(c.settled(total) for c in watchers),
                "of": len(watchers), "last_ns": time.monotonic_ns()}

    def run(self, go_ns: int, timeout: float) -> dict:
        """Send from ``go_ns`` on (burst or paced) until every member got all it is owed."""
        deadline = time.monotonic() + timeout
        members = [c for c in self.clients if isinstance(c, Member) and c.welcomed]
        expecting = [c for c in members if c.expects]
        while time.monotonic_ns() < go_ns:
            self._poll(max(0.0, min(POLL_S, (go_ns - time.monotonic_ns()) / 1e9)))
        cpu0 = sum(os.times()[:2])
        for client in members:
            client.start_sending(go_ns)
            self._update(client)
        complete = self._loop_until(
            lambda: all(c.remaining <= 0 or c.closed for c in expecting), deadline, self._tick)
        return {"complete": complete and not any(c.closed for c in expecting),
                "last_ns": max((c.last_ns for c in expecting), default=0),
                "cpu_s": sum(os.times()[:2]) - cpu0}

    def _tick(self) -> float:
        """Paced sends and paced reads that are due; returns seconds until the next one."""
        now_ns = time.monotonic_ns()
        if now_ns < self.next_tick_ns:
            return (self.next_tick_ns - now_ns) / 1e9
        next_ns = now_ns + int(POLL_S * 1e9)
        for client in self.timed:
            if client.next_due_ns is not None:
                client.send_due(now_ns)
                self._update(client)
                if client.next_due_ns is not None:
                    next_ns = min(next_ns, client.next_due_ns)
            if isinstance(client, SlowReader):
                client.read_paced(now_ns / 1e9)
                next_ns = min(next_ns, now_ns + int(SLOW_TICK_S * 1e9))
        self.next_tick_ns = next_ns
        return (next_ns - now_ns) / 1e9

    def report(self, drain_s: float) -> dict:
        """Totals over this worker's members; stallers are drained to see if they were dropped."""
        totals: collections.Counter = collections.Counter()
        problems: list = []
        left: list = []
        latencies = bytearray()
        extras = []
        for client in self.clients:
            if isinstance(client, Staller):
                drained = 0
                if client.welcomed and client.closed is None:
                    self._forget(client)
                    drained = client.drain(0.3, drain_s)
                extras.append({"role": "staller", "name": client.name, "closed": client.closed,
                               "drained_bytes": drained})
            elif isinstance(client, SlowReader):
                extras.append({"role": "slow", "name": client.name, "closed": client.closed,
                               "bytes": client.counts["bytes"], "frames": client.counts["frames"],
                               "messages": client.counts["delivered"],
                               "bad": sum(client.counts[k] for k in (
                                   "framing_errors", "bad_bodies", "seq_regressions",
                                   "duplicates", "out_of_order")),
                               "problems": client.problems})
            elif isinstance(client, Member):
                totals.update(client.counts)
                totals["missing"] += client.missing()
                totals["closed"] += client.closed is not None
                totals["members"] += 1
                problems += client.problems
                if client.closed:
                    problems.append(f"{client.name}: connection ended: {client.closed}")
                left += client.left
                if client.latencies is not None:
                    latencies += client.latencies.tobytes()
        return {"totals": dict(totals), "problems": problems[:40], "left": sorted(set(left)),
                "latencies": bytes(latencies), "extras": extras}

    def _forget(self, client: Client) -> None:
        if client in self.masks:
            self.sel.unregister(client.sock)
            del self.masks[client]

    def say(self, marker: str, text_len: int) -> dict:
        """The first idle client says ``marker``; returns when it was written."""
        self.sayer = next(c for c in self.clients if isinstance(c, IdleClient) and c.welcomed
                          and c.closed is None)
        self.sayer.out += say_frame(0, 0, text_len, marker)
        sent_ns = time.monotonic_ns()
        self.sayer.on_writable()
        self._update(self.sayer)
        return {"sent_ns": sent_ns}

    def await_marker(self, timeout: float) -> dict:
        """Wait until every welcomed idle client (but the sayer) has seen the marker."""
        idle = [c for c in self.clients if isinstance(c, IdleClient) and c.welcomed
                and c is not self.sayer]
        complete = self._loop_until(lambda: all(c.marker_ns or c.closed for c in idle),
                                    time.monotonic() + timeout)
        seen = [c.marker_ns for c in idle if c.marker_ns]
        return {"complete": complete, "seen": len(seen), "of": len(idle),
                "last_ns": max(seen, default=0),
                "closed": sum(c.closed is not None for c in idle)}

    def close(self) -> dict:
        for client in self.clients:
            client.close()
        self.sel.close()
        return {}


def _worker_main(pipe, port: int, clients: list) -> None:
    """A worker process: run each step the parent sends and answer it."""
    raise_fd_limit()
    worker = Worker(port, clients)
    while True:
        step, args = pipe.recv()
        try:
            pipe.send(("ok", getattr(worker, step)(**args)))
        except Exception:  # noqa: BLE001 - reported to the parent, which fails the workload
            pipe.send(("error", traceback.format_exc()))
            return
        if step == "close":
            return


class Fleet:
    """The parent's side: start workers, run a step on them, stop them.

    Args:
        port: the server's port on 127.0.0.1.
        groups: the clients of each worker (one process per group).
    """

    def __init__(self, port: int, groups: Iterable[list]):
        ctx = multiprocessing.get_context("fork")
        self.pipes = []
        self.procs = []
        for group in groups:
            ours, theirs = ctx.Pipe()
            proc = ctx.Process(target=_worker_main, args=(theirs, port, group), daemon=True)
            proc.start()
            theirs.close()
            self.pipes.append(ours)
            self.procs.append(proc)

    def step(self, step: str, wait_s: float, only: Optional[list] = None, **args) -> list:
        """Run ``step(**args)`` on every worker (or those indexed in ``only``); their answers.

        ``wait_s`` is how long the step may take (its own deadline, when it takes one);
        a worker gets ``GRACE_S`` more to answer. Raises LoadError when a worker fails
        or does not answer in time.
        """
        indices = range(len(self.pipes)) if only is None else only
        for i in indices:
            self.pipes[i].send((step, args))
        deadline = time.monotonic() + wait_s + GRACE_S
        answers = {}
        while len(answers) < len(indices):
            pending = [self.pipes[i] for i in indices if i not in answers]
            ready = wait_for_pipes(pending, max(0.0, deadline - time.monotonic()))
            if not ready:
                raise LoadError(f"{step}: {len(pending)} worker(s) did not answer in time")
            for pipe in ready:
                i = self.pipes.index(pipe)
                try:
                    status, value = pipe.recv()
                except EOFError:
                    raise LoadError(f"{step}: worker {i} died") from None
                if status != "ok":
                    raise LoadError(f"{step}: worker {i} failed:\n{value}")
                answers[i] = value
        return [answers[i] for i in indices]

    def close(self) -> None:
        """Close every client socket and end the workers (bounded)."""
        try:
            self.step("close", 5.0)
        except (LoadError, OSError):
            pass
        for proc in self.procs:
            proc.join(5)
            if proc.is_alive():
                proc.kill()
                proc.join(5)
        for pipe in self.pipes:
            pipe.close()


def split(clients: list, workers: int) -> list:
    """Round-robin ``clients`` over ``workers`` non-empty groups."""
    workers = max(1, min(workers, len(clients)))
    return [clients[i::workers] for i in range(workers)]
