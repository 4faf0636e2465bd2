"""The backup commands of docs/hosting.md, run as written while a real server writes:
each copy opens, passes ``PRAGMA integrity_check``, holds every line acknowledged
before the backup began, ends at a whole batch (no gap in its seqs), and a server
started on it (a restore) carries on from its last seq and replays its lines."""

from __future__ import annotations

import os
import shlex
import shutil
import sqlite3
import subprocess
import sys
import threading

import pytest

from conftest import ROOT, WAIT, RawClient, wait_for

GUIDE = os.path.join(ROOT, "docs", "hosting.md")
LINES_BEFORE = 200  # acknowledged lines in the history before a backup starts


def guide_command(prefix: str) -> str:
    """The one line of docs/hosting.md that starts with ``prefix`` (in a code block)."""
    with open(GUIDE, encoding="utf-8") as guide:
        found = [line.strip() for line in guide if line.startswith(prefix)]
    assert len(found) == 1, f"docs/hosting.md should have one line starting {prefix!r}: {found}"
    return found[0]


def shell_line(command: str) -> str:
    """A guide's command for this machine: its ``python3`` is the Python running the tests."""
    if command.startswith("python3 "):
        return shlex.quote(sys.executable) + command[len("python3"):]
    return command


class Writer:
    """A client saying numbered lines one after another, remembering which were acked."""

    def __init__(self, address):
        self.client = RawClient(address)
        self.client.hello("writer")
        self.acked: list = []
        self.sent = 0
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.failed = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            while not self.stop.is_set():
                text = f"line {self.sent}"
                self.client.send(type="say", text=text, id=str(self.sent))
                self.sent += 1
                ack = self.client.expect("ack", id=str(self.sent - 1))
                with self.lock:
                    self.acked.append((ack["seq"], text))
        except Exception as exc:  # reported by finish()
            self.failed = exc

    def count(self) -> int:
        with self.lock:
            return len(self.acked)

    def snapshot(self) -> list:
        with self.lock:
            return list(self.acked)

    def finish(self):
        self.stop.set()
        self.thread.join(WAIT)
        self.client.close()
        assert self.failed is None, self.failed


def messages_in(path: str) -> dict:
    """``{seq: text}`` of the chat lines in the history at ``path``, opened read-only."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        seqs = [seq for (seq,) in db.execute("SELECT seq FROM events ORDER BY seq")]
        assert seqs == list(range(1, len(seqs) + 1)), "a gap in the copy's seqs"
        rows = db.execute("SELECT seq, text FROM events WHERE type = 'message'").fetchall()
    finally:
        db.close()
    return dict(rows)


COMMANDS = [
    pytest.param('sqlite3 chat-history.db ".backup', id="sqlite3-backup",
                 marks=pytest.mark.skipif(shutil.which("sqlite3") is None,
                                          reason="the sqlite3 command is missing "
                                                 "(apt-get install sqlite3)")),
    pytest.param('python3 -c "import sqlite3', id="python-backup"),
    pytest.param('sqlite3 chat-history.db "VACUUM INTO', id="sqlite3-vacuum-into",
                 marks=pytest.mark.skipif(shutil.which("sqlite3") is None,
                                          reason="the sqlite3 command is missing "
                                                 "(apt-get install sqlite3)")),
]


@pytest.mark.parametrize("prefix", COMMANDS)
def test_an_online_backup_while_the_server_writes_is_whole_and_restores(
        prefix, tmp_path, make_server, make_client):
    command = shell_line(guide_command(prefix))
    live = tmp_path / "live"
    live.mkdir()
    srv = make_server(db=str(live / "chat-history.db"), rate=0)
    writer = Writer(srv.address)
    try:
        wait_for(lambda: writer.count() >= LINES_BEFORE, what="lines before the backup")
        before = writer.snapshot()
        done = subprocess.run(["bash", "-c", command], cwd=live, capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        during = writer.count() - len(before)
    finally:
        writer.finish()
    assert during > 0, "the server was not writing while the backup ran"
    copy = live / "backup.db"
    saved = messages_in(str(copy))
    assert set(before) <= set(saved.items())              # every acked line is in it
    assert set(saved.items()) <= set(writer.snapshot())   # and nothing that was not said

    # Restore: the copy, as the history of a new server (the old one still runs).
    restored = tmp_path / "restored"
    restored.mkdir()
    shutil.copyfile(copy, restored / "chat-history.db")
    again = make_server(db=str(restored / "chat-history.db"), rate=0, history=5)
    assert again.room.seq == max(saved)
    reader = make_client(again.address)
    welcome = reader.hello("reader")
    assert welcome["seq"] == max(saved) + 1
    replayed = [reader.expect("message")["text"] for _ in range(5)]
    assert replayed == [saved[seq] for seq in sorted(saved)[-5:]]
