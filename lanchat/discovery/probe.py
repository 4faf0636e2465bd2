"""The server's answer to the discovery probe, for networks that drop multicast.

A UDP socket on the chat's host and port number answers each ``LANCHAT? 2`` with the
server's JSON (``wire.probe_reply``), sent back to the sender only. Its rules:

* Anything that is not exactly a probe (``wire.is_probe``) gets no answer at all.
* It must not be an amplifier for someone spoofing a victim's address: the reply is
  the compact JSON and nothing more (under 300 bytes), each sender address gets at
  most ``PER_ADDRESS_RATE`` replies a second (bursts of ``PER_ADDRESS_BURST``:
  a browser probes a few times at start, through two broadcast addresses), and all
  senders together at most ``TOTAL_RATE`` a second; probes over that are dropped.
  The per-address buckets are bounded (``MAX_TRACKED``; the oldest is forgotten).
* It never blocks the chat and never stops it: an error on one datagram is logged
  and the next one is read.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections import OrderedDict
from typing import Callable

from lanchat.discovery.found import Found
from lanchat.discovery.wire import is_probe, probe_reply
from lanchat.ratelimit import TokenBucket

log = logging.getLogger("chat.discovery")

PER_ADDRESS_RATE = 1.0   # replies a second to one address, after its burst
PER_ADDRESS_BURST = 8    # a browser's first probes (4 rounds, 2 broadcasts each)
TOTAL_RATE = 50.0        # replies a second to everyone: a classroom's browsers at once
TOTAL_BURST = 100
MAX_TRACKED = 1024       # sender addresses with a bucket; beyond it the oldest goes
RECEIVE_BYTES = 64       # a probe is 10 to 12 bytes; a bigger datagram is not one
POLL_SECONDS = 0.5       # how often the loop checks it should stop


class ProbeResponder:
    """Answers ``LANCHAT? 2`` on UDP ``host``:``port`` with what ``describe()`` returns.

    Args:
        host, port: where the chat listens (the same address and port number).
        describe: returns the server's ``Found`` now (name, port, users, tls, pw, fp).

    Raises (from ``start``):
        OSError: the UDP port cannot be bound (another program has it).
    """

    def __init__(self, host: str, port: int, describe: Callable[[], Found]):
        self.host = host
        self.port = port
        self.describe = describe
        self._buckets: OrderedDict = OrderedDict()  # sender address -> TokenBucket
        self._total = TokenBucket(TOTAL_RATE, TOTAL_BURST)
        self._stopping = threading.Event()
        self._socket = None
        self._thread = None

    def start(self) -> None:
        """Bind the UDP socket and answer probes on a thread of its own."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.bind((self.host, self.port))
        except OSError:
            sock.close()
            raise
        sock.settimeout(POLL_SECONDS)
        self._socket = sock
        self._thread = threading.Thread(target=self._serve, args=(sock,),
                                        name="discovery-responder", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        """Stop answering and close the socket; idempotent, waits at most ``timeout``."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
        if self._socket is not None:
            self._socket.close()

    def allowed(self, address: str) -> bool:
        """Whether a reply to ``address`` fits the rate limits now (takes a token)."""
        bucket = self._buckets.pop(address, None)
        if bucket is None:
            bucket = TokenBucket(PER_ADDRESS_RATE, PER_ADDRESS_BURST)
            while len(self._buckets) >= MAX_TRACKED:
                self._buckets.popitem(last=False)
        self._buckets[address] = bucket  # most recently heard last
        return bucket.take() and self._total.take()

    def _serve(self, sock: socket.socket) -> None:
        while not self._stopping.is_set():
            try:
                datagram, sender = sock.recvfrom(RECEIVE_BYTES)
            except socket.timeout:
                continue
            except OSError as exc:
                if self._stopping.is_set():
                    return
                log.debug("discovery socket: %s", exc)
                continue
            if not is_probe(datagram) or not self.allowed(sender[0]):
                continue
            try:
                sock.sendto(probe_reply(self.describe()), sender)
            except Exception:  # one bad reply must not end the answering
                log.exception("answering a discovery probe from %s failed", sender[0])
