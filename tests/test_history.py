"""History and resume (PROTOCOL.md sections 3, 4 and 7): replay, since, sessions, ids."""

import sqlite3

import protocol
from conftest import wait_for


def chat(client, text, msg_id=None):
    """Say a line and return its ack."""
    fields = {"text": text}
    if msg_id is not None:
        fields["id"] = msg_id
    client.send(type="say", **fields)
    return client.expect("ack", **({"id": msg_id} if msg_id else {}))


def replayed(client, count):
    return [client.expect("message", replay=True) for _ in range(count)]


def test_newcomer_gets_the_last_n_messages_oldest_first(make_server, make_client):
    srv = make_server(rate=0, history=3)
    alice = make_client(srv.address)
    alice.hello("alice")
    for n in range(5):
        chat(alice, f"line {n}")
    bob = make_client(srv.address)
    bob.hello("bob")
    texts = [m["text"] for m in replayed(bob, 3)]
    assert texts == ["line 2", "line 3", "line 4"]
    alice.send(type="say", text="live")
    live = bob.expect("message", text="live")
    assert "replay" not in live


def test_history_counts_only_messages_the_user_may_see(make_server, make_client):
    srv = make_server(rate=0, history=2)
    alice, carol = make_client(srv.address), make_client(srv.address)
    alice.hello("alice")
    carols_session = carol.hello("carol")["session"]
    chat(alice, "public")
    chat(alice, "/msg carol secret")
    chat(alice, "/me waves")
    bob = make_client(srv.address)
    bob.hello("bob")
    texts = [m["text"] for m in replayed(bob, 2)]
    assert texts == ["public", "waves"]
    carol2 = make_client(srv.address)
    carol.send(type="bye")
    carol.wait_closed()
    carol2.hello("carol", resume=carols_session)
    got = replayed(carol2, 2)
    assert [(m["text"], m["kind"]) for m in got] == [("secret", "private"), ("waves", "action")]


def test_restart_with_the_same_db_keeps_history_and_seq(make_server, make_client, tmp_path):
    db = str(tmp_path / "chat.db")
    first = make_server(rate=0, db=db)
    alice = make_client(first.address)
    alice.hello("alice")
    last = [chat(alice, f"before restart {n}")["seq"] for n in range(3)][-1]
    alice.close()
    first.stop()

    second = make_server(rate=0, db=db, port=first.port)
    bob = make_client(second.address)
    welcome = bob.hello("bob")
    assert welcome["seq"] > last
    assert [m["text"] for m in replayed(bob, 3)] == [f"before restart {n}" for n in range(3)]
    rows = sqlite3.connect(db).execute("SELECT COUNT(*) FROM events WHERE type='message'").fetchone()
    assert rows[0] == 3


def test_since_replays_exactly_the_missed_events(make_server, make_client):
    srv = make_server(rate=0, history=0)
    alice, bob = make_client(srv.address), make_client(srv.address)
    alice.hello("alice")
    bob.hello("bob")
    seen = chat(alice, "seen by bob")["seq"]
    bob.expect("message", seq=seen)
    bob.close()
    alice.expect("leave", name="bob")
    chat(alice, "missed 1")
    chat(alice, "/nick alicia")
    chat(alice, "missed 2")

    bob2 = make_client(srv.address)
    welcome = bob2.hello("bob", since=seen)
    events = []
    while len(events) < 4:
        events.append(bob2.recv())
    kinds = [(e["type"], e.get("text") or e.get("name") or e.get("new")) for e in events]
    assert kinds == [("leave", "bob"), ("message", "missed 1"), ("nick", "alicia"),
                     ("message", "missed 2")]
    seqs = [e["seq"] for e in events]
    # Up to the welcome's seq, not including it: the join goes to the others only.
    assert seqs == sorted(seqs) and seqs[0] > seen and seqs[-1] == welcome["seq"] - 1
    # PROTOCOL.md section 4: every event sent from history says so, whatever its type,
    # so a client never applies an old leave or nick to the welcome's user list.
    assert [e.get("replay") for e in events] == [True] * 4
    alice.send(type="say", text="after the replay", id="after")
    assert bob2.recv()["text"] == "after the replay"  # no join of its own came


def test_private_messages_replay_only_to_their_parties(make_server, make_client):
    srv = make_server(rate=0)
    alice, bob = make_client(srv.address), make_client(srv.address)
    alice.hello("alice")
    bobs_session = bob.hello("bob")["session"]
    chat(alice, "/msg bob for bob only")
    chat(alice, "for everyone")
    eve = make_client(srv.address)
    eve.hello("eve")
    assert [m["text"] for m in replayed(eve, 1)] == ["for everyone"]
    eve.send(type="ping", id="end")
    eve.expect("pong", id="end")
    assert not any(b"for bob only" in body for body in eve.bodies)
    bob.send(type="bye")
    bob.wait_closed()
    # Whoever takes the name "bob" next is not bob: no private replay for them.
    impostor = make_client(srv.address)
    assert impostor.hello("bob", since=0)["name"] == "bob"
    impostor.send(type="ping", id="end")
    impostor.expect("pong", id="end")
    assert not any(b"for bob only" in body for body in impostor.bodies)
    impostor.send(type="bye")
    impostor.wait_closed()
    bob_again = make_client(srv.address)
    bob_again.hello("bob", resume=bobs_session)
    texts = [m["text"] for m in replayed(bob_again, 2)]
    assert texts == ["for bob only", "for everyone"]


def test_resent_id_is_acked_again_and_not_broadcast_twice(chat_server, make_client):
    alice, bob = make_client(chat_server.address), make_client(chat_server.address)
    welcome = alice.hello("alice")
    bob.hello("bob")
    first = chat(alice, "once", "id-1")
    alice.close()
    bob.expect("leave", name="alice")

    again = make_client(chat_server.address)
    again.hello("alice", resume=welcome["session"], since=first["seq"])
    second = chat(again, "once", "id-1")
    assert second["seq"] == first["seq"]
    again.send(type="say", text="after", id="id-2")
    between = []
    while True:
        message = bob.recv()
        if message.get("text") == "after":
            break
        between.append(message)
    assert [m for m in between if m.get("type") == "message"] == []


def test_resume_takes_the_name_back_from_a_half_open_connection(chat_server, make_client):
    alice, bob = make_client(chat_server.address), make_client(chat_server.address)
    welcome = alice.hello("alice")
    bob.hello("bob")
    # The old connection is still open (as after a Wi-Fi drop the server has not noticed).
    fresh = make_client(chat_server.address)
    got = fresh.hello("someone-else", resume=welcome["session"])
    assert got["name"] == "alice"
    assert got["session"] == welcome["session"]
    leave = bob.expect("leave", name="alice")
    assert leave["reason"] == "replaced"
    bob.expect("join", name="alice")
    assert alice.wait_closed()
    fresh.send(type="say", text="back", id="b1")
    fresh.expect("ack", id="b1")
    assert bob.expect("message", text="back")["from"] == "alice"


def test_resume_after_restart_recognises_acked_ids(make_server, make_client, tmp_path):
    db = str(tmp_path / "chat.db")
    first = make_server(rate=0, db=db)
    alice = make_client(first.address)
    welcome = alice.hello("alice")
    acked = chat(alice, "durable", "x-1")
    alice.close()
    first.stop()

    second = make_server(rate=0, db=db, port=first.port)
    watcher = make_client(second.address)
    watcher.hello("watcher")
    again = make_client(second.address)
    got = again.hello("whoever", resume=welcome["session"], since=acked["seq"])
    assert got["name"] == "alice"
    assert chat(again, "durable", "x-1")["seq"] == acked["seq"]
    chat(again, "new line", "x-2")
    watcher.expect("message", text="new line")
    assert not any(b'"durable"' in body and b'"replay"' not in body for body in watcher.bodies)


def test_history_command_for_plain_clients(make_server, make_client):
    srv = make_server(rate=0)
    alice = make_client(srv.address)
    alice.hello("alice")
    chat(alice, "one")
    chat(alice, "two")
    plain = make_client(srv.address)
    plain.send_text("/history 5")
    reply = plain.recv_line()
    heading, *lines = reply.split("\n")
    assert heading == "the last 2 messages:"
    assert [line.split("] ", 1)[1] for line in lines] == ["alice: one", "alice: two"]
    alice.send(type="say", text="/history 1", id="h")
    system = alice.expect("system")
    assert system["text"].startswith("the last message:\n")
    assert system["text"].endswith("alice: two") and system["text"].count("\n") == 1
    alice.expect("ack", id="h")


def test_since_replay_is_capped_with_a_notice(make_server, make_client, monkeypatch):
    from lanchat.server import historyreads
    monkeypatch.setattr(historyreads, "REPLAY_CAP", 5)
    srv = make_server(rate=0)
    alice = make_client(srv.address)
    start = alice.hello("alice")["seq"]
    for n in range(8):
        chat(alice, f"m{n}")
    bob = make_client(srv.address)
    bob.hello("bob", since=start)
    notice = bob.recv()
    assert notice["type"] == "system"
    assert notice["text"].startswith("3 earlier events are not shown")
    got = [bob.recv() for _ in range(5)]  # the newest five before bob's join
    assert [g.get("text", g["type"]) for g in got] == ["m3", "m4", "m5", "m6", "m7"]


def test_db_is_written_before_the_ack(make_server, make_client, tmp_path):
    db = str(tmp_path / "chat.db")
    srv = make_server(rate=0, db=db)
    alice = make_client(srv.address)
    alice.hello("alice")
    ack = chat(alice, "on disk", "d1")
    reader = sqlite3.connect(db)
    row = reader.execute("SELECT msg_id, text FROM events WHERE seq = ?", (ack["seq"],)).fetchone()
    assert row == ("d1", "on disk")


def test_a_line_the_db_cannot_store_is_refused_not_shown(make_server, make_client, tmp_path):
    srv = make_server(rate=0, db=str(tmp_path / "chat.db"))
    alice, bob = make_client(srv.address), make_client(srv.address)
    alice.hello("alice")
    bob.hello("bob")
    chat(alice, "stored")
    bob.expect("message", text="stored")
    srv.server.journal._db.execute("PRAGMA query_only=1")  # as if the disk were full
    alice.send(type="say", text="lost?", id="q1")
    refusal = alice.expect("error", id="q1")
    assert refusal["code"] == "not_stored"
    srv.server.journal._db.execute("PRAGMA query_only=0")
    alice.send(type="say", text="lost?", id="q1")  # the resend is new, not a duplicate
    ack = alice.expect("ack", id="q1")
    first = bob.expect("message", text="lost?")
    assert first["seq"] == ack["seq"]
    assert not [b for b in bob.bodies if b'"lost?"' in b]


def test_plain_clients_leave_no_sessions_behind(make_server, make_client, tmp_path):
    db = str(tmp_path / "chat.db")
    srv = make_server(rate=0, db=db)
    for n in range(5):
        plain = make_client(srv.address)
        plain.send_text(f"hello {n}")
        assert plain.recv_line() == "Msg received"
        plain.send_text("!DISCONNECT")
        assert plain.wait_closed()
    wait_for(lambda: not srv.room.members, what="the plain clients to leave")
    assert srv.room.membership.sessions == {}
    srv.server.room.delivered(5)
    assert sqlite3.connect(db).execute("SELECT COUNT(*) FROM sessions").fetchone()[0] == 0


def test_checkpoints_run_beside_the_commits_and_close_empties_the_wal(tmp_path, monkeypatch):
    from lanchat.server import journal as history
    monkeypatch.setattr(history, "CHECKPOINT_SECONDS", 0.05)
    path = str(tmp_path / "chat.db")
    journal = history.Journal(path)
    journal.start()
    for seq in range(1, 401):
        journal.submit({"type": "message", "seq": seq, "ts": 1.0, "from": "a", "text": "x" * 200,
                        "kind": "chat"}, sender="a", session="s")
        journal.run_inline()
    assert journal._db.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0

    # SQLite itself no longer copies the WAL into the file; the thread does, so the
    # file grows to hold the rows while the journal is still open.
    wait_for(lambda: (tmp_path / "chat.db").stat().st_size > 100_000,
             what="the WAL copied into the database file by the checkpoint thread")
    journal.close()
    wal = tmp_path / "chat.db-wal"
    assert not wal.exists() or wal.stat().st_size == 0
    rows = sqlite3.connect(path).execute("SELECT COUNT(*) FROM events").fetchone()[0]
    assert rows == 400


def test_a_history_that_cannot_be_read_does_not_stop_a_join(make_server, make_client, caplog):
    srv = make_server(rate=0)
    alice = make_client(srv.address)
    alice.hello("alice")

    def unreadable(*args, **kwargs):
        raise sqlite3.OperationalError("disk I/O error")

    srv.server.journal.replay = unreadable
    srv.server.journal.recent_messages = unreadable
    bob = make_client(srv.address)
    assert bob.hello("bob")["name"] == "bob"
    alice.expect("join", name="bob")
    bob.send(type="say", text="/history", id="h1")
    assert "could not be read" in bob.expect("system")["text"]
    bob.expect("ack", id="h1")


def test_a_resend_in_a_refused_read_is_still_acked(make_server, make_client, tmp_path):
    srv = make_server(rate=0, db=str(tmp_path / "chat.db"))
    alice = make_client(srv.address)
    alice.hello("alice")
    alice.send(type="say", text="one", id="x1")
    first = alice.expect("ack", id="x1")
    srv.server.journal._db.execute("PRAGMA query_only=1")  # as if the disk were full
    # One read: a new line, and a resend of the stored one.
    alice.send_raw(protocol.message_frame({"type": "say", "text": "two", "id": "x2"}) +
                   protocol.message_frame({"type": "say", "text": "one", "id": "x1"}))
    assert alice.expect("error", id="x2")["code"] == "not_stored"
    assert alice.expect("ack", id="x1")["seq"] == first["seq"]
