"""The journal's pipeline (journal.py ``_run``): the next batch commits while this one
is delivered, and is delivered after it, in order, each after its own commit."""

import contextlib
import sqlite3
import threading

from conftest import WAIT, wait_for
from lanchat.server.journal import Journal


def line(seq: int) -> dict:
    return {"type": "message", "seq": seq, "ts": 1.5, "from": "ann", "text": f"line {seq}",
            "kind": "chat", "room": "#lobby"}


def committed(path: str, seq: int) -> bool:
    """Whether another connection sees ``seq``'s row: committed, not just written."""
    db = sqlite3.connect(path)
    try:
        return db.execute("SELECT 1 FROM events WHERE seq = ?", (seq,)).fetchone() is not None
    finally:
        db.close()


def run_each(actions: list) -> None:
    for prepare, action in actions:
        if prepare is None:
            action()
        else:
            action(prepare())


class Recorder:
    """Delivery callbacks that note their seq, and whether its row was committed then."""

    def __init__(self, path: str):
        self.path = path
        self.seen: list = []

    def __call__(self, seq: int):
        return lambda *prepared: self.seen.append((seq, committed(self.path, seq)))


@contextlib.contextmanager
def first_batch_held(path: str):
    """A journal whose first batch (seq 1) a reader's ``run_inline`` is delivering, held
    there until ``gate`` is set; yields ``(journal, record, gate, inline thread)``."""
    journal = Journal(path)
    journal.start(run_each)
    record = Recorder(path)
    entered, gate = threading.Event(), threading.Event()

    def first():
        record(1)()
        entered.set()
        assert gate.wait(WAIT)

    try:
        journal.submit(line(1), first, wake=False)
        inline = threading.Thread(target=journal.run_inline)  # a reader thread's way
        inline.start()
        assert entered.wait(WAIT)
        yield journal, record, gate, inline
    finally:
        gate.set()
        journal.close()


def test_the_next_batch_commits_while_this_one_is_delivered_and_waits_its_turn(tmp_path):
    path = str(tmp_path / "chat.db")
    with first_batch_held(path) as (journal, record, gate, inline):
        # Batch 1 is being delivered; batches 2 and 3 are committed meanwhile by the
        # journal's thread and handed over: nothing of them is delivered before batch 1
        # is through, then both go out as one batch, in order.
        journal.submit(line(2), record(2))
        wait_for(lambda: committed(path, 2), what="batch 2 committed during batch 1's sends")
        journal.submit(line(3), record(3))
        wait_for(lambda: committed(path, 3), what="batch 3 committed during batch 1's sends")
        # On disk just before it is handed over (under the lock): wait for that too.
        wait_for(lambda: len(journal._ready or ()) == 2, what="batch 3 handed over")
        with journal._lock:
            assert len(journal._ready) == 2 and journal._ready_rows == 2
        assert record.seen == [(1, True)]
        gate.set()
        wait_for(lambda: len(record.seen) == 3, what="batches 2 and 3 delivered")
        assert record.seen == [(1, True), (2, True), (3, True)]
        inline.join(WAIT)
        assert not inline.is_alive()


def test_no_more_than_batch_rows_wait_for_the_thread_delivering(tmp_path, monkeypatch):
    from lanchat.server import journal as history
    monkeypatch.setattr(history, "BATCH_ROWS", 2)
    path = str(tmp_path / "chat.db")
    with first_batch_held(path) as (journal, record, gate, inline):
        journal.submit_rows([Journal.row(line(2)), Journal.row(line(3))], record(2))
        wait_for(lambda: journal._ready_rows == 2, what="two rows waiting")
        journal.submit(line(4), record(4))
        with journal._lock:  # not taken: the rows waiting are at the bound
            assert [e.rows[0][0] for e in journal._pending] == [4]
        assert not committed(path, 4)
        gate.set()
        wait_for(lambda: len(record.seen) == 3, what="the rest delivered")
        assert record.seen == [(1, True), (2, True), (4, True)]
        inline.join(WAIT)


def test_run_inline_called_by_a_delivery_leaves_the_batch_to_the_journal_thread(tmp_path):
    # A delivery that queues another entry and runs the journal inline must not wait
    # for its own turn (it holds it): the journal's thread takes the entry instead.
    path = str(tmp_path / "chat.db")
    journal = Journal(path)
    journal.start(run_each)
    record = Recorder(path)

    def first():
        record(1)()
        journal.submit(line(2), record(2), wake=False)
        journal.run_inline()

    try:
        journal.submit(line(1), first, wake=False)
        journal.run_inline()
        wait_for(lambda: len(record.seen) == 2, what="the entry queued by a delivery")
        assert record.seen == [(1, True), (2, True)]
    finally:
        journal.close()


def test_close_waits_for_the_batch_being_delivered_and_its_history_reads(tmp_path):
    path = str(tmp_path / "chat.db")
    journal = Journal(path)
    journal.start(run_each)
    entered, gate = threading.Event(), threading.Event()
    got: list = []

    def first():
        entered.set()
        assert gate.wait(WAIT)

    def replay():  # a joiner's history, read after the batch before it was sent
        return journal.replay("s", since=0, until=2, limit=10)[0]

    journal.submit(line(1), first, wake=False)
    journal.submit(line(2), got.append, wake=False, prepare=replay)
    inline = threading.Thread(target=journal.run_inline)
    inline.start()
    assert entered.wait(WAIT)
    closer = threading.Thread(target=journal.close)
    closer.start()
    wait_for(lambda: journal._closing, what="close() under way")
    gate.set()
    closer.join(WAIT)
    inline.join(WAIT)
    assert not closer.is_alive() and not inline.is_alive()
    assert [[e["seq"] for e in events] for events in got] == [[1, 2]]
