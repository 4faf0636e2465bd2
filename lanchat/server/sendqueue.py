"""Per-connection outbound queue: a broadcast never blocks on a socket.

The cheap path is the common one: while nothing is queued for a socket, ``send``
writes straight to it with ``MSG_DONTWAIT`` from the caller's thread, so a delivery
costs one non-blocking syscall and no thread hand-off. Only when the kernel buffer is
full does the rest go into a queue, drained by a writer thread started for that socket
on first need; it sends everything queued in one ``sendall``-style loop (coalescing)
and waits with ``poll`` rather than a socket timeout, because a timeout on the socket
would make the caller's ``send`` wait too.

A queue that would grow past ``max_bytes`` marks the connection overflowed and shuts
the socket down; the connection's reader thread then sees the close and does the
leave, so nothing here calls back into the room (and its lock) from a broadcast.

Every ``send`` is whole frames, and the stream stays framed to the end: what is
dropped on overflow is only data none of which has reached the socket. The rest of a
chunk that went out in part (the writer's, or a direct send cut short by a full
kernel buffer) is still sent, before the farewell.
"""

from __future__ import annotations

import logging
import select
import socket
import threading
import time
from typing import Optional

log = logging.getLogger("chat.sendqueue")

DEFAULT_MAX_BYTES = 1024 * 1024   # PROTOCOL.md section 7: --max-send-queue 1 MiB
_POLL_MS = 200                    # writer wakes this often to notice a close
FAREWELL_SECONDS = 2.0            # how long a dropped reader gets to take its last error


class SendQueue:
    """Non-blocking, ordered, bounded outbound byte queue for one socket.

    Args:
        sock: a connected socket in blocking mode (no timeout set).
        max_bytes: the most bytes that may wait in the queue.
        name: used in the writer thread's name and in logs.
    """

    # One per connection, most of them idle: no instance dict, and the writer and the
    # Condition it waits on are made together, on first need (bench/README.md,
    # "Memory per connection").
    __slots__ = ("_sock", "_max", "_name", "_lock", "_wake", "_queue", "_queued", "_writing",
                 "_head_started", "_writer", "closed", "overflowed", "failed", "farewell",
                 "_farewell_until", "direct_sends", "queued_sends")

    def __init__(self, sock: socket.socket, max_bytes: int = DEFAULT_MAX_BYTES, name: str = "?"):
        self._sock = sock
        self._max = max_bytes
        self._name = name
        self._lock = threading.Lock()
        # The writer's, made with it: the queue is empty and nothing is in flight
        # until then, so nobody waits or needs waking.
        self._wake: Optional[threading.Condition] = None
        self._queue: list = []  # only appended to, then taken whole
        self._queued = 0
        self._writing = False           # the writer holds bytes not yet sent
        self._head_started = False      # the queue's first chunk is the rest of a frame
        self._writer: Optional[threading.Thread] = None
        self.closed = False
        self.overflowed = False
        self.failed: Optional[str] = None  # why a send failed, if one did
        # A frame to send (best effort) after what is in flight when the queue
        # overflows, e.g. the send_queue_full error; set by the connection's owner.
        self.farewell: Optional[bytes] = None
        self._farewell_until: Optional[float] = None
        # Counters for benchmarks and tests.
        self.direct_sends = 0
        self.queued_sends = 0

    @property
    def queued_bytes(self) -> int:
        return self._queued

    def send(self, data: bytes) -> bool:
        """Send or queue ``data``; never blocks. Returns False if the queue is closed."""
        with self._lock:
            if self.closed:
                return False
            if not self._queue and not self._writing:
                try:
                    sent = self._sock.send(data, socket.MSG_DONTWAIT)
                except (BlockingIOError, InterruptedError):
                    sent = 0
                except OSError as exc:
                    self._fail(f"send failed: {exc.strerror or exc}")
                    return False
                if sent == len(data):
                    self.direct_sends += 1
                    return True
                if sent:
                    # Part of a frame is on the wire: the rest must follow, even past
                    # the bound (a later send overflows instead).
                    self._head_started = True
                    # A view, not a copy: the same frames often go to many members.
                    self._enqueue(memoryview(data)[sent:])
                    return True
            if self._queued + len(data) > self._max:
                self.overflowed = True
                self._fail("send queue full", farewell=True)
                return False
            self._enqueue(data)
            return True

    def _enqueue(self, data: bytes) -> None:
        # Lock held.
        self._queue.append(data)
        self._queued += len(data)
        self.queued_sends += 1
        if self._writer is None:
            self._wake = threading.Condition(self._lock)
            self._writer = threading.Thread(target=self._write_loop, daemon=True,
                                            name=f"writer-{self._name}")
            self._writer.start()
        else:
            self._wake.notify()

    def flush(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for the queue to drain; True if it did."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while (self._queue or self._writing) and not self.closed:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._wake.wait(min(left, 0.05))  # bytes wait: the writer exists
            return not self._queue and not self._writing

    def close(self) -> None:
        """Stop accepting data, drop what is queued and let the writer exit."""
        with self._lock:
            self.closed = True
            if self._farewell_until is None:
                self._queue.clear()
                self._queued = 0
            if self._wake is not None:
                self._wake.notify_all()
        writer = self._writer
        # By ident: the connection's own thread is not a threading.Thread (listener).
        if writer is not None and writer.ident != threading.get_ident():
            writer.join(FAREWELL_SECONDS + 0.5)

    def _fail(self, why: str, farewell: bool = False) -> None:
        # Called with the lock held. Shutting the socket down wakes the reader
        # thread, which removes the member and closes everything else. With a
        # farewell, only the reading side is shut at once: the writer finishes the
        # frame in flight, sends the farewell, and shuts the rest (bounded in time).
        self.failed = self.failed or why
        self.closed = True
        rest = self._queue[0] if self._head_started and self._queue else None
        self._queue.clear()
        self._queued = 0
        how = socket.SHUT_RDWR
        if farewell and self.farewell and self._writer is not None:
            if rest is not None:  # the rest of a frame already begun on the wire
                self._queue.append(rest)
            self._queue.append(self.farewell)
            self._queued = sum(len(chunk) for chunk in self._queue)
            self._farewell_until = time.monotonic() + FAREWELL_SECONDS
            how = socket.SHUT_RD
        if self._wake is not None:
            self._wake.notify_all()
        try:
            self._sock.shutdown(how)
        except OSError:
            pass

    def _give_up(self) -> bool:
        """True when the writer should stop: closed, and no farewell still due."""
        if not self.closed:
            return False
        if self._farewell_until is not None and time.monotonic() < self._farewell_until:
            return False
        return True

    def _finish_farewell(self) -> None:
        if self._farewell_until is not None:
            self._farewell_until = None
            try:
                self._sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _write_loop(self) -> None:
        poller = select.poll()
        poller.register(self._sock, select.POLLOUT)
        while True:
            with self._lock:
                while not self._queue and not self.closed:
                    self._wake.wait()
                if not self._queue or self._give_up():
                    self._finish_farewell()
                    return
                data = b"".join(self._queue)  # coalesce: one write for all of it
                self._queue.clear()
                self._head_started = False  # what is in flight is finished below
                self._writing = True
            view = memoryview(data)
            try:
                while view:
                    if self._give_up():
                        self._finish_farewell()
                        return
                    if not poller.poll(_POLL_MS):
                        continue
                    try:
                        sent = self._sock.send(view, socket.MSG_DONTWAIT)
                    except (BlockingIOError, InterruptedError):
                        continue
                    view = view[sent:]
                    with self._lock:
                        self._queued -= sent
            except OSError as exc:
                with self._lock:
                    self._writing = False
                    self._fail(f"send failed: {exc.strerror or exc}")
                return
            with self._lock:
                self._writing = False
                self._wake.notify_all()
