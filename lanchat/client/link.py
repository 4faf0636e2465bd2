"""The two small pieces of machinery under ``ChatConnection``: a socket's writer
thread, and the wake-up that lets other threads interrupt the connection's wait.

Sends are queued and written by a thread of their own, so a server that stops reading
blocks that thread and never the UI calling ``say``. The connection's thread waits in
``select``; a ``Waker`` is one more thing it selects on, so ``say``, ``close`` and
``reconnect_now`` can cut a wait short without any timer thread.
"""

from __future__ import annotations

import logging
import queue
import select
import socket
import threading
from typing import Optional, Union

from lanchat.client.wiretap import WireTap

log = logging.getLogger("chat.connection")

_SHUT_WR = object()   # queue marker: half-close after what was queued before it
_STOP = object()      # queue marker: end the thread, sending nothing more


class Sender:
    """Writes queued frames to one socket, in order, on its own thread; a ``WireTap``,
    if given, records each frame just before it is written (so before its answer)."""

    def __init__(self, sock: socket.socket, wiretap: Optional[WireTap] = None):
        self._sock = sock
        self._wiretap = wiretap
        self._queue: "queue.Queue[Union[bytes, object]]" = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="chat-sender", daemon=True)
        self._thread.start()

    def put(self, frame: bytes) -> None:
        """Queue one encoded frame; never blocks."""
        self._queue.put(frame)

    def half_close(self) -> None:
        """After the frames queued so far, shut the socket's sending side."""
        self._queue.put(_SHUT_WR)

    def stop(self, timeout: float = 1.0) -> None:
        """End the thread (frames still queued are dropped) and wait for it."""
        self._queue.put(_STOP)
        self._thread.join(timeout)

    def _run(self) -> None:
        # A send error ends the thread; the receive side notices the broken
        # connection and reconnects.
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            try:
                if item is _SHUT_WR:
                    self._sock.shutdown(socket.SHUT_WR)
                    return
                if self._wiretap is not None:
                    self._wiretap.record_sent(item)
                self._sock.sendall(item)
            except OSError as exc:
                log.debug("send failed: %s", exc)
                return


def wait_readable(files: list, timeout: float) -> list:
    """Those of ``files`` (sockets, or anything with ``fileno``) readable within
    ``timeout`` seconds; a hang-up or an error counts as readable (the read says which).

    ``poll`` where the system has it: ``select`` cannot watch a descriptor numbered
    1024 or more, which a busy process (a bot, a long test run) soon hands out.
    """
    if not hasattr(select, "poll"):  # Windows: select has no such limit there
        return select.select(files, [], [], max(0.0, timeout))[0]
    poller = select.poll()
    for f in files:
        poller.register(f, select.POLLIN)
    ready = {fd for fd, _ in poller.poll(max(0, int(timeout * 1000) + 1))}
    return [f for f in files if f.fileno() in ready]


class Waker:
    """A socket pair: ``wake()`` from any thread makes a ``select`` on it return."""

    def __init__(self):
        self._read, self._write = socket.socketpair()
        self._read.setblocking(False)
        self._write.setblocking(False)

    def fileno(self) -> int:
        """The reading end, for ``select``."""
        return self._read.fileno()

    def wake(self) -> None:
        """Make the current or next wait return at once. Safe after ``close``."""
        try:
            self._write.send(b"\0")
        except OSError:  # full (a wake-up is pending anyway) or closed
            pass

    def clear(self) -> None:
        """Consume the wake-ups that arrived."""
        try:
            while self._read.recv(4096):
                pass
        except OSError:  # nothing more to read, or closed
            pass

    def wait(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds, less if woken."""
        try:
            wait_readable([self._read], timeout)
        except (OSError, ValueError):  # closed under us: the caller checks why
            return
        self.clear()

    def close(self) -> None:
        """Release both sockets."""
        self._read.close()
        self._write.close()
