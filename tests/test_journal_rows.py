"""The history's rows (eventrows.py, database.py): narrow lines, whole events, and a
history written before narrow rows, which opens and replays as it was."""

import json
import sqlite3

from hypothesis import example, given, settings, strategies as st

from lanchat import codec
from lanchat.server import eventrows, rediswrite
from lanchat.server.database import open_database
from lanchat.server.journal import Journal

# The schema of the version before narrow rows (and before rooms, without ``room``),
# as that version wrote it.
OLD_SCHEMA = """
CREATE TABLE events (
    seq INTEGER PRIMARY KEY, ts REAL NOT NULL, type TEXT NOT NULL, sender TEXT,
    recipient TEXT, private INTEGER NOT NULL DEFAULT 0, session TEXT,
    recipient_session TEXT, msg_id TEXT, body TEXT NOT NULL%s
);
CREATE INDEX events_by_type ON events (type, seq);
CREATE TABLE sessions (token TEXT PRIMARY KEY, name TEXT NOT NULL, updated REAL NOT NULL);
"""


def stored_and_read(event: dict, **columns) -> dict:
    """``event`` through a real events table and back."""
    db = open_database(":memory:")
    try:
        row = eventrows.row(event, **columns)
        ((sql, values),) = eventrows.statements([row])
        db.execute(sql, values)
        got = db.execute(f"SELECT {eventrows.EVENT_COLUMNS} FROM events").fetchone()
        return eventrows.event(*got)
    finally:
        db.close()


texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=60)
times = st.floats(allow_nan=False)  # NaN is no time: SQLite stores it as NULL
room_lines = st.builds(
    lambda seq, ts, name, text, kind, room: {"type": "message", "seq": seq, "ts": ts,
                                             "from": name, "text": text, "kind": kind,
                                             "room": room},
    st.integers(1, 2 ** 63 - 1), times, texts, texts, st.sampled_from(["chat", "action"]),
    texts)


@settings(max_examples=300, deadline=None)
@given(room_lines)
@example({"type": "message", "seq": 1, "ts": -0.0, "from": "a", "text": "b", "kind": "chat",
          "room": "#a"})  # SQLite gives -0.0 back as 0.0
def test_a_room_line_comes_back_key_for_key_and_encodes_to_the_same_bytes(line):
    back = stored_and_read(line, sender="x", session="s", msg_id="m")
    assert list(back.items()) == list(line.items())
    assert codec.encode_event(back) == codec.encode_event(line)


def test_a_room_line_is_stored_narrow_and_other_events_whole():
    line = {"type": "message", "seq": 1, "ts": 1.5, "from": "Ann", "text": "hi",
            "kind": "chat", "room": "#Lobby"}
    assert eventrows.row(line, sender="ann", session="s", msg_id="m") == \
        (1, 1.5, "s", "m", "#lobby", "Ann", "hi", "chat", "#Lobby")
    private = {"type": "message", "seq": 2, "ts": 1.5, "from": "Ann", "text": "psst",
               "kind": "private", "to": "Bo"}
    join = {"type": "join", "seq": 3, "ts": 1.5, "name": "Ann", "room": "#Lobby"}
    odd = dict(line, ts=2)  # an int time would come back a float: stored whole
    for event in (private, join, odd):
        row = eventrows.row(event)
        assert len(row) == len(eventrows.WHOLE_COLUMNS) and json.loads(row[9]) == event


@settings(max_examples=200, deadline=None)
@given(st.one_of(
    room_lines.map(lambda line: dict(line, ts=int(line["ts"]) if abs(line["ts"]) < 1e15 else 1)),
    st.builds(lambda seq, ts, name, text: {"type": "message", "seq": seq, "ts": ts,
                                           "from": name, "text": text, "kind": "private",
                                           "to": name}, st.integers(1, 2 ** 40), times,
              texts, texts),
    st.builds(lambda seq, ts, name: {"type": "join", "seq": seq, "ts": ts, "name": name},
              st.integers(1, 2 ** 40), times, texts)))
def test_any_other_event_comes_back_as_it_was(event):
    back = stored_and_read(event, sender="x", session="s")
    assert list(back.items()) == list(event.items())


def old_history(path, *, rooms: bool) -> list:
    """A history as the version before narrow rows wrote it (``rediswrite.row`` is that
    version's row); returns the events in it, oldest first."""
    events = [
        {"type": "join", "seq": 1, "ts": 10.0, "name": "Ann"},
        {"type": "message", "seq": 2, "ts": 11.25, "from": "Ann", "text": "old line",
         "kind": "chat", "room": "#lobby"},
        {"type": "message", "seq": 3, "ts": 12.5, "from": "Ann", "text": "to bo",
         "kind": "private", "to": "Bo"},
        {"type": "topic", "seq": 4, "ts": 13.0, "by": "Ann", "topic": "news",
         "room": "#lobby"},
        {"type": "message", "seq": 5, "ts": 14.0, "from": "Ann", "text": "waves",
         "kind": "action", "room": "#lobby"},
    ]
    db = sqlite3.connect(path)
    db.executescript(OLD_SCHEMA % (", room TEXT" if rooms else ""))
    for event in events:
        row = rediswrite.row(event, sender="ann", session="S1", msg_id=f"id{event['seq']}",
                             recipient="bo" if "to" in event else None,
                             recipient_session="S2" if "to" in event else None)
        db.execute(f"INSERT INTO events VALUES ({','.join('?' * len(row))})"
                   if rooms else "INSERT INTO events VALUES (?,?,?,?,?,?,?,?,?,?)",
                   row if rooms else row[:10])
    db.execute("INSERT INTO sessions VALUES ('S1', 'Ann', 9e9)")
    db.commit()
    db.close()
    return events


def replayed(journal, session, since=0):
    return journal.replay(session, since=since, until=journal.last_seq, limit=100)[0]


def test_an_old_history_is_migrated_and_replays_as_it_was(tmp_path):
    for rooms in (True, False):
        path = str(tmp_path / f"old-{rooms}.db")
        events = old_history(path, rooms=rooms)
        journal = Journal(path)
        journal.start()
        try:
            columns = [r[1] for r in journal._db.execute("PRAGMA table_info(events)")]
            assert columns[-5:] == ["room", "name", "text", "kind", "room_name"]
            indexes = {r[0] for r in journal._db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index'")}
            assert "events_by_type" not in indexes and "events_modes" in indexes
            assert journal.last_seq == 5
            assert [e for e, _ in journal.mode_events()] == [events[3]]
            assert journal.known_ids()["S1"] == {f"id{n}": n for n in range(1, 6)}
            # Ann's session sees all of it, Bo's too (the private line was to it).
            for session in ("S1", "S2"):
                expected = [dict(e, replay=True, **({"id": f"id{e['seq']}"} if session == "S1"
                                                    else {})) for e in events]
                got = replayed(journal, session)
                assert [list(e.items()) for e in got] == [list(e.items()) for e in expected]
            # Anyone else: not the private line.
            assert [e["seq"] for e in replayed(journal, "S3")] == [1, 2, 4, 5]
            # New lines go in narrow beside the old rows; both read back.
            new = {"type": "message", "seq": 6, "ts": 15.0, "from": "Ann", "text": "new",
                   "kind": "chat", "room": "#lobby"}
            journal.submit(new, sender="ann", session="S1", msg_id="id6")
            journal.run_inline()
            assert journal._db.execute("SELECT body, text FROM events WHERE seq = 6"
                                       ).fetchone() == ("", "new")
            assert journal.recent_messages("S3", 10, 6) == [
                dict(events[1], replay=True), dict(events[4], replay=True),
                dict(new, replay=True)]
        finally:
            journal.close()
        # Opened again (already migrated): the same.
        again = Journal(path)
        try:
            assert [e["seq"] for e in replayed(again, "S3")] == [1, 2, 4, 5, 6]
        finally:
            again.close()


def test_a_table_of_someone_else_called_events_is_left_alone(tmp_path):
    from lanchat.errors import HistoryUnusable
    import pytest
    path = str(tmp_path / "other.db")
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, what TEXT)")
    db.commit()
    db.close()
    with pytest.raises(HistoryUnusable, match="not a chat history"):
        open_database(path)
    db = sqlite3.connect(path)
    assert [r[1] for r in db.execute("PRAGMA table_info(events)")] == ["id", "what"]
    db.close()


def test_a_replayed_line_is_the_bytes_that_were_broadcast(make_server, make_client, tmp_path):
    # Real server, history on disk: what a member saw live, and what a joiner gets
    # from history after a restart, differ only by the replay mark at the end.
    db = str(tmp_path / "chat.db")
    srv = make_server(rate=0, db=db)
    ann, bo = make_client(srv.address), make_client(srv.address)
    ann.hello("Ann")
    session = bo.hello("Bo")["session"]
    ann.expect("join", name="Bo")
    lines = ["plain line", "/me waves", "ünïcödé \"quoted\" \\ back", "/msg Bo just for you"]
    for n, text in enumerate(lines):
        ann.send(type="say", text=text, id=f"a{n}")
        ann.expect("ack", id=f"a{n}")
    live = []
    while len(live) < len(lines):
        body = bo.recv_body()
        if json.loads(body)["type"] == "message":
            live.append(body)
    stored = sqlite3.connect(db).execute(
        "SELECT body = '' FROM events WHERE type = 'message' ORDER BY seq").fetchall()
    assert stored == [(1,), (1,), (1,), (0,)]  # the room lines narrow, the private one whole
    srv.stop()
    again = make_server(rate=0, db=db)
    bo2 = make_client(again.address)
    bo2.send(type="hello", name="Bo", since=0, resume=session)
    replays = []
    while len(replays) < len(lines):
        body = bo2.recv_body()
        if json.loads(body).get("type") == "message":
            replays.append(body)
    assert replays == [body[:-1] + b',"replay":true}' for body in live]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["line", "join"]), max_size=300))
def test_a_batch_of_any_mix_is_inserted_row_for_row(kinds):
    # statements() cuts a batch into a few INSERTs of 128, 32, 8 or 1 rows of one shape.
    events = [dict({"type": "message", "seq": seq, "ts": 2.5, "from": "a", "text": f"t{seq}",
                    "kind": "chat", "room": "#r"} if kind == "line" else
                   {"type": "join", "seq": seq, "ts": 2.5, "name": f"n{seq}"})
              for seq, kind in enumerate(kinds, 1)]
    made = [eventrows.row(event, session="s", msg_id=f"m{event['seq']}") for event in events]
    found = eventrows.statements(made)
    assert len(found) <= 2 * (len(made) // 128 + 3 + 3 + 7)
    db = open_database(":memory:")
    try:
        for sql, values in found:
            db.execute(sql, values)
        rows = db.execute(f"SELECT {eventrows.EVENT_COLUMNS}, msg_id FROM events ORDER BY seq"
                          ).fetchall()
    finally:
        db.close()
    assert [eventrows.event(*row[:-1]) for row in rows] == events
    assert [row[-1] for row in rows] == [f"m{n}" for n in range(1, len(events) + 1)]
