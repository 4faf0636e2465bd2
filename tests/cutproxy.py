"""A loopback TCP forwarder a test can cut: a real connection drop, on demand.

``CutProxy(server_address)`` listens on 127.0.0.1 (port 0) and forwards each accepted
connection to the server. ``cut()`` closes every forwarded pair (both ends see the
connection die); while ``hold()`` is in force newly accepted connections are closed at
once, so a client keeps failing to reconnect until ``release()``.
"""

from __future__ import annotations

import socket
import threading


class CutProxy:
    """Forward 127.0.0.1:<port> to ``target``; cut and hold on demand."""

    def __init__(self, target):
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.05)
        self.port = self.listener.getsockname()[1]
        self._pairs = []
        self._lock = threading.Lock()
        self._held = threading.Event()
        self._stop = threading.Event()
        self.accepted = 0
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)
        self._thread.start()

    def _accept_loop(self):
        while not self._stop.is_set():
            try:
                client, _ = self.listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.accepted += 1
            if self._held.is_set():
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=2.0)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._pairs.append((client, upstream))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src, dst):
        src.settimeout(None)
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        for sock in (src, dst):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self):
        """Kill every forwarded connection now."""
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for pair in pairs:
            for sock in pair:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()

    def hold(self):
        """Refuse (accept and close) new connections until ``release()``."""
        self._held.set()

    def release(self):
        """Forward new connections again."""
        self._held.clear()

    def close(self):
        """Stop listening and cut everything."""
        self._stop.set()
        self.listener.close()
        self._thread.join(2.0)
        self.cut()
