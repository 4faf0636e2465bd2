"""Take docs/screenshot-discovery.png: the real connect screen listing real chats found.

Everything in it is real: four chat servers run in this process on 127.0.0.1, each
answering the discovery probe as ``server.py`` makes it (on loopback the probe only,
no mDNS); people join three of them; ``client.py`` runs in a private Xvfb with
``LANCHAT_PROBE_HOSTS`` naming their ports and a temporary config directory whose pin
file holds another certificate for one TLS server (so its row shows the warning).
Once the window is up and has had time to hear the answers, Up selects a row with the
keyboard, and ``import -window root`` captures the screen.

    python scripts/screenshot_discovery.py [--out docs/screenshot-discovery.png]

Needs Xvfb, xdotool and ImageMagick's ``import`` (apt-get install xvfb xdotool imagemagick).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import protocol  # noqa: E402
from lanchat import tls  # noqa: E402
from lanchat.discovery.announce import ServerDiscovery  # noqa: E402
from lanchat.discovery.found import Found  # noqa: E402
from lanchat.tls.pins import fingerprint_hex  # noqa: E402
from lanchat.server.config import ServerConfig  # noqa: E402
from lanchat.server.listener import ChatServer  # noqa: E402

SIZE = (1000, 660)
WAIT = 15.0
LISTEN_FOR = 3.0  # seconds the window gets to hear the probes' answers (sent at 0-1.5 s)

# name, people in it, TLS, password
CHATS = [("Lab 2 chat", ["mei", "bob", "carol"], False, None),
         ("Library", ["priya"], True, None),
         ("Teachers' room", [], True, "staff only"),
         ("Study group", ["dmitri", "omar"], False, "quiz")]


def start_chat(name, people, use_tls, password, certs, work):
    """A server answering probes, with ``people`` in it; returns (server, discovery, socks)."""
    context = tls.server_context(*certs) if use_tls else None
    server = ChatServer(ServerConfig(host="127.0.0.1", port=0, db=":memory:", rate=0,
                                     server_name=name, tls_context=context,
                                     password=password))
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                     daemon=True).start()
    host, port = server.server_address[:2]
    fp = fingerprint_hex(tls.file_fingerprint(certs[0])) if use_tls else None
    found = Found(name=name, host=host, port=port, tls=use_tls, pw=password is not None, fp=fp)
    discovery = ServerDiscovery(found, host, server.people)
    discovery.start()
    socks = []
    for person in people:
        sock = socket.create_connection((host, port), timeout=WAIT)
        hello = {"type": "hello", "name": person}
        if password:
            hello["password"] = password
        if use_tls:
            sock = tls.client_wrapper(pins_path=os.path.join(work, "people-pins.json"))(
                sock, host)
        sock.sendall(protocol.message_frame(hello))
        socks.append(sock)
    return server, discovery, socks


def start_xvfb():
    """A private X display (``-displayfd`` picks a free number); returns (process, name)."""
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen(["Xvfb", "-displayfd", str(write_fd), "-screen", "0",
                             f"{SIZE[0]}x{SIZE[1]}x24", "-nolisten", "tcp", "-noreset"],
                            pass_fds=(write_fd,), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    os.close(write_fd)
    number = b""
    deadline = time.monotonic() + WAIT
    while not number.endswith(b"\n"):
        if time.monotonic() > deadline:
            proc.kill()
            raise SystemExit("Xvfb did not start")
        number += os.read(read_fd, 16)
    os.close(read_fd)
    return proc, ":" + number.decode().strip()


def wait_for_window(display, pid):
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        found = subprocess.run(["xdotool", "search", "--pid", str(pid)], capture_output=True,
                               text=True, env={**os.environ, "DISPLAY": display})
        if found.stdout.strip():
            return found.stdout.split()[0]
        time.sleep(0.1)
    raise SystemExit("the client window did not appear")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(ROOT, "docs", "screenshot-discovery.png"))
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="lanchat-shot-")
    certs = tls.self_signed(work, addresses=[])
    running = [start_chat(*chat, certs, work) for chat in CHATS]
    ports = [server.server_address[1] for server, _, _ in running]
    pins = os.path.join(work, "config", "lanchat", "known_servers.json")
    os.makedirs(os.path.dirname(pins))
    with open(pins, "w") as f:  # an older certificate pinned for the Teachers' room
        json.dump({f"127.0.0.1:{ports[2]}": "SHA256:" + ":".join(["5E"] * 32)}, f)
    xvfb, display = start_xvfb()
    env = {k: v for k, v in os.environ.items() if k != "SDL_VIDEODRIVER"}
    env.update(DISPLAY=display, XDG_CONFIG_HOME=os.path.join(work, "config"),
               SDL_AUDIODRIVER="dummy", PYGAME_HIDE_SUPPORT_PROMPT="1",
               LANCHAT_PROBE_HOSTS=",".join(f"127.0.0.1:{port}" for port in ports))
    client = subprocess.Popen([sys.executable, os.path.join(ROOT, "client.py"), "--name",
                               "alice"], env=env, cwd=ROOT)
    try:
        window = wait_for_window(display, client.pid)
        time.sleep(LISTEN_FOR)  # the answers arrive within it; nothing to poll from outside
        xdo = {**os.environ, "DISPLAY": display}
        subprocess.run(["xdotool", "windowfocus", window], env=xdo, check=True)
        subprocess.run(["xdotool", "key", "Up", "Up", "Up"], env=xdo, check=True)
        time.sleep(0.5)  # one frame (the loop redraws within 40 ms)
        subprocess.run(["import", "-window", "root", args.out], env=xdo, check=True)
        print(f"wrote {args.out}")
    finally:
        client.terminate()
        client.wait(WAIT)
        xvfb.terminate()
        xvfb.wait(WAIT)
        for server, discovery, socks in running:
            for sock in socks:
                sock.close()
            discovery.stop()
            server.close_gracefully(flush_seconds=0.5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
