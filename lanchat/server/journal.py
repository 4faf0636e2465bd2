"""The journal: every event with a seq is stored in SQLite before anyone sees it.

Why a journal thread: an ``ack`` promises the line survives a crash of the server
process, so the row must be committed before the ack (and, so that a resend after a
crash is never broadcast twice, before the broadcast). Committing once per message
would cap throughput at the disk's commit rate, so the room hands each event to
``submit`` with a delivery callback, and one committer thread writes everything that
queued up meanwhile in one transaction, then runs the callbacks in submit order (which
is seq order). SQLite never runs under the room's lock.

A thread that submits with ``wake=False`` calls ``run_inline`` once it has left the
room's lock: if no batch is being committed, it commits and delivers that batch itself,
which saves the hand-off to the committer thread (a wake-up and a GIL switch per line,
the main cost of a line in a quiet room).

While one batch's deliveries run (the room gathering and handing its bytes to the
send queues), what comes meanwhile is committed, by the committer thread or another
reader's ``run_inline``, and handed to the thread delivering, which delivers all of it
next as one batch (``_run``: no thread waits for another; up to ``BATCH_ROWS`` rows
wait so). So every event is committed before anyone sees it, batches are delivered in
order and as big as without the overlap (one send per member each), and SQLite
(which lets go of the GIL while it works) runs beside the Python of the sends.
History reads (a delivery's ``prepare``) and commits take turns on the connection.

Rows (``eventrows``): a line said in a room is stored narrow, its parts in columns
and no JSON; a batch's rows go in as a few fixed multi-row ``INSERT``s, prepared once.

WAL with ``synchronous=NORMAL``: a commit is in the WAL file when ``COMMIT`` returns,
so it survives ``kill -9`` of the process (not necessarily a power cut). Checkpoints
(copying the WAL into the database file, with an fsync) run on a thread and a
connection of their own: left to SQLite, every thousandth page a commit would do one
and stall the room for tens of milliseconds.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
import threading
from dataclasses import dataclass
from functools import partial
from typing import Callable, Optional

from lanchat.errors import JournalClosed
from lanchat.server import eventrows
from lanchat.server.database import lock_history, open_database
from lanchat.server.historyreads import HistoryReads

log = logging.getLogger("chat.history")

KNOWN_IDS_LOADED = 100000  # say ids reloaded at start, so resends after a restart dedupe
SESSION_DAYS = 7           # a session unused this long cannot be resumed after a restart
# Most events one batch commits and delivers. Bigger batches save nothing more (a
# member's share is already sent in one call), but would delay the first of them and
# hold megabytes per member when a crowd pipelines lines.
BATCH_ROWS = 512
CHECKPOINT_SECONDS = 1.0  # how often the WAL is copied into the database file
_UPSERT_SESSION = ("INSERT INTO sessions VALUES (?,?,?) ON CONFLICT(token) DO UPDATE "
                   "SET name=excluded.name, updated=excluded.updated")



def _call_each(actions: list) -> None:
    for prepare, action in actions:
        try:
            if prepare is None:
                action()
            else:
                action(prepare())
        except Exception:
            log.exception("delivery failed")


@dataclass
class _Entry:
    rows: tuple                      # events rows (none: delivery only)
    session: Optional[tuple]         # a sessions row to upsert, or None
    deliver: Optional[Callable[..., None]]
    refused: Optional[Callable[[], None]] = None  # instead of deliver if the row failed
    prepare: Optional[Callable[[], object]] = None  # its result is deliver's argument
    # A group's journal (redisjournal): told {seq: first seq} of its lines whose say
    # id another server stored first (never called here: one server checks its ids).
    repeated: Optional[Callable[[dict], None]] = None


class Journal(HistoryReads):
    """SQLite event store with a batching committer thread.

    Args:
        path: database file, or ``":memory:"`` for a history that lives as long as
            the process.
    """

    shared = False  # alone: the room counts its seqs (``redisjournal`` takes them)
    # Set in ``_run`` (a group's journal, ``redisjournal``, delivers from its reader and
    # leaves them so): whether a batch is being delivered, on which thread, and the
    # deliveries committed meanwhile, which that thread runs next as one batch (and
    # how many rows they stored).
    _delivering = False
    _deliverer: Optional[int] = None
    _ready: Optional[list] = None
    _ready_rows = 0

    def __init__(self, path: str):
        self.path = path
        self._checkpointer: Optional[threading.Thread] = None
        self._stop_checkpoints = threading.Event()
        self._exclusive = lock_history(path)  # one server per history
        try:
            self._db = open_database(path)
        except BaseException:
            if self._exclusive is not None:
                self._exclusive.close()
            raise
        if path != ":memory:":
            self._checkpointer = threading.Thread(target=self._checkpoint_loop,
                                                  name="checkpoint", daemon=True)
        self.last_seq: int = self._db.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()[0]
        self._db_lock = threading.Lock()  # one transaction or history read at a time
        self._lock = threading.Condition()  # the committer thread waits on it for work
        self._pending: list = []
        self._committing = False  # a batch is being written (by anyone)
        self._closing = False
        self._thread = threading.Thread(target=self._commit_loop, name="journal", daemon=True)
        self._deliver_batch: Callable[[list], None] = _call_each
        self.batches = 0  # commits made, for benchmarks
        self.failed: Optional[str] = None

    def start(self, deliver_batch: Optional[Callable[[list], None]] = None,
              remote: Optional[Callable] = None) -> None:
        """Start the committer thread.

        Args:
            deliver_batch: runs a committed batch's callbacks, given as a list of
                ``(prepare, deliver)`` (see ``submit``); the room gathers their sends.
                By default each is called in turn.
            remote: delivers events other servers stored: there are none here (a
                group's journal, ``redisjournal``, calls it).
        """
        if deliver_batch is not None:
            self._deliver_batch = deliver_batch
        self._thread.start()
        if self._checkpointer is not None:
            self._checkpointer.start()

    def _checkpoint_loop(self) -> None:
        # PASSIVE never waits for the committer: it copies what no reader needs, and
        # the fsync it ends with happens here, not in a commit.
        db = sqlite3.connect(self.path, isolation_level=None)
        failing = False

        def checkpoint() -> None:
            nonlocal failing
            try:
                db.execute("PRAGMA wal_checkpoint(PASSIVE)")
                failing = False
            except sqlite3.Error as exc:  # a full disk, say: try again later
                if not failing:
                    log.warning("checkpoint failed: %s (will retry)", exc)
                failing = True

        try:
            checkpoint()  # also opens the WAL files now, not in the middle of a chat
            done = self.batches
            while not self._stop_checkpoints.wait(CHECKPOINT_SECONDS):
                if self.batches != done:
                    done = self.batches
                    checkpoint()
        finally:
            db.close()

    # ----------------------------------------------------------- loading at start

    def sessions(self, now: float) -> dict:
        """Session tokens used in the last ``SESSION_DAYS`` days, with their last name."""
        return dict(self._db.execute("SELECT token, name FROM sessions WHERE updated > ?",
                                     (now - SESSION_DAYS * 86400,)))

    def mode_events(self) -> list:
        """Every stored ``mode`` and ``topic`` event, oldest first, with its row's
        ``recipient`` (a ban's address): a room's state is rebuilt from them at start."""
        rows = self._db.execute("SELECT body, recipient FROM events WHERE type IN "
                                "('mode', 'topic') ORDER BY seq").fetchall()
        return [(json.loads(body), recipient) for body, recipient in rows]

    def fetch_session(self, token: str) -> Optional[tuple]:
        """Every session is loaded at start (``sessions``): nothing more to fetch."""
        return None

    def known_ids(self) -> dict:
        """``{session: {say id: seq}}`` for the recent messages that carried an id."""
        out: dict = {}
        rows = self._db.execute(
            "SELECT session, msg_id, seq FROM events WHERE msg_id IS NOT NULL AND seq > ?",
            (self.last_seq - KNOWN_IDS_LOADED,))
        for session, msg_id, seq in rows:
            out.setdefault(session, {})[msg_id] = seq
        return out

    # ------------------------------------------------------------------ writing

    def submit(self, event: Optional[dict], deliver: Optional[Callable[[], None]] = None, *,
               sender: Optional[str] = None, recipient: Optional[str] = None,
               session: Optional[str] = None, recipient_session: Optional[str] = None,
               msg_id: Optional[str] = None, session_name: Optional[str] = None,
               now: float = 0.0, body: Optional[str] = None, wake: bool = True,
               refused: Optional[Callable[[], None]] = None,
               prepare: Optional[Callable[[], object]] = None) -> None:
        """Queue an event (or nothing) to store, then ``deliver()`` after the commit.

        If the commit fails (disk full, read-only file), ``refused()`` runs instead of
        ``deliver()`` when given: an event that is not stored is not shown or acked.
        Raises ``JournalClosed`` once the journal is closing.

        With ``prepare``, the delivery is ``deliver(prepare())``, and ``prepare`` runs
        after the commit but outside the room lock (a history query, say), while the
        room runs the batch's ``deliver`` callbacks holding it.

        ``body`` is the event's JSON if the caller already encoded it (the broadcast
        frame's body is the same text), so it is encoded once.

        Callbacks run in the order of ``submit`` calls, one batch at a time; the
        caller holds the room lock while it submits, so that is seq order. With
        ``wake=False`` the caller must call ``run_inline()`` after leaving the room lock.
        """
        rows = () if event is None else (self.row(
            event, sender=sender, recipient=recipient, session=session,
            recipient_session=recipient_session, msg_id=msg_id, body=body),)
        session_row = (session, session_name, now) if session_name is not None else None
        self._queue(_Entry(rows, session_row, deliver, refused, prepare), wake)

    def submit_rows(self, rows: list, deliver: Callable[[], None], *,
                    refused: Optional[Callable[[], None]] = None, wake: bool = True,
                    repeated: Optional[Callable[[dict], None]] = None) -> None:
        """Like ``submit``, for several events (rows made by ``row``) delivered by one
        callback: a run of lines from one sender, stored all or none."""
        self._queue(_Entry(tuple(rows), None, deliver, refused, None, repeated), wake)

    row = staticmethod(eventrows.row)  # an event's row, for ``submit_rows``

    def _queue(self, entry: _Entry, wake: bool) -> None:
        with self._lock:
            if self._closing:
                raise JournalClosed("journal closed")
            self._pending.append(entry)
            if wake:
                self._lock.notify()

    def run_inline(self) -> None:
        """Commit and deliver the pending batch on this thread, unless one is running.

        Never call it holding the room lock (deliveries take it). If a batch is already
        being committed, whoever commits it picks up what is pending afterwards.
        """
        with self._lock:
            free = not self._committing and self._ready_rows < BATCH_ROWS
            if not free or not self._pending or self._closing \
                    or self._deliverer == threading.get_ident():  # called by a delivery
                if self._pending and free:
                    self._lock.notify()
                return
            batch = self._take_batch()
            self._committing = True
        self._run(batch)

    def _commit_loop(self) -> None:
        while True:
            with self._lock:
                while self._committing or self._ready_rows >= BATCH_ROWS or (
                        not self._pending and not (self._closing and not self._delivering)):
                    self._lock.wait()
                if not self._pending:  # closing, nothing is left, the last one delivered
                    return
                batch = self._take_batch()
                self._committing = True
            self._run(batch)
            # Not kept while waiting for the next: a batch of joins holds their
            # welcomes (each lists everyone), tens of KiB per connection in a crowd.
            del batch

    @property
    def backlog(self) -> bool:
        """More waits to be committed or delivered (read without the lock: a hint)."""
        return bool(self._pending) or self._committing or self._ready is not None

    def _take_batch(self) -> list:
        # Lock held: the pending entries up to about BATCH_ROWS events (at least one).
        rows = count = 0
        while count < len(self._pending) and rows < BATCH_ROWS:
            rows += len(self._pending[count].rows)
            count += 1
        batch, self._pending = self._pending[:count], self._pending[count:]
        return batch

    def _run(self, batch: list) -> None:
        # Commit the batch. If the batch before is still being delivered, add this
        # one's deliveries to what that thread runs next (what is committed while one
        # batch is sent goes out as one batch, so each member still gets one send for
        # it); else deliver it here, then whatever was committed meanwhile. The next
        # commit may start at once, up to BATCH_ROWS rows waiting: every event is
        # committed before it is delivered, in order, and no thread waits for another.
        actions: Optional[list] = []
        rows = 0
        try:
            stored = self._write(batch)
            for entry in batch:
                rows += len(entry.rows)
                if not stored and entry.rows and entry.refused is not None:
                    actions.append((None, entry.refused))
                elif entry.deliver is not None:
                    prepare = entry.prepare
                    actions.append((None if prepare is None else partial(self._read, prepare),
                                    entry.deliver))
        except Exception:
            log.exception("delivery failed")
        with self._lock:
            self._committing = False
            if self._delivering:
                if self._ready is None:
                    self._ready = actions
                else:
                    self._ready += actions
                self._ready_rows += rows
                if self._pending and self._ready_rows < BATCH_ROWS:
                    self._lock.notify()  # the committer thread commits the next meanwhile
                return
            self._delivering = True
            self._deliverer = threading.get_ident()
            if self._pending or self._closing:
                self._lock.notify()  # the committer thread commits the next meanwhile
        while actions is not None:
            try:
                self._deliver_batch(actions)
            except Exception:
                log.exception("delivery failed")
            with self._lock:
                actions, self._ready, self._ready_rows = self._ready, None, 0
                if actions is None:
                    self._delivering = False
                    self._deliverer = None
                if self._pending or self._closing:
                    self._lock.notify()  # room for the next commit

    def _read(self, prepare: Callable[[], object]) -> object:
        # A delivery's history query: not in the middle of the next batch's commit.
        with self._db_lock:
            return prepare()

    def _write(self, batch: list) -> bool:
        """Commit the batch's rows in one transaction; False if that failed."""
        rows = [row for entry in batch for row in entry.rows]
        sessions = [entry.session for entry in batch if entry.session is not None]
        if not rows and not sessions:
            return True
        with self._db_lock:
            try:
                self._db.execute("BEGIN")
                for sql, values in eventrows.statements(rows):
                    self._db.execute(sql, values)
                if sessions:
                    self._db.executemany(_UPSERT_SESSION, sessions)
                self._db.execute("COMMIT")
                self.batches += 1
                return True
            except Exception as exc:  # sqlite3.Error, or a row it cannot take
                # A full disk must not stop the server; the lines in this batch are
                # refused (their senders are told), so nothing unstored is ever acked.
                self.failed = str(exc)
                log.error("could not store %d events: %s", len(rows), exc)
                try:
                    self._db.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
                return False

    def _stop_committer(self, timeout: float) -> None:
        """Let the commit loop store and deliver what is queued, then wait for it to end."""
        with self._lock:
            self._closing = True
            self._lock.notify()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def close(self, timeout: float = 5.0) -> None:
        """Store and deliver what is queued, stop the thread, close the database."""
        self._stop_committer(timeout)
        self._stop_checkpoints.set()
        if self._checkpointer is not None and self._checkpointer.is_alive():
            self._checkpointer.join(timeout)
        if self._checkpointer is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        with contextlib.suppress(sqlite3.Error):
            self._db.close()
        if self._exclusive is not None:
            self._exclusive.close()  # the next server may take this history
