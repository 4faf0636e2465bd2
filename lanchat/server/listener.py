"""The listening socket: accepting, admission, the room, and graceful shutdown.

``ChatServer`` is a ``socketserver.ThreadingTCPServer``: a thread per connection
(``lanchat.server.handler.ChatHandler``), admission limits, every connection tracked so
shutdown can say goodbye and flush with a bound.

A connection's thread is a plain ``_thread`` one, not a ``threading.Thread``: the
object, its Event, Condition and locks cost ~4 KiB of RSS per idle connection beside
the ~8 KiB of stack (bench/README.md, "Memory per connection"). So those threads are
not in ``threading.enumerate()``; ``connection_threads()`` counts them, and
``server.py`` turns ``logging.logThreads`` off (a log record in such a thread would
make a ``threading._DummyThread`` that Python 3.11 keeps).
"""

from __future__ import annotations

import _thread
import logging
import queue
import socketserver
import threading
import time
from typing import Optional

from lanchat.netaddr import is_loopback
from lanchat.server.config import ServerConfig
from lanchat.server.handler import SHUTDOWN_FLUSH_SECONDS, ChatHandler
from lanchat.server.journal import Journal
from lanchat.server.redisjournal import RedisJournal
from lanchat.server.room import Room

log = logging.getLogger("chat.server")


class ChatServer(socketserver.ThreadingTCPServer):
    """The listening socket, admission, the room, and graceful shutdown.

    Args:
        config: the server's settings; ``config.port`` 0 picks a free port
            (``server_address`` tells which).
    """

    allow_reuse_address = True
    daemon_threads = True          # shutdown joins the handlers itself, with a bound
    block_on_close = False
    # The default 5 drops connects when a class joins at once; Linux caps it at
    # net.core.somaxconn (4096 on current kernels).
    request_queue_size = 4096
    # Threads that start the connections' threads. Starting a thread waits until it
    # runs, which under load takes milliseconds (it needs the GIL); done by the
    # accepting thread, that wait capped accepts at a few hundred a second while a
    # crowd joined. The accepting thread hands each connection over instead.
    spawners = 4

    def __init__(self, config: ServerConfig):
        self.config = config
        # Alone on SQLite, or one of a group sharing Redis (docs/cluster.md).
        self.journal = RedisJournal(config.redis, config.history + config.redis_window,
                                    config.server_name) \
            if config.redis else Journal(config.db)
        self.room = Room(self.journal, config)
        self._handlers: set = set()
        self._per_ip: dict = {}
        self._handlers_lock = threading.Lock()
        self._threads_running = 0  # connection threads started and not yet ended
        self._closed = threading.Event()
        self._to_spawn: queue.SimpleQueue = queue.SimpleQueue()
        try:
            super().__init__((config.host, config.port), ChatHandler)
        except BaseException:
            self.journal.close()
            raise
        for number in range(self.spawners):
            threading.Thread(target=self._spawn_loop, name=f"spawn-{number}", daemon=True).start()

    # ---------------------------------------------------------------- threads

    def process_request(self, request, client_address) -> None:
        """Hand the accepted connection to a spawner; accepting goes on at once."""
        self._to_spawn.put((request, client_address))

    def _spawn_loop(self) -> None:
        while True:
            item = self._to_spawn.get()
            if item is None:
                return
            request, client_address = item
            with self._handlers_lock:
                self._threads_running += 1
            try:
                # A thread for the connection, for its lifetime (module docstring).
                _thread.start_new_thread(self._connection_thread, (request, client_address))
            except Exception:
                self._thread_ended()
                self.handle_error(request, client_address)
                self.shutdown_request(request)

    def _connection_thread(self, request, client_address) -> None:
        try:
            # ThreadingMixIn's: handle, report any error, close the socket.
            self.process_request_thread(request, client_address)
        finally:
            self._thread_ended()

    def finish_request(self, request, client_address) -> None:
        """``BaseRequestHandler.__init__``'s setup, handle and finish, as plain calls:
        run inside ``__init__`` (a class call, made in C), the connection's whole life
        sat ~0.8 KiB deeper in its thread's stack, enough to touch a third page on the
        join path (bench/README.md, "Memory per connection")."""
        handler = ChatHandler.__new__(ChatHandler)
        handler.request, handler.client_address, handler.server = request, client_address, self
        handler.setup()
        try:
            handler.handle()
        finally:
            handler.finish()

    def _thread_ended(self) -> None:
        with self._handlers_lock:
            self._threads_running -= 1

    def connection_threads(self) -> int:
        """Connection threads running now (they are not in ``threading.enumerate()``)."""
        with self._handlers_lock:
            return self._threads_running

    def server_close(self) -> None:
        super().server_close()
        for _ in range(self.spawners):
            self._to_spawn.put(None)

    # ---------------------------------------------------------------- admission

    def admit(self, handler: ChatHandler) -> Optional[str]:
        """Count a new connection in; over a limit, the sentence to refuse it with
        (``server_full``: the handler answers it in the connection's dialect)."""
        with self._handlers_lock:
            count = self._per_ip.get(handler.ip, 0)
            if len(self._handlers) >= self.config.max_clients:
                why = f"the server is full ({self.config.max_clients} connections)"
            elif count >= self.config.max_per_ip and not is_loopback(handler.ip):
                why = f"too many connections from {handler.ip} (the limit is {self.config.max_per_ip})"
            elif self.room.closing:
                why = "the server is shutting down"
            else:
                self._handlers.add(handler)
                self._per_ip[handler.ip] = count + 1
                return None
        log.warning("%s refused: %s", handler.peer, why)
        return why

    def release(self, handler: ChatHandler) -> None:
        with self._handlers_lock:
            if handler in self._handlers:
                self._handlers.discard(handler)
                left = self._per_ip.get(handler.ip, 1) - 1
                if left:
                    self._per_ip[handler.ip] = left
                else:
                    self._per_ip.pop(handler.ip, None)

    def connection_count(self) -> int:
        with self._handlers_lock:
            return len(self._handlers)

    def people(self) -> int:
        """How many people are in the chat now, on every server of a group (what
        discovery advertises as ``users``)."""
        with self.room.lock:
            return len(self.room.members) + len(self.room.membership.remote)

    def handle_error(self, request, client_address) -> None:
        # One connection's bug must not reach the others: log it with the peer.
        log.exception("unexpected error on connection from %s:%s", *client_address[:2])

    # ----------------------------------------------------------------- shutdown

    def close_gracefully(self, flush_seconds: float = SHUTDOWN_FLUSH_SECONDS) -> None:
        """Stop accepting, say ``shutting_down`` to all, flush (bounded), close, store.

        Call from a thread other than the one running ``serve_forever``.
        """
        if self._closed.is_set():
            return
        self._closed.set()
        self.shutdown()
        members = self.room.shutting_down()
        deadline = time.monotonic() + flush_seconds
        for member in members:
            member.transport.flush(max(0.0, deadline - time.monotonic()))
        with self._handlers_lock:
            handlers = list(self._handlers)
        for handler in handlers:
            handler.kick("server shutting down")
        self._wait_for_handlers(deadline + 2.0)
        self.server_close()
        self.journal.close()

    def _wait_for_handlers(self, deadline: float) -> None:
        while self.connection_count() and time.monotonic() < deadline:
            time.sleep(0.02)
