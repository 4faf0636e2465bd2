"""The unit's ``MemoryDenyWriteExecute=yes`` suits the server: under the kernel's own
version of it (``prctl(PR_SET_MDWE)``, Linux 6.3 and later, kept across ``exec``) the
server makes its TLS certificate, stores lines in SQLite and serves a TLS client.

Nothing in the server may need memory that is writable and executable (a JIT, a
``ctypes`` callback on an old libffi): this test fails the day something does, before
a service refuses to start."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

import pytest

from conftest import ROOT, WAIT

PR_SET_MDWE = 65
PR_MDWE_REFUSE_EXEC_GAIN = 1

pytestmark = pytest.mark.live

# Runs argv[1:] with W^X enforced by the kernel from the first instruction on.
LAUNCHER = (
    "import ctypes, os, sys\n"
    "libc = ctypes.CDLL(None, use_errno=True)\n"
    f"if libc.prctl({PR_SET_MDWE}, {PR_MDWE_REFUSE_EXEC_GAIN}, 0, 0, 0) != 0:\n"
    "    sys.exit('prctl: ' + os.strerror(ctypes.get_errno()))\n"
    "os.execv(sys.argv[1], sys.argv[1:])\n"
)


def _kernel_has_mdwe() -> bool:
    if not sys.platform.startswith("linux"):
        return False
    done = subprocess.run([sys.executable, "-c", LAUNCHER, sys.executable, "-c", "pass"],
                          capture_output=True, text=True, timeout=WAIT)
    return done.returncode == 0


needs_mdwe = pytest.mark.skipif(not _kernel_has_mdwe(),
                                reason="this kernel has no PR_SET_MDWE (Linux 6.3+ only)")


def under_mdwe(*argv) -> list:
    return [sys.executable, "-c", LAUNCHER, sys.executable, *argv]


@needs_mdwe
def test_the_launcher_really_forbids_writable_executable_memory():
    # So the test below means something: after exec, W+X memory is refused.
    probe = ("import mmap\n"
             "try:\n"
             "    mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)\n"
             "except PermissionError:\n"
             "    print('refused')\n")
    done = subprocess.run(under_mdwe("-c", probe), capture_output=True, text=True, timeout=WAIT)
    assert done.stdout.strip() == "refused", done.stderr
    unrestricted = subprocess.run([sys.executable, "-c", probe], capture_output=True,
                                  text=True, timeout=WAIT)
    assert unrestricted.stdout.strip() == ""


@needs_mdwe
def test_the_server_serves_tls_and_stores_lines_without_writable_executable_memory(tmp_path):
    proc = subprocess.Popen(
        under_mdwe("server.py", "--host", "127.0.0.1", "--port", "0", "--log-level",
                   "WARNING", "--db", str(tmp_path / "chat-history.db"), "--tls-self-signed"),
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        port = None
        for line in proc.stdout:
            if line.startswith("clients can connect with:"):
                port = line.split("--port ")[1].split()[0]
                break
        assert port, proc.stderr.read()
        env = dict(os.environ, HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / "config"))
        client = subprocess.run(
            [sys.executable, "client.py", "--cli", "--host", "127.0.0.1", "--port", port,
             "--tls", "--name", "hardened", "--no-reconnect"],
            input="stored under W^X\n", cwd=ROOT, env=env, capture_output=True, text=True,
            timeout=WAIT * 3)
        assert client.returncode == 0, client.stderr  # 0: the line was acknowledged
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=WAIT * 3)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert (tmp_path / "chat-tls-cert.pem").exists()
    db = sqlite3.connect(tmp_path / "chat-history.db")
    try:
        texts = [text for (text,) in db.execute("SELECT text FROM events WHERE type='message'")]
    finally:
        db.close()
    assert any("stored under W^X" in body for body in texts)
