"""Baseline: the classic tutorial chat server, speaking our framing and JSON subset.

The design every socket tutorial teaches: a thread per connection, one global list
of clients, and on each message the sender's thread takes a lock and ``sendall``s
the frame to every other client, one after the other, then answers the sender.
Made correct under load (reads are exact, a frame is never assumed to arrive in one
``recv``) and taught just enough of the protocol for the benchmark:

* ``hello`` -> ``join`` to the others, ``welcome`` (``name``, ``users``, ``seq``) to it;
* ``say`` -> ``message`` (with one global ``seq``) to the others, ``ack`` to it;
* a closed connection -> ``leave`` to the others.

Nothing is stored, nothing is validated, nobody is ever dropped: one client that stops
reading blocks the lock holder's ``sendall``, and with it the whole room.

    python bench/baselines/tutorial_server.py --port 5050
"""

import argparse
import json
import signal
import socket
import sys
import threading
import time

HEADER = 64

clients = {}  # socket -> name, in join order
lock = threading.Lock()
seq = 0


def frame(message: dict) -> bytes:
    body = json.dumps(message, separators=(",", ":")).encode("utf-8")
    return str(len(body)).encode("ascii").ljust(HEADER) + body


def recv_exact(conn: socket.socket, n: int):
    """Exactly ``n`` bytes, or None if the peer closed first."""
    chunks = []
    while n:
        chunk = conn.recv(n)
        if not chunk:
            return None
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def broadcast(data: bytes, exclude: socket.socket) -> None:
    """Send to every client but ``exclude``; the caller holds the lock."""
    for client in clients:
        if client is not exclude:
            try:
                client.sendall(data)
            except OSError:
                pass


def event(event_type: str, **fields) -> dict:
    """A new event with the next seq; the caller holds the lock."""
    global seq
    seq += 1
    return {"type": event_type, "seq": seq, "ts": time.time(), **fields}


def handle(conn: socket.socket) -> None:
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    name = None
    try:
        while True:
            header = recv_exact(conn, HEADER)
            if header is None:
                break
            body = recv_exact(conn, int(header.strip() or 0))
            if body is None:
                break
            if not body:
                continue
            msg = json.loads(body)
            if msg.get("type") == "hello" and name is None:
                with lock:
                    name = str(msg.get("name"))
                    join = event("join", name=name)
                    broadcast(frame(join), conn)
                    clients[conn] = name
                    conn.sendall(frame({"type": "welcome", "name": name,
                                        "users": list(clients.values()), "seq": join["seq"]}))
            elif msg.get("type") == "say" and name is not None:
                with lock:
                    message = event("message", **{"from": name}, text=msg.get("text"),
                                    kind="chat")
                    broadcast(frame(message), conn)
                conn.sendall(frame({"type": "ack", "id": msg.get("id"), "seq": message["seq"]}))
    except (OSError, ValueError):
        pass
    finally:
        with lock:
            if clients.pop(conn, None) is not None:
                broadcast(frame(event("leave", name=name, reason="left")), conn)
        conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(description="tutorial-style baseline chat server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5050)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((args.host, args.port))
    server.listen()
    while True:
        conn, _ = server.accept()
        threading.Thread(target=handle, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
