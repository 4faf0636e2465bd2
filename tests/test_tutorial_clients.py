"""The tutorial clients (tests/tutorials/, copies of shared/seeds/) run unchanged
against a real server, each chatting with a structured client in one room.

Each test takes the client code out of the document's own code blocks
(``client_code``), replaces only the lines that set the server's address and port
(``replace_line``: the replaced line must be there), and adds around it what the
document leaves out: imports, the socket it uses, a loop feeding it lines from stdin.
The scripts run as subprocesses; the Pygame one headless (SDL_VIDEODRIVER=dummy).
Every wait is bounded (``Script.expect``).
"""

from __future__ import annotations

import os
import queue
import re
import socket
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from conftest import ROOT, WAIT
from lanchat.server import handler as handler_module
from serverhelpers import join, next_frame, say

TUTORIALS = os.path.join(ROOT, "tests", "tutorials")
LISTENING = 3 * handler_module.LISTEN_AFTER + WAIT  # a silent client's join may take this


def client_code(document: str, containing: str) -> str:
    """The one code block of ``document`` that contains ``containing``, dedented."""
    with open(os.path.join(TUTORIALS, document), encoding="utf-8") as f:
        text = f.read()
    blocks = [b for b in re.findall(r"```(?:py|python)[^\n]*\n(.*?)```", text, re.S)
              if containing in b]
    assert len(blocks) == 1, (document, containing, len(blocks))
    return textwrap.dedent(blocks[0])


def replace_line(code: str, pattern: str, replacement: str) -> str:
    """``code`` with every line matching ``pattern`` (a regex) replaced; at least one."""
    new, count = re.subn(rf"(?m)^([ \t]*){pattern}.*$", lambda m: m.group(1) + replacement, code)
    assert count, pattern
    return new


class Script:
    """A Python script run as a subprocess; its stdout read on a thread."""

    def __init__(self, path: str, cwd: str, env: dict = None):
        self.proc = subprocess.Popen(
            [sys.executable, "-u", path], cwd=cwd, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, **(env or {})})
        self.lines: queue.Queue = queue.Queue()
        self.output: list = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def send(self, line: str) -> None:
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def expect(self, pattern: str, timeout: float = WAIT) -> str:
        """The next output line matching ``pattern`` (a regex searched for)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no output matching {pattern!r}; got {self.output}") from None
            self.output.append(line)
            if re.search(pattern, line):
                return line

    def close(self) -> int:
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            return self.proc.wait(WAIT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(WAIT)
            return -9


@pytest.fixture
def scripts(tmp_path):
    started = []

    def run(name: str, code: str, env: dict = None) -> Script:
        path = tmp_path / name
        path.write_text(code, encoding="utf-8")
        script = Script(str(path), str(tmp_path), env)
        started.append(script)
        return script

    yield run
    for script in started:
        if script.proc.poll() is None:
            script.proc.kill()
            script.proc.wait(WAIT)


@pytest.fixture
def room(make_server):
    """A server as it runs by default (bare plain replies)."""
    return make_server(rate=0, plain_replies="bare")


HEADER_ECHO = re.compile(r"^\d+ {10,}")  # a 64-byte header printed as text


# ------------------------------------------------------------- 001: send(msg), print(recv)

def test_the_sockets_tutorial_cli_client(room, make_client, scripts):
    doc = "001_68907b1b07bd5373.txt"
    server_lines = replace_line(client_code(doc, 'SERVER = "192.168.0.122"'),
                                r"SERVER = ", 'SERVER = "127.0.0.1"')
    code = "\n".join([
        "import socket\nimport sys",
        f"PORT = {room.port}",  # the document never sets PORT
        server_lines,
        client_code(doc, "HEADER = 64"),
        client_code(doc, "ADDR = (SERVER, PORT)"),
        "client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)",
        client_code(doc, "client.connect(ADDR)"),
        client_code(doc, "def send(msg):"),
        "for line in sys.stdin:\n    send(line.rstrip('\\n'))",
    ])
    (alice,) = join(room, make_client, "alice")
    tutorial = scripts("client.py", code)
    tutorial.send("Hello World!")
    assert tutorial.expect(r"\S") == "Msg received"  # not "12" and 62 spaces first
    guest = next_frame(alice, type="join")["name"]
    assert next_frame(alice, type="message", text="Hello World!")["from"] == guest
    tutorial.send("Hello Everyone!")
    assert tutorial.expect(r"\S") == "Msg received"
    next_frame(alice, type="message", text="Hello Everyone!")
    say(alice, "hi tutorial", "a1")
    tutorial.send("Hello Tim!")  # its recv now has alice's line waiting
    tutorial.expect(r"alice: hi tutorial")
    next_frame(alice, type="message", text="Hello Tim!")
    tutorial.send("!DISCONNECT")
    next_frame(alice, type="leave", name=guest, reason="quit")
    tutorial.close()
    assert not [line for line in tutorial.output if HEADER_ECHO.match(line)], tutorial.output


# ------------------------------------------------------------- 000: the Pygame client

def test_the_pygame_tutorial_client(room, make_client, scripts):
    doc = "000_cf45c6cd059bd935.txt"
    send_block = client_code(doc, "message = msg.encode(FORMAT)")
    code = "\n".join([
        "import socket\nimport sys\nimport threading\nimport pygame",
        f"ADDR = ('127.0.0.1', {room.port})",
        "FORMAT = 'utf-8'",
        "CLIENT = socket.socket(socket.AF_INET, socket.SOCK_STREAM)",
        "client = CLIENT  # the document names the client socket both ways",
        "received_message = []",
        client_code(doc, "header = 64"),
        client_code(doc, "pygame.init()"),
        # The document does not show its Interface class, only its two boxes.
        "class Interface:\n    viewRect = pygame.Rect(50, 50, 700, 380)\n"
        "    inputRect = pygame.Rect(50, 500, 400, 50)\ninterface = Interface()",
        client_code(doc, "client.connect(ADDR)"),
        client_code(doc, "def receive_message(sock):"),
        "for line in sys.stdin:",
        "    command, _, msg = line.rstrip('\\n').partition(' ')",
        "    if command == 'SEND':",
        textwrap.indent(send_block, " " * 8),
        "    else:",
        textwrap.indent(client_code(doc, "# on view box, received message logic"), " " * 8),
        "        print('RECEIVED', repr(received_message), 'DRAWN', len(new_received_surface))",
    ])
    (alice,) = join(room, make_client, "alice")
    window = scripts("pygame_client.py", code, {"SDL_VIDEODRIVER": "dummy",
                                                 "SDL_AUDIODRIVER": "dummy"})
    # Its receive thread starts at once: it listens before it speaks.
    guest = alice.expect("join", timeout=LISTENING)["name"]
    say(alice, "hello pygame", "a1")
    deadline = time.monotonic() + WAIT
    while True:
        window.send("SHOW")
        shown = window.expect(r"^RECEIVED ")
        if "alice: hello pygame" in shown or time.monotonic() > deadline:
            break
    assert "'alice: hello pygame'" in shown and "DRAWN 1" in shown, shown
    window.send("SEND hi from pygame")
    assert next_frame(alice, type="message", text="hi from pygame")["from"] == guest
    while True:
        window.send("SHOW")
        shown = window.expect(r"^RECEIVED ")
        if "Msg received" in shown or time.monotonic() > deadline:
            break
    assert "'Msg received'" in shown and "DRAWN 2" in shown, shown  # no header drawn
    window.send("SEND !DISCONNECT")
    next_frame(alice, type="leave", name=guest, reason="quit")
    assert window.close() == 0, window.output


# ------------------------------------------------------------- 002: the Network class

def test_the_reference_network_class(room, make_client, scripts):
    network = client_code("002_6423d1ac0a36ca4f.txt", "class Network:")
    network = replace_line(network, r"self\.server = ", 'self.server = "127.0.0.1"')
    network = replace_line(network, r"self\.port = ", f"self.port = {room.port}")
    code = "\n".join([
        "import socket\nimport sys", network,
        "n = Network()",  # connect() waits for the server's first line, and prints it
        "for line in sys.stdin:\n    print('REPLY', repr(n.send(line)))",
    ])
    (alice,) = join(room, make_client, "alice")
    game = scripts("network.py", code)
    listener = alice.expect("join", timeout=LISTENING)["name"]
    say(alice, "welcome, network", "a1")
    game.expect(r"^alice: welcome, network$")
    game.send("hello from the network class")  # send() sends the line as it is given
    next_frame(alice, type="leave", name=listener)  # the listener spoke: a line client now
    guest = next_frame(alice, type="join")["name"]
    assert next_frame(alice, type="message", text="hello from the network class")["from"] == guest
    say(alice, "got it", "a2")
    game.expect(r"^REPLY 'alice: got it\\n'$")  # send() returns the next line it reads
    game.close()
    next_frame(alice, type="leave", name=guest)


# ------------------------------------------------------------- 003: one-shot send()

def test_the_basicnetworking_one_shot_send(room, make_client, scripts, tmp_path):
    doc = "003_0515be90ad31020b.txt"
    (tmp_path / "basicnetworking.py").write_text(client_code(doc, "class BasicServer"))
    (alice,) = join(room, make_client, "alice")
    free = socket.socket()
    free.bind(("127.0.0.1", 0))
    my_port = free.getsockname()[1]
    free.close()
    main = scripts("main.py", client_code(doc, "def receive_message(addr, msg):"))
    for answer in (str(my_port), "127.0.0.1", str(room.port), "build done", "tests passed"):
        main.send(answer)
    events = []  # two one-shot connections: each a join, its line, a leave
    while sum(e["type"] == "leave" for e in events) < 2:
        events.append(alice.recv())
    said_by = {e["text"]: e["from"] for e in events if e["type"] == "message"}
    assert set(said_by) == {"build done", "tests passed"}
    for guest in said_by.values():
        kinds = [e["type"] for e in events if guest in (e.get("name"), e.get("from"))]
        assert kinds == ["join", "message", "leave"], events
    main.expect(r"Message to 127\.0\.0\.1: build done")
    main.expect(r"Message to 127\.0\.0\.1: tests passed")
    main.send("")  # an empty line quits
    main.expect("Goodbye")
    assert main.close() == 0


# ------------------------------------------------------------- 004: the ten-byte pair

def test_the_chatroom_ten_byte_clients(room, make_client, scripts):
    doc = "004_6d15a736110a82ba.txt"

    def pointed(code: str) -> str:
        code = replace_line(code, r"IP = '34\.75\.51\.43'", "IP = '127.0.0.1'")
        return replace_line(code, r"Port = 3306", f"Port = {room.port}")

    (alice,) = join(room, make_client, "alice")
    window = scripts("message_window.py", pointed(client_code(doc, 'my_username = "msg_screen"')))
    next_frame(alice, type="join", name="msg_screen")
    typer = scripts("input_client.py", pointed(client_code(doc, 'input("username: ")')))
    typer.send("bob")
    next_frame(alice, type="join", name="bob")
    window.expect(r"^\*:    bob joined$")
    typer.send("hello from the input client")
    assert next_frame(alice, type="message", text="hello from the input client")["from"] == "bob"
    window.expect(r"^bob:    hello from the input client$")
    say(alice, "hi bob, hi window", "a1")
    window.expect(r"^alice:    hi bob, hi window$")
    typer.close()  # its input() ends (EOFError, the tutorial's own way out)
    next_frame(alice, type="leave", name="bob")
    window.expect(r"^\*:    bob left")
    window.proc.kill()
    next_frame(alice, type="leave", name="msg_screen")
    assert not [line for line in window.output if "error" in line], window.output


# ------------------------------------------------------------- the README's snippet

def test_the_readme_snippet_is_the_tutorial_s_own_code_and_works(room, make_client, scripts):
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    [snippet] = [b for b in re.findall(r"```python\n(.*?)```", readme, re.S) if "def send(msg)" in b]
    tutorial_send = client_code("001_68907b1b07bd5373.txt", "def send(msg):")
    assert tutorial_send.strip() in snippet  # the tutorial's send(), not a variant of it
    assert "[HEADER:]" not in snippet
    code = replace_line(snippet, r"SERVER = ", 'SERVER = "127.0.0.1"')
    code = replace_line(code, r"PORT = ", f"PORT = {room.port}")
    (alice,) = join(room, make_client, "alice")
    run = scripts("readme.py", code)
    assert run.expect(r"\S") == "Msg received"
    assert run.expect(r"\S") == "Goodbye"
    assert run.close() == 0
    guest = next_frame(alice, type="join")["name"]
    next_frame(alice, type="message", text="Hello World!", **{"from": guest})
