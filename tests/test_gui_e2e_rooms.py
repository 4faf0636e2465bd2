"""End to end with rooms: the real client window under Xvfb, typed into with xdotool.

Like ``test_gui_e2e.py`` (whose ``xvfb`` fixture and helpers this reuses): a private
Xvfb, ``python client.py`` in it against a real server, raw clients on the wire. Here
the window switches rooms (``/join #games`` typed, then Ctrl+K ``#lobby``), announces
typing to the room it is in, and counts unread lines per room in its room list.

The room list is read without pixels: the window runs with ``LANCHAT_TITLE_ROOMS=1``
(``ui/app.py``, docs/gui.md "Testing hooks"), which appends the list to the window
title (``[*#lobby #games:3]``: ``*`` the current room, ``:N`` its unread count), and
``xdotool getwindowname`` reads it. Every wait is on a condition (a frame reaching a
raw client, the title) with a bound; nothing sleeps to synchronise.

``LANCHAT_SCREENSHOT=path.png`` also runs ``test_screenshot_of_a_three_room_session``,
which saves a screenshot of the whole display there (for docs/screenshot-rooms-xvfb.png).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import pytest
from test_gui_e2e import ROOT, WAIT, focus_window, wait_until, xdotool, xvfb  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.live, pytest.mark.skipif(
    not (shutil.which("Xvfb") and shutil.which("xdotool")),
    reason="needs Xvfb and xdotool (apt-get install xvfb xdotool; .ci/run does it)")]

DELAY = "15"  # ms between typed keys


class Window:
    """``client.py`` running in the Xvfb display ``display`` as ``name``, focused."""

    def __init__(self, display, server, name, config_dir):
        self.display = display
        env = {k: v for k, v in os.environ.items() if k != "SDL_VIDEODRIVER"}
        env.update(DISPLAY=display, XDG_CONFIG_HOME=str(config_dir), SDL_AUDIODRIVER="dummy",
                   PYGAME_HIDE_SUPPORT_PROMPT="1", LANCHAT_TITLE_ROOMS="1")
        self.proc = subprocess.Popen([sys.executable, os.path.join(ROOT, "client.py"),
                                      "--host", server.host, "--port", str(server.port),
                                      "--name", name], env=env, cwd=ROOT,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.id = None

    def find(self):
        self.id = focus_window(self.display, self.proc.pid)

    def title(self) -> str:
        return xdotool(self.display, "getwindowname", self.id, check=False)

    def rooms(self) -> str:
        """The room list from the title hook: ``*#lobby #games:3``."""
        title = self.title()
        return title[title.rfind("[") + 1:-1] if title.endswith("]") else ""

    def wait_rooms(self, wanted: str, what: str = ""):
        wait_until(lambda: self.rooms() == wanted,
                   what or f"the room list {wanted!r} (it shows {self.rooms()!r})")

    def type(self, text: str):
        xdotool(self.display, "type", "--delay", DELAY, text)

    def key(self, *keys: str):
        xdotool(self.display, "key", *keys)

    def line(self, text: str):
        self.type(text)
        self.key("Return")

    def close(self):
        if self.proc.poll() is None:
            self.key("ctrl+q")
            try:
                self.proc.wait(WAIT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        stderr = self.proc.stderr.read().decode(errors="replace")
        assert "Traceback" not in stderr, stderr


@pytest.fixture
def open_window(xvfb, chat_server, tmp_path):  # noqa: F811 (xvfb is the imported fixture)
    windows = []

    def factory(name="xgui"):
        window = Window(xvfb, chat_server, name, tmp_path)
        windows.append(window)
        return window

    yield factory
    for window in windows:
        if window.proc.poll() is None:
            window.proc.kill()
            window.proc.wait()


def collect(client, *wanted, timeout=WAIT):
    """Frames until each of ``wanted`` (dicts of fields) has matched one, in any order
    (a ``typing: done`` and the line it ends may arrive either way round); returns the
    matches in ``wanted``'s order."""
    found = [None] * len(wanted)
    deadline = time.monotonic() + timeout
    seen = []
    while None in found:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"wanted {wanted}, got {seen}")
        try:
            frame = client.recv(left)
        except AssertionError:
            raise AssertionError(f"wanted {wanted}, got {seen}") from None
        seen.append(frame)
        for i, fields in enumerate(wanted):
            if found[i] is None and all(frame.get(k) == v for k, v in fields.items()):
                found[i] = frame
                break
    return found


def enter_games(window, gamer):
    """The window types ``/join #games``; the gamer there sees it; #games is current."""
    window.line("/join #games")
    gamer.expect("join", name="xgui", room="#games", timeout=WAIT)
    window.wait_rooms("#lobby *#games")


def test_switching_rooms_and_the_typing_line(open_window, chat_server, make_client):
    lobby = make_client(chat_server.address)
    lobby.hello("watcher")
    gamer = make_client(chat_server.address)
    gamer.hello("gamer", rooms=["#games"])
    window = open_window()
    lobby.expect("join", name="xgui", timeout=WAIT)
    window.find()
    window.wait_rooms("*#lobby")  # the chat screen is up (the list hook shows #lobby alone)

    enter_games(window, gamer)
    # the typing line: before Return the room hears "active", with Return "done"
    window.type("hello games")
    typing = gamer.expect("typing", name="xgui", timeout=WAIT)
    assert (typing["state"], typing["room"]) == ("active", "#games")
    window.key("Return")
    message, done = collect(gamer, {"type": "message", "from": "xgui"},
                            {"type": "typing", "name": "xgui", "state": "done"})
    assert (message["text"], message["room"]) == ("hello games", "#games")
    assert done["room"] == "#games"

    # Ctrl+K, #lobby, Return: back in #lobby; a line goes there
    window.key("ctrl+k")
    window.type("#lobby")
    window.key("Return")
    window.wait_rooms("*#lobby #games")
    window.line("back in the lobby")
    message = lobby.expect("message", timeout=WAIT, **{"from": "xgui"})
    assert (message["text"], message["room"]) == ("back in the lobby", "#lobby")
    window.close()


def test_unread_counts_in_the_room_list(open_window, chat_server, make_client):
    gamer = make_client(chat_server.address)
    gamer.hello("gamer", rooms=["#games"])
    window = open_window()
    gamer.expect("join", name="xgui", room="#lobby", timeout=WAIT)
    window.find()
    enter_games(window, gamer)
    window.key("ctrl+Prior")  # Ctrl+PageUp: back to #lobby
    window.wait_rooms("*#lobby #games")

    for n in range(3):
        gamer.send(type="say", text=f"line {n + 1} in games", id=f"g{n}", room="#games")
        gamer.expect("ack", id=f"g{n}", timeout=WAIT)
    window.wait_rooms("*#lobby #games:3")

    window.key("ctrl+Next")  # Ctrl+PageDown: to #games, which clears its count
    window.wait_rooms("#lobby *#games")
    window.close()


@pytest.mark.skipif(not os.environ.get("LANCHAT_SCREENSHOT") or not shutil.which("import"),
                    reason="LANCHAT_SCREENSHOT=path.png takes the screenshot (needs ImageMagick)")
def test_screenshot_of_a_three_room_session(open_window, chat_server, make_client):
    gamer = make_client(chat_server.address)
    gamer.hello("maya", rooms=["#games"])
    ann = make_client(chat_server.address)
    ann.hello("ann", rooms=["#games", "#study"])
    dev = make_client(chat_server.address)
    dev.hello("dev", rooms=["#games"])
    gamer.send(type="say", text="/topic Friday LAN party: Quake at 8, bring a cable",
               id="t", room="#games")
    gamer.expect("ack", id="t", timeout=WAIT)
    ann.send(type="say", text="/away lunch, back at 1", id="a")
    ann.expect("ack", id="a", timeout=WAIT)
    window = open_window("sam")
    gamer.expect("join", name="sam", timeout=WAIT)
    window.find()
    window.line("/join #study")
    ann.expect("join", name="sam", room="#study", timeout=WAIT)
    window.wait_rooms("#lobby *#study")
    window.line("/join #games")
    window.wait_rooms("#lobby *#games #study")
    ann.send(type="say", text="anyone done with exercise 4?", id="s1", room="#study")
    ann.expect("ack", id="s1", timeout=WAIT)
    ann.send(type="say", text="sam: can you check my answer later?", id="s2", room="#study")
    ann.expect("ack", id="s2", timeout=WAIT)
    for i, (who, text) in enumerate([(gamer, "who is bringing the switch?"),
                                     (dev, "I have one, 16 ports"),
                                     (gamer, "great, and the long cable?")]):
        who.send(type="say", text=text, id=f"m{i}", room="#games")
        who.expect("ack", id=f"m{i}", timeout=WAIT)
    window.line("I can bring two")
    gamer.expect("message", timeout=WAIT, **{"from": "sam"})
    window.wait_rooms("#lobby *#games #study:2")
    dev.send(type="typing", state="active", room="#games")
    gamer.expect("typing", name="dev", timeout=WAIT)
    time.sleep(0.5)  # not a synchronisation: the window draws the typing line within a frame
    subprocess.run(["import", "-window", "root", os.environ["LANCHAT_SCREENSHOT"]],
                   env={**os.environ, "DISPLAY": window.display}, check=True, timeout=WAIT)
    window.close()
