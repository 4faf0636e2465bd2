"""End to end: ``client.py`` under Xvfb finds a chat by itself and joins it by keyboard.

The real client with its default search (``ui/connectstage.py``: a real Browser,
probing the addresses ``LANCHAT_PROBE_HOSTS`` adds) in a private Xvfb; a real server
answering probes on 127.0.0.1 as ``server.py`` makes it. Up (into the list) and
Return, typed with xdotool, join it: the server sees the join, the window title names
the server. Skipped, with the reason, where Xvfb or xdotool is missing.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

from test_gui_e2e import ROOT, WAIT, focus_window, pytestmark, wait_until, xdotool, xvfb  # noqa: F401
from test_ui_found_live import findable  # noqa: F401 (a fixture)


def test_a_chat_found_is_joined_with_up_and_return(xvfb, make_server, make_client,  # noqa: F811
                                                   findable, tmp_path):  # noqa: F811
    name = f"Found {uuid.uuid4().hex[:6]}"
    server = make_server(rate=0, server_name=name)
    findable(server)
    watcher = make_client(server.address)
    watcher.hello("watcher")
    env = {k: v for k, v in os.environ.items() if k != "SDL_VIDEODRIVER"}
    env.update(DISPLAY=xvfb, XDG_CONFIG_HOME=str(tmp_path), SDL_AUDIODRIVER="dummy",
               PYGAME_HIDE_SUPPORT_PROMPT="1", LANCHAT_TITLE_ROOMS="0",
               LANCHAT_PROBE_HOSTS=f"127.0.0.1:{server.port}")
    gui = subprocess.Popen([sys.executable, os.path.join(ROOT, "client.py"), "--name", "xfound"],
                           env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        window = focus_window(xvfb, gui.pid)
        # The list fills within a second or two; until it has a row, Up stays in the
        # address field and Return asks for an address. Press until the join is seen.
        def joined():
            xdotool(xvfb, "key", "Up", "Return")
            try:
                watcher.expect("join", name="xfound", timeout=0.5)
                return True
            except AssertionError:
                return False
        wait_until(joined, "the window to join the chat it found")
        title = wait_until(lambda: name in xdotool(xvfb, "getwindowname", window)
                           and xdotool(xvfb, "getwindowname", window), "the server in the title")
        assert title == f"LAN Chat \u2014 xfound on {name}"
        xdotool(xvfb, "key", "ctrl+q")
        assert gui.wait(WAIT) == 0
        stderr = gui.stderr.read().decode(errors="replace")
        assert "Traceback" not in stderr, stderr
    finally:
        if gui.poll() is None:
            gui.kill()
            gui.wait()
