"""``python client.py --cli`` as a subprocess against a real server (and a fake one).

The terminal client is the scriptable client: stdin lines are sent (slash commands
included), every event is printed as one readable line, end of input quits after the
last line is acknowledged. Output is read as bytes, so a raw escape sequence written to
the terminal would be seen.
"""

import json
import os
import queue
import re
import socket
import subprocess
import sys
import threading
import time

import pytest

import protocol
from conftest import ROOT, WAIT
from serverhelpers import join, marker, next_frame, say

CLOCK = r"\[\d\d:\d\d\]"


class CliProcess:
    """One ``client.py --cli`` with stdin to write and stdout lines to wait for."""

    def __init__(self, port, name, *extra, host="127.0.0.1"):
        env = dict(os.environ, PYTHONIOENCODING="utf-8")
        self.proc = subprocess.Popen(
            [sys.executable, "client.py", "--cli", "--host", host, "--port", str(port),
             "--name", name, *extra],
            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=env)
        self.raw = bytearray()
        self.lines = queue.Queue()
        self.seen = []
        self.raw_err = bytearray()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.err_reader = threading.Thread(target=self._read_err, daemon=True)
        self.err_reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self.raw += line
            self.lines.put(line.decode("utf-8").rstrip("\n"))

    def _read_err(self):
        for line in self.proc.stderr:
            self.raw_err += line

    def type(self, *lines):
        self.proc.stdin.write("".join(f"{line}\n" for line in lines).encode("utf-8"))
        self.proc.stdin.flush()

    def wait_line(self, pattern, timeout=WAIT) -> re.Match:
        """The next printed line that matches ``pattern`` (a full match)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            try:
                line = self.lines.get(timeout=max(0.001, left))
            except queue.Empty:
                raise AssertionError(f"no line matching {pattern!r}; printed: {self.seen}") from None
            self.seen.append(line)
            match = re.fullmatch(pattern, line)
            if match:
                return match
            if left <= 0:
                raise AssertionError(f"no line matching {pattern!r}; printed: {self.seen}")

    def end_input(self, timeout=WAIT + 5) -> int:
        self.proc.stdin.close()
        return self.proc.wait(timeout)

    def stderr(self) -> str:
        """Everything the process wrote to stderr (call after it ended)."""
        self.err_reader.join(WAIT)
        return self.raw_err.decode("utf-8", "replace")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(WAIT)
        self.reader.join(WAIT)
        self.err_reader.join(WAIT)
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                stream.close()
            except (OSError, ValueError):
                pass


@pytest.fixture
def cli():
    started = []

    def factory(*args, **kwargs):
        process = CliProcess(*args, **kwargs)
        started.append(process)
        return process

    yield factory
    for process in started:
        process.stop()


def test_cli_prints_events_and_sends_lines(chat_server, make_client, cli):
    (bob,) = join(chat_server, make_client, "bob")
    carol = cli(chat_server.port, "carol")
    carol.wait_line(rf"\* connected to 127\.0\.0\.1:{chat_server.port} as carol "
                    r"\(2 here: bob, carol\); /help lists the commands")
    next_frame(bob, type="join", name="carol")

    say(bob, "hi", "b1")
    carol.wait_line(rf"{CLOCK} bob: hi")
    carol.type("hello bob")
    message = next_frame(bob, type="message", text="hello bob")
    assert (message["from"], message["kind"]) == ("carol", "chat")

    dave = make_client(chat_server.address)
    dave.hello("dave")
    dave.expect("message", text="hello bob")   # the end of dave's history replay
    carol.wait_line(rf"{CLOCK} \* dave joined")
    say(dave, "/me waves", "d1")
    carol.wait_line(rf"{CLOCK} \* dave waves")
    dave.send(type="bye", reason="lunch")
    carol.wait_line(rf"{CLOCK} \* dave left \(lunch\)")
    next_frame(bob, type="join", name="dave")

    assert carol.end_input() == 0
    bob.expect("leave", name="carol")
    assert b"Traceback" not in carol.raw


def test_cli_slash_commands(chat_server, make_client, cli):
    (bob,) = join(chat_server, make_client, "bob")
    carol = cli(chat_server.port, "carol")
    carol.wait_line(r"\* connected to .*")
    next_frame(bob, type="join", name="carol")

    carol.type("/me dances")
    action = next_frame(bob, type="message", kind="action")
    assert (action["from"], action["text"]) == ("carol", "dances")
    carol.type("/who")
    carol.wait_line(r"users \(2\): bob, carol")
    carol.type("/msg bob psst")
    private = next_frame(bob, type="message", kind="private")
    assert (private["from"], private["to"], private["text"]) == ("carol", "bob", "psst")
    carol.type("//not a command")
    assert next_frame(bob, type="message")["text"] == "/not a command"
    carol.type("/dance")
    carol.type("/nick caz")
    carol.wait_line(rf"{CLOCK} \* carol is now known as caz")
    next_frame(bob, type="nick", old="carol", new="caz")
    say(bob, "/msg caz back at you", "b")
    carol.wait_line(rf"{CLOCK} \(private\) bob: back at you")
    carol.type("/help")
    carol.wait_line(r"commands:")
    carol.type("/quit off to bed")
    bob.expect("leave", name="caz", reason="off to bed")
    # Errors go to stderr, and a line the server refused (/dance) is a failed run.
    assert carol.end_input() == 1
    assert "error: unknown command /dance" in carol.stderr()
    assert "error" not in carol.raw.decode()


def test_cli_eof_quits_after_the_last_line_is_acked(chat_server, make_client, cli):
    (bob,) = join(chat_server, make_client, "bob")
    carol = cli(chat_server.port, "carol")
    lines = [f"line {n} " + "x" * 200 for n in range(100)]
    carol.type(*lines)
    started = time.monotonic()
    assert carol.end_input() == 0
    assert time.monotonic() - started < WAIT
    next_frame(bob, type="join", name="carol")
    assert [bob.recv()["text"] for _ in lines] == lines
    leave = next_frame(bob, type="leave", name="carol")
    assert leave["reason"] == "bye"
    assert "error" not in carol.raw.decode()


@pytest.mark.live
def test_cli_connection_refused_is_a_readable_error(cli):
    # A bound socket that does not listen: connecting to it is refused, with no race.
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        carol = cli(port, "carol")
        assert carol.proc.wait(WAIT + 5) == 1
    err = carol.stderr()
    assert err.startswith("error: Connection refused by 127.0.0.1:") and "Is the server running" in err
    assert "Traceback" not in err


@pytest.mark.live
def test_cli_needs_host_and_name():
    done = subprocess.run([sys.executable, "client.py", "--cli", "--name", "x"], cwd=ROOT,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=WAIT + 5)
    assert done.returncode == 2
    assert "--host" in done.stderr
    assert "python client.py --discover" in done.stderr  # where to find a --host


def test_cli_escapes_what_the_room_strips_anyway(chat_server, make_client, cli):
    (bob,) = join(chat_server, make_client, "bob")
    carol = cli(chat_server.port, "carol")
    carol.wait_line(r"\* connected to .*")
    next_frame(bob, type="join", name="carol")
    say(bob, "\x1b[2J\x1b]0;pwned\x07 after", "e")
    carol.wait_line(rf"{CLOCK} bob: \[2J\]0;pwned after")
    assert carol.end_input() == 0
    assert b"\x1b" not in carol.raw and b"\x07" not in carol.raw


class FakeServer:
    """A hostile server: answers hello with a welcome, then sends ``events`` as is."""

    def __init__(self, events):
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(1)
        self.port = self.listener.getsockname()[1]
        self.events = events
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        self.listener.settimeout(WAIT)
        conn, _ = self.listener.accept()
        conn.settimeout(WAIT)
        with conn:
            decoder = protocol.FrameDecoder()
            hello = None
            while hello is None:
                decoder.feed(conn.recv(65536))
                hello = next(iter(decoder.events()), None)
            name = json.loads(hello)["name"]
            conn.sendall(protocol.message_frame({
                "type": "welcome", "name": name, "users": [name, "mallory"], "server": "fake",
                "max_text": 4000, "max_frame": 65536, "seq": 1, "session": "s"}))
            for event in self.events:
                conn.sendall(protocol.message_frame(event))
            try:
                while conn.recv(65536):   # until the client hangs up
                    pass
            except OSError:
                pass

    def close(self):
        self.listener.close()
        self.thread.join(WAIT)


@pytest.mark.live
def test_cli_never_writes_escape_sequences_from_the_network(cli):
    now = time.time()
    fake = FakeServer([
        {"type": "message", "seq": 2, "ts": now, "from": "mallory\x1b]0;owned\x07",
         "text": "\x1b[2Jcleared \x9b31mred\x08\r", "kind": "chat"},
        {"type": "join", "seq": 3, "ts": now, "name": "eve\x1b[8m"},
        {"type": "system", "text": "notice \x1b[5mblink\x1b[0m"},
    ])
    try:
        carol = cli(fake.port, "carol", "--no-reconnect")
        line = carol.wait_line(rf"{CLOCK} mallory.*")
        assert line.group(0).endswith(
            r"mallory\x1b]0;owned\x07: \x1b[2Jcleared \x9b31mred\x08\x0d")
        carol.wait_line(rf"{CLOCK} \* eve\\x1b\[8m joined")
        carol.wait_line(r"notice \\x1b\[5mblink\\x1b\[0m")
        assert carol.end_input() == 0
    finally:
        fake.close()
    for byte in (b"\x1b", b"\x07", b"\x08", b"\r", "\x9b".encode("utf-8")):
        assert byte not in carol.raw


def test_cli_with_a_taken_name_says_which_name_it_got(chat_server, make_client, cli):
    (alice,) = join(chat_server, make_client, "alice")
    other = cli(chat_server.port, "ALICE")
    other.wait_line(r"\* connected to .* as ALICE_2 \(2 here: alice, ALICE_2\).*")
    other.type("hi")
    assert next_frame(alice, type="join")["name"] == "ALICE_2"
    assert next_frame(alice, type="message", text="hi")["from"] == "ALICE_2"
    assert other.end_input() == 0


def test_cli_with_an_invalid_name_is_a_readable_error(chat_server, cli):
    carol = cli(chat_server.port, "#carol")
    assert carol.proc.wait(WAIT + 5) == 1
    err = carol.stderr()
    assert err.startswith("error: ") and "not a valid name" in err
    assert "Traceback" not in err


def test_cli_without_reconnect_ends_when_the_server_goes(make_server, make_client, cli):
    srv = make_server(rate=0)
    carol = cli(srv.port, "carol", "--no-reconnect")
    carol.wait_line(r"\* connected to .*")
    srv.stop()
    carol.wait_line(r"\* disconnected: the server is shutting down")
    # Nothing more can happen: it exits without waiting for more input.
    assert carol.proc.wait(WAIT) == 0
    # One message for one event: the shutdown is not also printed as an error.
    assert "shutting down" not in carol.stderr()
    assert carol.raw.decode().count("shutting down") == 1


@pytest.mark.live
def test_cli_survives_malformed_and_unknown_events(cli):
    fake = FakeServer([
        {"type": "from_the_future", "seq": 2, "payload": [1, 2]},
        {"type": "message", "seq": 3, "ts": "yesterday", "from": 7, "text": None},
        {"type": "join", "seq": 4, "ts": None, "name": ["x"]},
        {"type": "message", "seq": 5, "ts": 1e300, "from": "bob", "text": "huge ts"},
        {"type": "users", "users": "not a list"},
        {"type": "message", "seq": 6, "ts": time.time(), "from": "bob", "text": "still printing"},
    ])
    try:
        carol = cli(fake.port, "carol", "--no-reconnect")
        carol.wait_line(rf"{CLOCK} bob: still printing")
        assert carol.end_input() == 0
    finally:
        fake.close()
    assert b"Traceback" not in carol.raw


@pytest.mark.parametrize("raw,shown", [
    ("plain text é 😀", "plain text é 😀"),
    ("tab\tnew\nline", "tab\tnew\nline"),
    ("\x1b[2J", "\\x1b[2J"),
    ("\x1b]0;title\x07", "\\x1b]0;title\\x07"),
    ("\x9b31m", "\\x9b31m"),
    ("back\x08\x7f\r\x00", "back\\x08\\x7f\\x0d\\x00"),
])
def test_terminal_safe(raw, shown):
    from lanchat.client import terminal
    assert terminal.terminal_safe(raw) == shown


@pytest.mark.parametrize("ts", [None, "yesterday", float("nan"), 1e300, -1e300, [1]])
def test_clock_of_any_timestamp_is_a_clock(ts):
    from lanchat import eventtext
    assert re.fullmatch(CLOCK, eventtext.clock(ts))


# ----------------------------------------------------------- issue 10, items 5 and 6

def like_an_old_server(monkeypatch) -> None:
    """Make the in-process server speak as servers before the limits were announced:
    no ``rate``/``burst`` in the welcome, no ``retry_after`` in ``rate_limited``."""
    real_welcome, real_error = protocol.welcome_frame, protocol.error_message

    def welcome_frame(**fields):
        decoder = protocol.FrameDecoder()
        decoder.feed(real_welcome(**fields))
        (body,) = decoder.events()
        welcome = json.loads(body)
        del welcome["rate"], welcome["burst"]
        return protocol.message_frame(welcome)

    def error_message(code, message, msg_id=None, **extra):
        extra.pop("retry_after", None)
        return real_error(code, message, msg_id, **extra)

    monkeypatch.setattr(protocol, "welcome_frame", welcome_frame)
    monkeypatch.setattr(protocol, "error_message", error_message)


@pytest.mark.parametrize("announced", [False, True], ids=["old-server", "announcing-server"])
def test_cli_piped_lines_beyond_the_rate_all_arrive_in_order(make_server, make_client, cli,
                                                             monkeypatch, announced):
    if not announced:
        like_an_old_server(monkeypatch)
    srv = make_server()  # the default limits: --rate 5 --burst 10
    watcher = make_client(srv.address)
    welcome = watcher.hello("watcher")
    assert ("rate" in welcome) == announced
    lines = [f"line {n}" for n in range(1, 31)]
    dave = cli(srv.port, "dave")
    dave.type(*lines)
    dave.proc.stdin.close()
    received = [watcher.expect("message", **{"from": "dave"})["text"] for _ in lines]
    assert received == lines
    assert dave.proc.wait(WAIT * 2) == 0
    assert "error" not in dave.raw.decode() and "error" not in dave.stderr()


def test_cli_a_refused_line_is_an_error_on_stderr_and_a_failed_run(chat_server, make_client, cli):
    (bob,) = join(chat_server, make_client, "bob")
    carol = cli(chat_server.port, "carol")
    carol.wait_line(r"\* connected to .*")
    next_frame(bob, type="join", name="carol")
    carol.type("x" * 5000, "fine")
    next_frame(bob, type="message", text="fine")
    assert carol.end_input() == 1
    err = carol.stderr()
    assert err.startswith("error: ") and "(not sent: xxxx" in err
    assert "error" not in carol.raw.decode()


def test_cli_prints_each_reconnect_attempt_once(make_server, cli):
    srv = make_server(rate=0)
    carol = cli(srv.port, "carol")
    carol.wait_line(r"\* connected to .*")
    srv.stop()
    carol.wait_line(r"\* reconnecting in \d+\.\d s \(attempt 3\)", timeout=WAIT * 2)
    printed = "\n".join(carol.seen)
    attempts = [int(n) for n in re.findall(r"reconnecting in \S+ s \(attempt (\d+)\)", printed)]
    assert attempts == [1, 2, 3]
    assert printed.count("disconnected") == 1 and "shutting down" in printed
    assert "error" not in printed


def test_cli_a_refused_hello_is_one_error(make_server, cli):
    srv = make_server(rate=0, password="s3cret-enough")
    carol = cli(srv.port, "carol")
    assert carol.proc.wait(WAIT + 5) == 1
    err = carol.stderr()
    assert err.count("error:") == 1 and "password" in err
    assert carol.raw.decode() == ""


def test_a_replay_of_every_kind_is_one_earlier_section_then_now():
    # PROTOCOL.md section 4: every replayed event carries replay, not only messages.
    import io
    from types import SimpleNamespace

    from lanchat.client.terminal import TerminalPrinter
    out = io.StringIO()
    printer = TerminalPrinter(SimpleNamespace(name="bob"), out=out, err=io.StringIO())
    for event in (
            {"type": "leave", "seq": 3, "ts": 1.0, "name": "bob", "reason": "quit", "replay": True},
            {"type": "message", "seq": 4, "ts": 1.0, "from": "al", "text": "missed",
             "kind": "chat", "replay": True},
            {"type": "join", "seq": 5, "ts": 1.0, "name": "bob", "replay": True},
            {"type": "join", "seq": 6, "ts": 1.0, "name": "carol"}):
        printer.show(event)
    lines = out.getvalue().splitlines()
    assert lines[0] == "--- earlier messages ---" and lines.count("--- earlier messages ---") == 1
    assert lines[-2] == "--- now ---" and lines[-1].endswith("* carol joined")


def test_cli_quit_leaves_for_good_with_the_reason(chat_server, make_client, cli):
    # /quit in the terminal ends the program (as in the window), with stdin still open.
    (bob,) = join(chat_server, make_client, "bob")
    carol = cli(chat_server.port, "carol")
    carol.wait_line(r"\* connected to .*")
    next_frame(bob, type="join", name="carol")
    carol.type("last words", "/quit off to lunch", "never sent")
    next_frame(bob, type="message", text="last words")
    assert next_frame(bob, type="leave", name="carol")["reason"] == "off to lunch"
    assert carol.proc.wait(WAIT + 5) == 0  # stdin was never closed
    marker(bob, [], text="nobody rejoined")
    assert "carol" not in chat_server.room.members


def test_a_command_s_answer_after_the_replay_comes_after_now():
    import io
    from types import SimpleNamespace

    from lanchat.client.terminal import TerminalPrinter
    out = io.StringIO()
    printer = TerminalPrinter(SimpleNamespace(name="bob"), out=out, err=io.StringIO())
    printer.show({"type": "message", "seq": 4, "ts": 1.0, "from": "al", "text": "old",
                  "kind": "chat", "replay": True})
    printer.show({"type": "system", "text": "commands: ..."})
    assert out.getvalue().splitlines()[-2:] == ["--- now ---", "commands: ..."]


def test_a_refused_admin_line_never_shows_the_password():
    from lanchat.client.terminal import shown_line
    assert shown_line("/admin hunter2") == "/admin ..."
    assert shown_line("/ADMIN hunter2") == "/admin ..."
    assert shown_line("x" * 100) == "x" * 60
