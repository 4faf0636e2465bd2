"""End to end: a real client window under Xvfb, typed into with xdotool.

Starts its own Xvfb (``-displayfd`` lets the server pick a free display number, so
parallel runs do not collide), runs ``python client.py --host ... --name ...`` in it,
types a line with xdotool and checks that another client in the room receives it,
then quits with Ctrl+Q and checks the clean exit and the ``bye``. Skipped, with the
reason, where Xvfb or xdotool is missing; ``.ci/run`` installs both.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WAIT = 10.0  # a cold start of Python + pygame + fonts under Xvfb can take a few seconds

pytestmark = [pytest.mark.live, pytest.mark.skipif(
    not (shutil.which("Xvfb") and shutil.which("xdotool")),
    reason="needs Xvfb and xdotool (apt-get install xvfb xdotool; .ci/run does it)")]


def wait_until(condition, what, timeout=WAIT, interval=0.05):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


@pytest.fixture
def xvfb():
    """A private X display: yields its name (``:N``), kills the server after.

    ``-noreset``: by default Xvfb resets when its last client disconnects, and
    client.py's display check (``ui/displaycheck.py``) connects and disconnects just
    before the window opens; on a busy machine the window's own connection then
    landed in the reset and SDL fell back to its offscreen driver (no window)."""
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen(["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "1100x720x24",
                             "-nolisten", "tcp", "-noreset"], pass_fds=(write_fd,),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write_fd)
    number = b""
    deadline = time.monotonic() + WAIT
    os.set_blocking(read_fd, False)
    while not number.endswith(b"\n"):
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            os.close(read_fd)
            pytest.skip("Xvfb did not start")
        try:
            chunk = os.read(read_fd, 16)
        except BlockingIOError:
            chunk = b""
        if chunk:
            number += chunk
        else:
            time.sleep(0.02)
    os.close(read_fd)
    yield ":" + number.decode().strip()
    proc.terminate()
    try:
        proc.wait(WAIT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _xdotool_ran(display, *args) -> bool:
    """``xdotool args`` ran without an error."""
    return subprocess.run(["xdotool", *args], env={**os.environ, "DISPLAY": display},
                          capture_output=True, text=True, timeout=WAIT).returncode == 0


def xdotool(display, *args, check=True):
    result = subprocess.run(["xdotool", *args], env={**os.environ, "DISPLAY": display},
                            capture_output=True, text=True, timeout=WAIT)
    if check and result.returncode != 0:
        raise AssertionError(f"xdotool {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout.strip()


def focus_window(display, pid) -> str:
    """The client's window, once it is shown and has taken the focus: its id.

    Found by pid (SDL sets WM_NAME as UTF-8, which ``search --name`` does not match),
    visible windows only, and tried again until ``windowfocus`` takes: a window found
    while the client is still starting may be gone a moment later (BadWindow)."""
    def focused():
        found = xdotool(display, "search", "--onlyvisible", "--pid", str(pid), check=False)
        window = found.split("\n")[0]
        return window if window and _xdotool_ran(display, "windowfocus", window) else None
    return wait_until(focused, "the client window to show and take the focus")


def test_type_in_real_window_and_quit(xvfb, chat_server, make_client, tmp_path):
    watcher = make_client(chat_server.address)
    watcher.hello("watcher")
    env = {k: v for k, v in os.environ.items() if k != "SDL_VIDEODRIVER"}
    env.update(DISPLAY=xvfb, XDG_CONFIG_HOME=str(tmp_path), SDL_AUDIODRIVER="dummy",
               PYGAME_HIDE_SUPPORT_PROMPT="1")
    gui = subprocess.Popen([sys.executable, os.path.join(ROOT, "client.py"),
                            "--host", chat_server.host, "--port", str(chat_server.port),
                            "--name", "xgui"], env=env, cwd=ROOT,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        watcher.expect("join", name="xgui", timeout=WAIT)
        window = focus_window(xvfb, gui.pid)
        xdotool(xvfb, "type", "--delay", "15", "hello from xdotool")
        xdotool(xvfb, "key", "Return")
        message = watcher.expect("message", timeout=WAIT, **{"from": "xgui"})
        assert message["text"] == "hello from xdotool"

        # real keys: Tab completes a name (and types no tab), BackSpace deletes
        xdotool(xvfb, "type", "--delay", "15", "wat")
        xdotool(xvfb, "key", "Tab")
        xdotool(xvfb, "type", "--delay", "15", "hi!!")
        xdotool(xvfb, "key", "BackSpace", "Return")
        message = watcher.expect("message", timeout=WAIT, **{"from": "xgui"})
        assert message["text"] == "watcher: hi!"

        watcher.send(type="say", text="welcome, real window")
        xdotool(xvfb, "key", "ctrl+q")
        assert gui.wait(WAIT) == 0
        leave = watcher.expect("leave", name="xgui", timeout=WAIT)
        assert leave["reason"] == "bye"
        stderr = gui.stderr.read().decode(errors="replace")
        assert "Traceback" not in stderr, stderr
    finally:
        if gui.poll() is None:
            gui.kill()
            gui.wait()
