"""server.py's command line: how to connect, signals, the options; every bad option
or unusable file is one clear line and exit code 2, never a traceback."""

from __future__ import annotations

import queue
import re
import signal
import subprocess
import sys
import threading
import time

import pytest

import server
from lanchat.netaddr import lan_addresses
from lanchat.server import config as server_config
from conftest import ROOT, WAIT, RawClient


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


@pytest.mark.live
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
    assert "at least 35" in err


@pytest.mark.parametrize("timeout, warns", [(34, True), (35, False), (90, False)])
def test_the_idle_warning_names_the_same_threshold_it_checks(timeout, warns):
    config = server_config.config_from_args(
        server_config.build_parser().parse_args(["--idle-timeout", str(timeout)]))
    assert bool(server_config.warnings_for(config)) == warns


def test_log_levels_are_taken_in_any_case():
    assert server_config.build_parser().parse_args(["--log-level", "debug"]).log_level == "DEBUG"


class ServerProcess:
    """``python server.py`` as a subprocess, with its output read on a thread."""

    def __init__(self, *args):
        self.proc = subprocess.Popen(
            [sys.executable, "server.py", "--host", "127.0.0.1", "--db", ":memory:",
             "--log-level", "WARNING", *args],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines = queue.Queue()
        self.output = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.output.append(line)
            self.lines.put(line)

    def wait_line(self, pattern, timeout=WAIT):
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no line matching {pattern!r}; got {self.output}") from None
            match = re.search(pattern, line)
            if match:
                return match
            if time.monotonic() > deadline:
                raise AssertionError(f"no line matching {pattern!r}; got {self.output}")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(WAIT)
        self.proc.stdout.close()
        self.proc.stderr.close()


@pytest.fixture
def server_process():
    started = []

    def factory(*args):
        process = ServerProcess(*args)
        started.append(process)
        return process

    yield factory
    for process in started:
        process.stop()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_server_cli_prints_how_to_connect_and_stops_cleanly(server_process, sig):
    srv = server_process("--port", "0")
    match = srv.wait_line(r"clients can connect with: python client\.py --host (\S+) --port (\d+)")
    assert match.group(1) == "127.0.0.1"
    address = ("127.0.0.1", int(match.group(2)))
    alice = RawClient(address)
    tut = RawClient(address, bare=True)  # the default: bare text replies
    try:
        assert alice.hello("alice")["name"] == "alice"
        tut.send_text("hello from the tutorial")
        assert tut.expect_text("Msg received") == b"Msg received"
        srv.proc.send_signal(sig)
        alice.expect("error", code="shutting_down")
        assert alice.wait_closed()
        assert tut.expect_text("error: the server is shutting down").strip(b"\n") == \
            b"error: the server is shutting down"
        assert srv.proc.wait(WAIT + 5) == 0
    finally:
        alice.close()
        tut.close()


def test_server_cli_port_in_use_is_a_readable_error(chat_server, server_process):
    srv = server_process("--port", str(chat_server.port))
    assert srv.proc.wait(WAIT + 5) == 1
    err = srv.proc.stderr.read()
    assert f"cannot listen on 127.0.0.1:{chat_server.port}" in err
    assert "--port" in err


def test_server_cli_options():
    args = server_config.build_parser().parse_args(
        ["--host", "127.0.0.1", "--port", "6000", "--max-frame-bytes", "1000",
         "--max-text", "50", "--log-level", "DEBUG", "--db", "x.db"])
    config = server_config.config_from_args(args)
    assert (config.host, config.port, config.max_frame_bytes, config.max_text, config.db) == \
        ("127.0.0.1", 6000, 1000, 50, "x.db")
    defaults = server_config.config_from_args(server_config.build_parser().parse_args([]))
    assert (defaults.host, defaults.port, defaults.max_frame_bytes, defaults.max_text) == \
        ("0.0.0.0", 5050, 65536, 4000)
    assert defaults.plain_replies == "bare"
    framed = server_config.build_parser().parse_args(["--plain-replies", "framed"])
    assert server_config.config_from_args(framed).plain_replies == "framed"
    with pytest.raises(SystemExit):
        server_config.build_parser().parse_args(["--plain-replies", "json"])


def test_lan_addresses_are_ipv4_and_not_loopback_unless_alone():
    import ipaddress
    addresses = lan_addresses()
    assert addresses
    parsed = [ipaddress.IPv4Address(a) for a in addresses]
    assert addresses == ["127.0.0.1"] or not any(p.is_loopback for p in parsed)


def test_a_history_in_use_by_another_server_is_refused(capsys, tmp_path, make_server):
    db = str(tmp_path / "chat.db")
    make_server(db=db)  # the first server holds it
    line = refused(capsys, ["--port", "0", "--db", db])
    assert "in use by another chat server" in line


def test_tls_self_signed_makes_nothing_beside_a_db_whose_folder_is_missing(capsys, tmp_path):
    missing = tmp_path / "nowhere"
    line = refused(capsys, ["--port", "0", "--tls-self-signed", "--db", str(missing / "x.db")])
    assert "does not exist" in line and not missing.exists()


def test_someone_else_s_sqlite_database_is_refused_and_left_as_it_was(capsys, tmp_path):
    import sqlite3
    path = tmp_path / "recipes.db"
    with sqlite3.connect(path) as other:
        other.execute("CREATE TABLE recipes (name TEXT)")
    line = refused(capsys, ["--port", "0", "--db", str(path)])
    assert "not a chat history database" in line
    with sqlite3.connect(path) as other:
        tables = {name for (name,) in other.execute("SELECT name FROM sqlite_master")}
    assert tables == {"recipes"}
