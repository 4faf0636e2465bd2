"""How a connection's bytes cross the wire: as they are, or inside TLS.

The handler reads with ``receive`` and everything leaves through ``send``, which hands
bytes to the connection's non-blocking ``SendQueue``. TLS uses ``ssl.MemoryBIO``
(sans-I/O, like the rest of the protocol code) instead of an ``SSLSocket``: the reader
thread decrypts, broadcasters encrypt, and one lock keeps the ``SSLObject`` to one
thread at a time while the socket underneath stays plain, so the ``MSG_DONTWAIT``
fast path of ``SendQueue`` still works.
"""

from __future__ import annotations

import socket
import ssl
import threading
from typing import Optional

import protocol
from lanchat.server.sendqueue import SendQueue


class PlainTransport:
    """Bytes as they are."""

    # A client that spoke plaintext to a TLS port (``TLSTransport``): its bytes pass
    # as they are, so the handler can tell its dialect and refuse it in that form.
    plaintext = False
    partial = False  # bytes of an unfinished record wait below the reader (TLS)

    def __init__(self, send_queue: SendQueue):
        self.send_queue = send_queue
        if type(self).send is PlainTransport.send:
            # The queue's own method: one Python call less for every delivery.
            self.send = send_queue.send

    def send(self, data: bytes) -> bool:
        return self.send_queue.send(data)

    def flush(self, timeout: float) -> bool:
        return self.send_queue.flush(timeout)

    def receive(self, sock: socket.socket, size: int) -> Optional[bytes]:
        """Bytes read (b"" at end of stream); None means nothing for the decoder yet."""
        return sock.recv(size)

    def pending(self) -> bool:
        return False


class TLSTransport(PlainTransport):
    """Server side of TLS over a plain socket, through memory BIOs.

    A client whose first byte is not a TLS handshake record spoke plaintext:
    ``plaintext`` turns True and its bytes pass both ways as they are, so the handler
    can answer it in its own dialect and close. A handshake that fails otherwise
    raises ``protocol.FrameError`` and the handler closes that one connection.
    """

    def __init__(self, context: ssl.SSLContext, send_queue: SendQueue):
        super().__init__(send_queue)
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self._tls = context.wrap_bio(self._incoming, self._outgoing, server_side=True)
        self._lock = threading.Lock()
        self._ready = False
        self._early: list = []  # frames sent before the handshake finished
        self._heard = False     # any bytes yet? a first chunk that is not TLS gets a readable no

    @property
    def partial(self) -> bool:
        """Part of a TLS record has come and waits for the rest: a started frame, for
        the frame timeout (the reader above sees nothing of it yet)."""
        return self._incoming.pending > 0

    def send(self, data: bytes) -> bool:
        with self._lock:
            if self.plaintext:
                return self.send_queue.send(data)
            if not self._ready:
                self._early.append(data)
                return True
            try:
                self._tls.write(data)
            except ssl.SSLError:
                return False
            return self._flush_outgoing()

    def _flush_outgoing(self) -> bool:
        # Lock held: encrypted bytes must enter the queue in the order they were made.
        data = self._outgoing.read()
        return self.send_queue.send(data) if data else True

    def receive(self, sock: socket.socket, size: int) -> Optional[bytes]:
        raw = sock.recv(size)
        with self._lock:
            if not raw:
                return b""
            first, self._heard = not self._heard, True
            if self.plaintext or (first and raw[:1] != b"\x16"):
                self.plaintext = True  # no TLS handshake record: a plaintext client
                return raw
            self._incoming.write(raw)
            if not self._ready:
                try:
                    self._tls.do_handshake()
                except ssl.SSLWantReadError:
                    self._flush_outgoing()
                    return None
                except ssl.SSLError as exc:
                    self._flush_outgoing()
                    raise protocol.FrameError(protocol.BAD_HEADER,
                                              f"TLS handshake failed: {exc.reason or exc}") from None
                self._ready = True
                self._flush_outgoing()
                for early in self._early:
                    self._tls.write(early)
                self._early.clear()
                self._flush_outgoing()
            chunks = []
            while True:
                try:
                    chunks.append(self._tls.read(size))
                except ssl.SSLWantReadError:
                    break
                except ssl.SSLZeroReturnError:
                    if not chunks:
                        return b""
                    break
                except ssl.SSLError as exc:
                    raise protocol.FrameError(protocol.BAD_HEADER,
                                              f"TLS error: {exc.reason or exc}") from None
            self._flush_outgoing()
        return b"".join(chunks) or None
