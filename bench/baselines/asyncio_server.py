"""Baseline: a well-written minimal asyncio chat server, speaking our framing and JSON subset.

One thread, one event loop, an ``asyncio.Protocol`` per connection: ``data_received``
appends to a buffer and cuts every complete frame out of it (incremental framing,
one ``del`` per call), each body is ``json.loads``-ed once, each outgoing event is
``json.dumps``-ed and framed once and handed to every other client's
``transport.write`` (which sends at once when it can and buffers the rest).

* ``hello`` -> ``join`` to the others, ``welcome`` (``name``, ``users``, ``seq``) to it;
* ``say`` -> ``message`` (with one global ``seq``) to the others, ``ack`` to it;
* a lost connection -> ``leave`` to the others.

Like the tutorial server it stores and validates nothing; unlike it, a client that
stops reading never blocks the others, but nothing bounds what is buffered for it.

    python bench/baselines/asyncio_server.py --port 5050
"""

import argparse
import asyncio
import json
import signal
import sys
import time

HEADER = 64


def frame(message: dict) -> bytes:
    body = json.dumps(message, separators=(",", ":")).encode("utf-8")
    return str(len(body)).encode("ascii").ljust(HEADER) + body


class Room:
    """The members (protocol -> name, in join order) and the one seq counter."""

    def __init__(self):
        self.members = {}
        self.seq = 0

    def event(self, event_type: str, **fields) -> dict:
        self.seq += 1
        return {"type": event_type, "seq": self.seq, "ts": time.time(), **fields}

    def broadcast(self, data: bytes, exclude) -> None:
        for member in self.members:
            if member is not exclude:
                member.transport.write(data)


class ChatProtocol(asyncio.Protocol):
    """One connection: incremental framing, then hello / say."""

    def __init__(self, room: Room):
        self.room = room
        self.transport = None
        self.buf = bytearray()
        self.name = None

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        pos = 0
        while len(buf) - pos >= HEADER:
            try:
                size = int(buf[pos:pos + HEADER])
            except ValueError:
                self.transport.close()
                return
            end = pos + HEADER + size
            if end > len(buf):
                break
            body = bytes(buf[pos + HEADER:end])
            pos = end
            if body:
                self.on_body(body)
        del buf[:pos]

    def on_body(self, body: bytes) -> None:
        try:
            msg = json.loads(body)
        except ValueError:
            return
        kind = msg.get("type")
        room = self.room
        if kind == "hello" and self.name is None:
            self.name = str(msg.get("name"))
            join = room.event("join", name=self.name)
            room.broadcast(frame(join), self)
            room.members[self] = self.name
            self.transport.write(frame({"type": "welcome", "name": self.name,
                                        "users": list(room.members.values()),
                                        "seq": join["seq"]}))
        elif kind == "say" and self.name is not None:
            message = room.event("message", **{"from": self.name}, text=msg.get("text"),
                                 kind="chat")
            room.broadcast(frame(message), self)
            self.transport.write(frame({"type": "ack", "id": msg.get("id"),
                                        "seq": message["seq"]}))

    def connection_lost(self, exc) -> None:
        if self.room.members.pop(self, None) is not None:
            self.room.broadcast(frame(self.room.event("leave", name=self.name, reason="left")),
                                self)


async def serve(host: str, port: int) -> None:
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    loop.add_signal_handler(signal.SIGTERM, stop.set_result, None)
    room = Room()
    server = await loop.create_server(lambda: ChatProtocol(room), host, port, backlog=128)
    async with server:
        await stop


def main() -> int:
    parser = argparse.ArgumentParser(description="asyncio baseline chat server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5050)
    args = parser.parse_args()
    asyncio.run(serve(args.host, args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
