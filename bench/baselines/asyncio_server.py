"""Baseline: a well-written minimal asyncio chat server, speaking our framing and JSON subset.

One thread, one event loop, an ``asyncio.Protocol`` per connection: ``data_received``
appends to a buffer and cuts every complete frame out of it (incremental framing,
one ``del`` per call), each body is ``json.loads``-ed once, each outgoing event is
``json.dumps``-ed and framed once and queued for every other client.

Writes are coalesced, as a good asyncio server does: a frame for a client goes on
that client's pending list, and the client is marked dirty; once per loop iteration
(one ``call_soon`` after the first frame, so after every ``data_received`` of that
iteration has run) every dirty client's pending frames go out in one
``transport.write`` of their join. A burst of N lines read in one ``recv`` thus
costs each other client one ``send``, not N; in steady state (one line per
iteration) it is one ``send`` per delivery, as for any server.

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
    """The members (protocol -> name, in join order), the one seq counter and the
    clients with frames waiting for this iteration's flush."""

    def __init__(self, loop):
        self.loop = loop
        self.members = {}
        self.seq = 0
        self.dirty = []
        self.flush_scheduled = False

    def event(self, event_type: str, **fields) -> dict:
        self.seq += 1
        return {"type": event_type, "seq": self.seq, "ts": time.time(), **fields}

    def queue(self, member, data: bytes) -> None:
        """``data`` to ``member`` at this iteration's flush."""
        if not member.pending:
            self.dirty.append(member)
            if not self.flush_scheduled:
                self.flush_scheduled = True
                self.loop.call_soon(self.flush)
        member.pending.append(data)

    def broadcast(self, data: bytes, exclude) -> None:
        for member in self.members:
            if member is not exclude:
                self.queue(member, data)

    def flush(self) -> None:
        """Every dirty client's pending frames in one write each."""
        dirty, self.dirty = self.dirty, []
        self.flush_scheduled = False
        for member in dirty:
            pending = member.pending
            member.pending = []
            if not member.transport.is_closing():
                member.transport.write(pending[0] if len(pending) == 1
                                       else b"".join(pending))


class ChatProtocol(asyncio.Protocol):
    """One connection: incremental framing, then hello / say."""

    def __init__(self, room: Room):
        self.room = room
        self.transport = None
        self.buf = bytearray()
        self.pending = []
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
            room.queue(self, frame({"type": "welcome", "name": self.name,
                                   "users": list(room.members.values()),
                                   "seq": join["seq"]}))
        elif kind == "say" and self.name is not None:
            message = room.event("message", **{"from": self.name}, text=msg.get("text"),
                                 kind="chat")
            room.broadcast(frame(message), self)
            room.queue(self, frame({"type": "ack", "id": msg.get("id"),
                                   "seq": message["seq"]}))

    def connection_lost(self, exc) -> None:
        if self.room.members.pop(self, None) is not None:
            self.room.broadcast(frame(self.room.event("leave", name=self.name, reason="left")),
                                self)


async def serve(host: str, port: int) -> None:
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    loop.add_signal_handler(signal.SIGTERM, stop.set_result, None)
    room = Room(loop)
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
