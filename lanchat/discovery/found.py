"""One chat server found on the network, however it was found.

Both ways of finding a server (DNS-SD over multicast DNS, and the UDP probe
``LANCHAT? 2`` for networks that drop multicast) produce a ``Found``; a browser merges
them by ``key`` (address and port), so one server seen both ways is one entry and two
servers on one host are two. ``as_json`` is the object ``client.py --discover --json``
prints: the probe reply of PROTOCOL.md section 10 plus ``host``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

MDNS = "mdns"    # found by DNS-SD over multicast DNS
PROBE = "probe"  # found by the UDP probe


@dataclass(frozen=True)
class Found:
    """A chat server: where it listens and what it says about itself."""

    name: str              # the server's --name ("<hostname> chat" by default)
    host: str              # the address to connect to
    port: int              # its TCP port (the probe's UDP port is the same number)
    users: int = 0         # people connected when it last said
    tls: bool = False      # connect with --tls
    pw: bool = False       # it needs a password
    fp: Optional[str] = None  # SHA-256 hex of its certificate, when tls
    v: int = 2             # protocol version
    via: frozenset = field(default_factory=frozenset)  # MDNS and/or PROBE

    @property
    def key(self) -> tuple:
        """What makes two sightings one server: the address and the port."""
        return (self.host, self.port)

    def as_json(self) -> dict:
        """The section 10 object (``name, port, users, tls, pw, fp, v``) plus ``host``."""
        return {"name": self.name, "host": self.host, "port": self.port, "users": self.users,
                "tls": self.tls, "pw": self.pw, "fp": self.fp, "v": self.v}
