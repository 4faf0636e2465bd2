"""A stand-in for ChatConnection that the App can own: the test feeds its events."""

from __future__ import annotations

import queue


class FakeConnection:
    """What the App uses of a ChatConnection, driven by the test."""

    def __init__(self, host, port, name, with_reconnect_now=True):
        self.host, self.port, self.name = host, port, name
        self.events: "queue.Queue[dict]" = queue.Queue()
        self.said, self.closed, self.reconnects = [], None, 0
        self.connected = False
        if with_reconnect_now:
            self.reconnect_now = self._reconnect_now

    def _reconnect_now(self):
        self.reconnects += 1

    def start(self):
        return self

    def say(self, text):
        self.said.append(text)
        return f"id{len(self.said)}"

    def ping(self):
        pass

    def close(self, reason="bye"):
        self.closed = reason
