"""Making a running server findable: its mDNS record and its probe answer, together.

``ServerDiscovery`` starts both ways for one server, keeps the advertised ``users``
current (checked every ``USERS_EVERY`` seconds, the TXT record re-sent only when the
count changed: multicast DNS is shared by every device on the LAN), and stops both.
Neither way failing stops the chat: ``start`` returns the sentence the server prints
and a warning for each way that could not start.

Where it advertises follows ``--host``: every interface's LAN address for 0.0.0.0;
that address alone for a specific one; for a loopback address no multicast DNS at
all (no other machine could connect) but the probe is still answered there.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import replace
from typing import Callable, Optional

from lanchat.discovery.advertise import Advertiser
from lanchat.discovery.found import Found
from lanchat.discovery.probe import ProbeResponder
from lanchat.netaddr import is_loopback, lan_addresses

log = logging.getLogger("chat.discovery")

USERS_EVERY = 3.0  # seconds between checks of the count of people for the TXT record
ANY_ADDRESS = ("0.0.0.0", "")


class ServerDiscovery:
    """Both ways of being found, for one server.

    Args:
        found: what the server says about itself (name, port, tls, pw, fp); its
            ``users`` is replaced by ``users()``.
        host: the address the chat listens on (``--host``).
        users: returns the number of people in the chat now (cheap; called often).
    """

    def __init__(self, found: Found, host: str, users: Callable[[], int]):
        self.found = found
        self.host = host
        self.users = users
        self.advertiser: Optional[Advertiser] = None
        self.responder: Optional[ProbeResponder] = None
        self._stopping = threading.Event()
        self._thread: Optional[threading.Thread] = None

    def describe(self) -> Found:
        """What the server says now: its name in use and the current number of people."""
        name = self.advertiser.name() if self.advertiser is not None else self.found.name
        return replace(self.found, name=name, users=self.users())

    def start(self) -> tuple:
        """Start both ways; returns ``(sentence, warnings)``: what the server does, to
        print, and a sentence for each way that could not start."""
        warnings = []
        name, port = self.found.name, self.found.port
        responder = ProbeResponder(self.host, port, self.describe)
        try:
            responder.start()
            self.responder = responder
        except OSError as exc:
            warnings.append(f"cannot answer discovery probes on UDP {port}: "
                            f"{exc.strerror or exc}; clients on networks that drop multicast "
                            f"will need --host.")
        addresses = self._addresses()
        if addresses:
            advertiser = Advertiser(self.describe(), addresses,
                                    None if self.host in ANY_ADDRESS else [self.host])
            try:
                advertiser.start()
                self.advertiser = advertiser
            except (OSError, RuntimeError) as exc:
                warnings.append(f"cannot advertise on the LAN (mDNS): {exc}; clients can "
                                f"still find this server by its UDP probe or with --host.")
        elif not is_loopback(self.host):
            warnings.append("this machine has no LAN address, so it is not advertised on "
                            "the LAN (mDNS).")
        if self.advertiser is not None and self.responder is not None:
            sentence = (f"Advertising '{name}' on the LAN (mDNS) and answering discovery "
                        f"probes on UDP {port}")
        elif self.advertiser is not None:
            sentence = f"Advertising '{name}' on the LAN (mDNS) only"
        elif self.responder is not None:
            where = " (this machine only)" if is_loopback(self.host) else ""
            sentence = f"Answering discovery probes for '{name}' on UDP {port}{where}"
        else:
            sentence = "Not advertising: neither way of discovery could start"
        if self.advertiser is not None:
            self._thread = threading.Thread(target=self._keep_users_current,
                                            name="discovery-users", daemon=True)
            self._thread.start()
        return sentence, warnings

    def stop(self) -> None:
        """Withdraw the record (browsers drop the server at once) and stop answering
        probes; idempotent, bounded."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(USERS_EVERY + 1)
        if self.responder is not None:  # first, so no reply undoes the goodbye
            self.responder.stop()
        if self.advertiser is not None:
            self.advertiser.stop()

    def _addresses(self) -> list:
        """The addresses to advertise: none for loopback (no other machine could
        connect), the LAN addresses for 0.0.0.0, else ``--host``."""
        if is_loopback(self.host):
            return []
        if self.host in ANY_ADDRESS:
            return [ip for ip in lan_addresses() if not is_loopback(ip)]
        return [self.host]

    def _keep_users_current(self) -> None:
        while not self._stopping.wait(USERS_EVERY):
            try:
                self.advertiser.update(self.describe())  # sends only if it changed
            except Exception:  # never let the count end the advertising
                log.exception("updating the advertised number of people failed")
