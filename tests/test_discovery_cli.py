"""server.py's --name and --no-advertise, and what the server says about discovery."""

from __future__ import annotations

import queue
import re
import signal
import subprocess
import sys
import threading

import pytest

from conftest import ROOT, WAIT, RawClient
from lanchat.server import config as server_config


def start(*args: str):
    """``server.py`` on 127.0.0.1, port 0; returns (process, its output lines queue)."""
    proc = subprocess.Popen([sys.executable, "server.py", "--host", "127.0.0.1", "--port", "0",
                             "--db", ":memory:", "--log-level", "WARNING", *args],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    return proc, lines


def read_until(lines: queue.Queue, pattern: str) -> tuple:
    seen = []
    while True:
        try:
            line = lines.get(timeout=WAIT)
        except queue.Empty:
            pytest.fail(f"no line matching {pattern!r}; saw {seen}")
        seen.append(line)
        match = re.search(pattern, line)
        if match:
            return match, seen


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGINT)
    assert proc.wait(WAIT) == 0
    proc.stdout.close()


@pytest.mark.live
def test_the_name_is_in_the_welcome_and_the_probe_answer_is_announced():
    proc, lines = start("--name", "Room 4 chat")
    try:
        match, seen = read_until(lines, r"connect with: python client\.py --host \S+ --port (\d+)")
        port = int(match.group(1))
        match, seen = read_until(lines, r"^Answering discovery probes for 'Room 4 chat' on "
                                        r"UDP (\d+) \(this machine only\)")
        assert int(match.group(1)) == port
        client = RawClient(("127.0.0.1", port))
        try:
            assert client.hello("alice")["server"] == "Room 4 chat"
        finally:
            client.close()
    finally:
        stop(proc)


@pytest.mark.live
def test_no_advertise_says_so():
    proc, lines = start("--no-advertise")
    try:
        _, seen = read_until(lines, r"^Not advertising \(--no-advertise\)")
        assert not any("Answering" in line or "Advertising" in line for line in seen)
    finally:
        stop(proc)


def test_the_default_name_is_the_host_name_and_chat():
    args = server_config.build_parser().parse_args([])
    config = server_config.config_from_args(args)
    assert config.server_name == server_config.default_server_name()
    assert config.server_name.endswith(" chat") and config.advertise is True
    assert server_config.config_from_args(
        server_config.build_parser().parse_args(["--no-advertise"])).advertise is False


@pytest.mark.parametrize("name", ["", "   ", "a" * 64, "tab\there", "é" * 32])
def test_a_name_discovery_cannot_carry_is_a_usage_error(name, capsys):
    with pytest.raises(SystemExit) as exit_:
        server_config.build_parser().parse_args(["--name", name])
    assert exit_.value.code == 2
    assert "cannot be a server name" in capsys.readouterr().err


def test_json_without_discover_is_a_usage_error():
    done = subprocess.run([sys.executable, "client.py", "--json"], cwd=ROOT,
                          capture_output=True, text=True, timeout=WAIT)
    assert done.returncode == 2 and "--json goes with --discover" in done.stderr


def test_zeroconf_errors_are_logged_as_sentences_without_tracebacks():
    import io
    import logging

    from lanchat.discovery.zclog import quiet_tracebacks

    quiet_tracebacks()
    quiet_tracebacks()  # twice is once
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    logger = logging.getLogger("zeroconf")
    logger.addHandler(handler)
    try:
        try:
            raise OSError(101, "Network is unreachable")
        except OSError:
            logger.warning("Error with socket %d", 6, exc_info=True)
    finally:
        logger.removeHandler(handler)
    text = out.getvalue()
    assert "Error with socket 6" in text and "Network is unreachable" in text
    assert "Traceback" not in text
    assert len(logger.filters) == len(set(logger.filters))


@pytest.mark.live
def test_the_probe_answer_carries_tls_the_fingerprint_and_the_password(tmp_path):
    import hashlib
    import json
    import socket
    import ssl

    from lanchat import tls

    proc = subprocess.Popen([sys.executable, "server.py", "--host", "127.0.0.1", "--port", "0",
                             "--db", str(tmp_path / "h.db"), "--tls-self-signed",
                             "--password", "secret", "--log-level", "WARNING"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    try:
        match, _ = read_until(lines, r"^Answering discovery probes for '.+' on UDP (\d+)")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(WAIT)
            sock.sendto(b"LANCHAT? 2\n", ("127.0.0.1", int(match.group(1))))
            answer = json.loads(sock.recvfrom(4096)[0])
    finally:
        stop(proc)
    with open(tmp_path / tls.CERT_FILE) as f:
        der = ssl.PEM_cert_to_DER_cert(f.read())
    assert answer["tls"] is True and answer["pw"] is True
    assert answer["fp"] == hashlib.sha256(der).hexdigest()
