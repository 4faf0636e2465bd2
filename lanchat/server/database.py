"""The history database: its schema, and opening it or saying why it cannot be.

One file (``--db``), or ``:memory:`` for a history that lives as long as the process.
Opening checks the folder, the file and the table's columns, so a wrong ``--db`` is
one sentence (``HistoryUnusable``) instead of an SQLite error at the first line.
"""

from __future__ import annotations

import os
import sqlite3
from typing import IO, Optional

from lanchat.errors import HistoryUnusable

try:
    import fcntl
except ImportError:  # Windows: no advisory lock; SQLite still locks its own writes
    fcntl = None

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY,
    ts REAL NOT NULL,
    type TEXT NOT NULL,
    sender TEXT,        -- casefolded name of whoever caused it (none in a narrow line)
    recipient TEXT,     -- casefolded name of a private message's addressee; a ban's address
    private INTEGER NOT NULL DEFAULT 0,
    session TEXT,       -- the sender's session token
    recipient_session TEXT,  -- a private message's addressee's session token
    msg_id TEXT,        -- the sender's say id (messages only)
    body TEXT NOT NULL, -- the event as broadcast, JSON; '' in a narrow line
    room TEXT,          -- the room's key (#lobby...); none for private lines, leaves, nicks
    -- A line said in a room, stored narrow (eventrows.py); NULL in any other row:
    name TEXT,          -- its "from"
    text TEXT,          -- its "text"
    kind TEXT,          -- its "kind"
    room_name TEXT      -- its "room" (the room's name as shown)
);
CREATE INDEX IF NOT EXISTS events_modes ON events (seq) WHERE type IN ('mode', 'topic');
CREATE TABLE IF NOT EXISTS sessions (
    token TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    updated REAL NOT NULL
);
"""
# Columns a history from an older version may lack, added when it is opened.
_ADDED_COLUMNS = ("room", "name", "text", "kind", "room_name")


def check_location(path: str) -> None:
    """Raise ``HistoryUnusable`` if ``path`` cannot be a history file (its folder is
    missing, or it is a folder): checked before anything is made beside it."""
    if path == ":memory:":
        return
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise HistoryUnusable(f"the folder {folder} does not exist (create it, or give "
                              "a file in a folder that does)")
    if os.path.isdir(path):
        raise HistoryUnusable(f"{path} is a folder; give a file name")


def lock_history(path: str) -> Optional[IO]:
    """Hold ``path + ".lock"`` for this process (None for ``:memory:``); close the
    returned file to let go. Two servers on one history would hand out the same seqs.

    Raises:
        HistoryUnusable: another server holds it.
    """
    if path == ":memory:" or fcntl is None:
        return None
    check_location(path)
    held = open(path + ".lock", "a")
    try:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        held.close()
        raise HistoryUnusable(f"{path} is in use by another chat server; stop that one, "
                              "or give this one another --db") from None
    return held


def open_database(path: str) -> sqlite3.Connection:
    """The database, in WAL mode with the schema; ``HistoryUnusable`` if it cannot be."""
    check_location(path)
    try:
        db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    except sqlite3.Error as exc:
        raise HistoryUnusable(f"{path} cannot be opened ({exc})") from None
    try:
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if tables and "events" not in tables:  # someone else's database: leave it as it is
            raise sqlite3.DatabaseError("file is not a database of ours")
        if path != ":memory:":
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA wal_autocheckpoint=0")  # _checkpoint_loop does them
        db.executescript(_SCHEMA)
        _migrate(db)
        db.execute("SELECT seq, ts, type, sender, recipient, private, session, "
                   "recipient_session, msg_id, body, room, name, text, kind, room_name "
                   "FROM events LIMIT 0")
    except sqlite3.DatabaseError as exc:
        db.close()
        if "not a database" in str(exc) or "no such column" in str(exc):
            raise HistoryUnusable(f"{path} is not a chat history database; give another "
                                  "file (a new name makes a new history)") from None
        raise HistoryUnusable(f"{path} cannot be used ({exc})") from None
    return db


def _migrate(db: sqlite3.Connection) -> None:
    """Bring a history from an older version up to ``_SCHEMA``, in one transaction.

    Its rows stay as they are (``eventrows.event`` reads both forms): a history from
    before rooms gets ``room`` (its lines were #lobby's), one from before narrow rows
    the four columns of a narrow line; the index of every event by type, which
    each insert paid for and only the start's read of modes and topics needed, gives
    way to a partial index of those alone.
    """
    columns = {row[1] for row in db.execute("PRAGMA table_info(events)")}
    if not {"seq", "ts", "type", "body", "msg_id"} <= columns:  # not ours: leave it be
        raise sqlite3.DatabaseError("no such column: the events table is not ours")
    missing = [name for name in _ADDED_COLUMNS if name not in columns]
    old_index = db.execute("SELECT 1 FROM sqlite_master WHERE type = 'index' "
                           "AND name = 'events_by_type'").fetchone()
    if not missing and old_index is None:
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        for name in missing:
            db.execute(f"ALTER TABLE events ADD COLUMN {name} TEXT")
        db.execute("DROP INDEX IF EXISTS events_by_type")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
