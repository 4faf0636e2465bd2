"""server.py's command line: every bad option or unusable file is one clear line and
exit code 2, never a traceback (issue: a newcomer's first hour)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import server

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def refused(capsys, argv) -> str:
    """Run ``server.main(argv)``; it must exit 2 with one ``error:`` line on stderr."""
    with pytest.raises(SystemExit) as exit_info:
        server.main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith("server.py: error: ")
    return last


@pytest.mark.parametrize("argv, says", [
    (["--port", "99999"], "--port"),
    (["--port", "-1"], "--port"),
    (["--port", "http"], "--port"),
    (["--rate", "-1"], "--rate"),
    (["--burst", "0"], "--burst"),
    (["--max-text", "0"], "--max-text"),
    (["--history", "-5"], "--history"),
    (["--max-frame-bytes", "5000000"], "--max-frame-bytes"),
    (["--max-clients", "0"], "--max-clients"),
    (["--frame-timeout", "0"], "--frame-timeout"),
    (["--idle-timeout", "nan"], "--idle-timeout"),
])
def test_an_out_of_range_option_is_one_line_and_exit_2(capsys, argv, says):
    assert says in refused(capsys, argv + ["--db", ":memory:"])


def test_a_db_in_a_folder_that_does_not_exist(capsys, tmp_path):
    line = refused(capsys, ["--port", "0", "--db", str(tmp_path / "nowhere" / "x.db")])
    assert "--db" in line and "nowhere" in line and "folder" in line


def test_a_db_that_is_not_a_database(capsys, tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("shopping list\n" * 100)
    line = refused(capsys, ["--port", "0", "--db", str(text)])
    assert "--db" in line and "not a chat history database" in line
    assert text.read_text() == "shopping list\n" * 100  # untouched


def test_an_idle_timeout_below_the_ping_interval_is_warned_about(tmp_path):
    # A real process: it starts, warns, and is stopped by its end of input.
    proc = subprocess.Popen([sys.executable, "server.py", "--port", "0", "--db", ":memory:",
                             "--idle-timeout", "8"], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        for line in proc.stdout:
            if line.startswith("clients can connect"):
                break
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    assert "--idle-timeout 8" in err and "ping" in err and "Traceback" not in err
