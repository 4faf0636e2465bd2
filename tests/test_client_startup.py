"""client.py fails fast and clearly: a bad --port, or no display for the window.

Both checks happen before any connection is made, so a mistake never leaves a ghost
user in the room. The subprocess tests run the real ``client.py`` with a bounded
timeout against a real server and check that nobody joined.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import client
from ui import displaycheck

from conftest import ROOT

RUN_TIMEOUT = 20  # seconds a client.py subprocess may take (it should exit at once)


# ---------------------------------------------------------------- --port

@pytest.mark.parametrize("port", ["70000", "0", "-1", "65536"])
def test_bad_port_is_a_usage_error(port, capsys):
    with pytest.raises(SystemExit) as exited:
        client.main(["--cli", "--host", "127.0.0.1", "--name", "x", "--port", port])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage:")
    assert "--port" in err and "1 to 65535" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("port", ["1", "5050", "65535"])
def test_good_ports_parse(port):
    args = client.parse_args(["--host", "h", "--name", "x", "--port", port])
    assert args.port == int(port)


def test_bad_port_never_connects(chat_server):
    """The real script: exit 2 with one usage line, and nobody joined the room."""
    done = subprocess.run([sys.executable, "client.py", "--cli", "--host", chat_server.host,
                           "--port", "70000", "--name", "ghost"], cwd=ROOT,
                          capture_output=True, text=True, timeout=RUN_TIMEOUT,
                          stdin=subprocess.DEVNULL)
    assert done.returncode == 2
    assert "Connection refused" not in done.stderr + done.stdout
    assert "1 to 65535" in done.stderr


# ---------------------------------------------------------------- no display

def _no_display_env(**extra):
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "SDL_VIDEODRIVER")}
    env.update(extra)
    return env


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="X11/Wayland check is Linux's")
def test_no_display_is_reported_by_the_environment_check():
    problem = displaycheck.environment_problem({}, "linux")
    assert problem and "--cli" in problem
    assert problem.count(". ") <= 1  # one sentence (plus the suggestion)


def test_display_variables_or_an_explicit_driver_are_fine():
    assert displaycheck.environment_problem({"DISPLAY": ":0"}, "linux") is None
    assert displaycheck.environment_problem({"WAYLAND_DISPLAY": "wayland-0"}, "linux") is None
    assert displaycheck.environment_problem({"SDL_VIDEODRIVER": "dummy"}, "linux") is None
    assert displaycheck.environment_problem({}, "darwin") is None
    assert displaycheck.environment_problem({}, "win32") is None


def test_offscreen_driver_counts_as_no_display_unless_asked_for():
    assert displaycheck.driver_problem("offscreen", {}) is not None
    assert displaycheck.driver_problem("dummy", {}) is not None
    assert displaycheck.driver_problem("x11", {}) is None
    assert displaycheck.driver_problem("dummy", {"SDL_VIDEODRIVER": "dummy"}) is None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="X11/Wayland check is Linux's")
def test_window_without_display_exits_before_joining(chat_server, make_client):
    watcher = make_client(chat_server.address)
    watcher.hello("watcher")
    done = subprocess.run([sys.executable, "client.py", "--host", chat_server.host,
                           "--port", str(chat_server.port), "--name", "ghost"], cwd=ROOT,
                          env=_no_display_env(), capture_output=True, text=True,
                          timeout=RUN_TIMEOUT, stdin=subprocess.DEVNULL)
    assert done.returncode != 0
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert "--cli" in lines[0] and "display" in lines[0].lower()
    assert "Traceback" not in done.stderr
    assert "ghost" not in [m.name for m in chat_server.room.members.values()]
    # Events come in seq order: had the ghost joined, its join would come first.
    make_client(chat_server.address).hello("marker")
    assert watcher.recv()["name"] == "marker"


@pytest.mark.live
def test_explicit_dummy_driver_still_opens_the_window_headless():
    """Tests and screenshots ask for the dummy driver on purpose: no complaint."""
    env = _no_display_env(SDL_VIDEODRIVER="dummy", SDL_AUDIODRIVER="dummy")
    code = ("import sys; from ui import displaycheck; "
            "p = displaycheck.window_problem(); print(p or 'ok'); sys.exit(1 if p else 0)")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=RUN_TIMEOUT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip().endswith("ok")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="X11/Wayland check is Linux's")
def test_unreachable_display_is_one_sentence_too(chat_server):
    """DISPLAY set but no X server there: SDL falls back to offscreen; we refuse."""
    done = subprocess.run([sys.executable, "client.py", "--host", chat_server.host,
                           "--port", str(chat_server.port), "--name", "ghost2"], cwd=ROOT,
                          env=_no_display_env(DISPLAY=":1999"), capture_output=True, text=True,
                          timeout=RUN_TIMEOUT, stdin=subprocess.DEVNULL)
    assert done.returncode != 0
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "--cli" in lines[0], done.stderr
    assert "ghost2" not in [m.name for m in chat_server.room.members.values()]


@pytest.mark.parametrize("fp", ["abc", "SHA256:AB:CD", "g" * 64, "SHA256:" + "AB" * 31])
def test_a_fingerprint_that_is_not_one_is_a_usage_error(fp, capsys):
    # Not caught here, a typo reached the first TLS connection as "the certificate is
    # not the advertised one": a man-in-the-middle warning for a mistyped flag.
    with pytest.raises(SystemExit) as exited:
        client.parse_args(["--host", "h", "--name", "x", "--tls", "--fingerprint", fp])
    assert exited.value.code == 2
    assert "is not a SHA-256 fingerprint" in capsys.readouterr().err


@pytest.mark.parametrize("fp", ["ab" * 32, "AB" * 32, "SHA256:" + ":".join(["AB"] * 32)])
def test_a_fingerprint_in_either_spelling_parses(fp):
    args = client.parse_args(["--host", "h", "--name", "x", "--tls", "--fingerprint", fp])
    assert args.fingerprint == fp
