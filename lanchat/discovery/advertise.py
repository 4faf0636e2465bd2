"""The server's DNS-SD record on multicast DNS, with python-zeroconf.

``Advertiser`` registers ``<name>._lanchat._tcp.local.`` with the TXT properties of
``wire.txt_properties`` and the server's LAN addresses, updates the TXT when
``update`` is given a different ``Found`` (the caller limits how often), and on
``stop`` withdraws the record: zeroconf sends goodbye packets (TTL 0), so browsers drop
the server at once instead of when the record would expire.

Registering takes about 2.7 s (two seconds asking whether the name is in use, then
zeroconf probes it three times before announcing it), so ``start`` does it on a thread
and returns at once: the chat serves meanwhile.
Two servers with one name on the LAN do not fail: the later one asks for its name
first and takes ``name (2)`` (``name (3)``, ...) when another server answers;
zeroconf's own check renames it (``name-2``) should the ask have missed an answer.
``name()`` says the name in use. The record's TTL is ``RECORD_TTL``
(zeroconf's default for the service records is 75 minutes): a server that dies
without a goodbye leaves browsers' lists within that.
"""

from __future__ import annotations

import logging
import re
import socket
import threading
from dataclasses import replace
from typing import Optional

from zeroconf import DNSQuestionType, IPVersion, ServiceInfo, Zeroconf

from lanchat.discovery.found import Found
from lanchat.discovery.wire import MAX_NAME_BYTES, SERVICE_TYPE, txt_properties
from lanchat.discovery.zclog import quiet_tracebacks

log = logging.getLogger("chat.discovery")

RECORD_TTL = 120         # seconds browsers keep the record of a server gone silently
REGISTER_TIMEOUT = 10.0  # stop() waits at most this long for a registration under way
# Milliseconds to wait for an answer when asking whether a name is in use, with a
# multicast question: zeroconf's own probes ask for unicast answers, and two servers
# on one host share UDP 5353 (SO_REUSEPORT), so the answer often reached the wrong
# process and a duplicate went unnoticed (2 runs in 5); a multicast answer reaches
# every process. A free name costs the whole wait; a loaded machine's answer took
# over a second (a one-second look-around missed it in 2 runs of 4).
NAME_QUERY_MS = 2000
_HOST_LABEL = re.compile(r"[^A-Za-z0-9-]+")


def host_label() -> str:
    """A DNS label for this machine's own A record (``<hostname>-lanchat``)."""
    label = _HOST_LABEL.sub("-", socket.gethostname().split(".")[0]).strip("-") or "host"
    return f"{label[:40]}-lanchat"


def numbered_instance(name: str, number: int) -> str:
    """``name (number)``, the name cut so the whole stays one DNS label (63 bytes)."""
    suffix = f" ({number})"
    room = MAX_NAME_BYTES - len(suffix.encode("utf-8"))
    cut = name.encode("utf-8")[:room].decode("utf-8", "ignore").rstrip()
    return cut + suffix


class Advertiser:
    """One server's DNS-SD record, from ``start`` to ``stop``.

    Args:
        found: what the record says (name, port, users, tls, pw, fp; host unused).
        addresses: the IPv4 addresses to advertise (the server's LAN addresses).
        interfaces: where to send multicast DNS: ``None`` for every interface, or a
            list of addresses (the server's ``--host`` when it is a specific one).
    """

    def __init__(self, found: Found, addresses: list, interfaces: Optional[list] = None):
        self._found = found
        self._wanted = found.name  # the --name asked for, before any renaming
        self.addresses = list(addresses)
        self.interfaces = interfaces
        self._lock = threading.Lock()  # the record and zeroconf, between start/update/stop
        self._zeroconf: Optional[Zeroconf] = None
        self._info: Optional[ServiceInfo] = None
        self._registered = threading.Event()
        self._stopping = threading.Event()  # no more names asked about once set
        self._stopped = False
        self._thread: Optional[threading.Thread] = None

    def start(self) -> None:
        """Open zeroconf's sockets and register the record on a thread.

        Raises:
            OSError: multicast DNS cannot be used here (no multicast route, no
                interface); nothing is left open.
        """
        quiet_tracebacks()
        if self.interfaces is None:
            zc = Zeroconf(ip_version=IPVersion.V4Only)
        else:
            zc = Zeroconf(interfaces=self.interfaces, ip_version=IPVersion.V4Only)
        self._zeroconf = zc
        self._info = self._record(self._found)
        self._thread = threading.Thread(target=self._register, name="discovery-advertise",
                                        daemon=True)
        self._thread.start()

    def name(self) -> str:
        """The instance name in use (zeroconf may have renamed a duplicate)."""
        with self._lock:
            return self._found.name

    def registered(self, timeout: float) -> bool:
        """Wait up to ``timeout`` for the record to be on the network; True once it is."""
        return self._registered.wait(timeout)

    def update(self, found: Found) -> None:
        """Say ``found`` from now on (a new TXT); nothing happens if it is the same."""
        with self._lock:
            found = replace(found, name=self._found.name)
            if found == self._found or self._stopped:
                return
            self._found = found
            if not self._registered.is_set():
                return  # registration takes the newest record when it finishes
            self._info = self._record(found)
            info, zc = self._info, self._zeroconf
        try:
            zc.update_service(info)
        except Exception as exc:  # zeroconf closing or the network gone: next time
            log.warning("could not update the discovery record: %s", exc)

    def stop(self) -> None:
        """Withdraw the record (goodbye packets) and close zeroconf; idempotent, bounded."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(REGISTER_TIMEOUT)
        zc = self._zeroconf
        if zc is None:
            return
        try:
            if self._registered.is_set():
                zc.unregister_service(self._info)
        except Exception as exc:
            log.warning("could not withdraw the discovery record: %s", exc)
        finally:
            zc.close()

    # ------------------------------------------------------------ inside

    def _record(self, found: Found) -> ServiceInfo:
        return ServiceInfo(SERVICE_TYPE, f"{found.name}.{SERVICE_TYPE}",
                           addresses=[socket.inet_aton(ip) for ip in self.addresses],
                           port=found.port, properties=txt_properties(found),
                           server=f"{host_label()}.local.", host_ttl=RECORD_TTL,
                           other_ttl=RECORD_TTL)

    def _free_name(self, wanted: str) -> Optional[str]:
        """``wanted``, or ``wanted (2)``, ``(3)``, ... if another server answers for it;
        None if stopping meanwhile."""
        number = 1
        candidate = wanted
        while not self._stopping.is_set():
            taken = self._zeroconf.get_service_info(
                SERVICE_TYPE, f"{candidate}.{SERVICE_TYPE}", timeout=NAME_QUERY_MS,
                question_type=DNSQuestionType.QM)
            if taken is None:
                return candidate
            number += 1
            candidate = numbered_instance(wanted, number)
        return None

    def _register(self) -> None:
        info = self._info
        try:
            name = self._free_name(self._found.name)
            if name is None:
                return  # stopping
            if name != self._found.name:
                with self._lock:
                    self._found = replace(self._found, name=name)
                    self._info = info = self._record(self._found)
            self._zeroconf.register_service(info, allow_name_change=True)
        except Exception as exc:  # e.g. the network went away meanwhile
            log.warning("advertising on the LAN (mDNS) failed: %s; clients can still find "
                        "this server by its UDP probe answer or connect with --host", exc)
            return
        instance = info.name[:-len(SERVICE_TYPE) - 1]
        if instance != self._wanted:
            log.warning("another server on the LAN is called %r; advertising this one as %r",
                        self._wanted, instance)
        with self._lock:
            self._found = replace(self._found, name=instance)
            self._registered.set()
        log.info("advertised on the LAN (mDNS) as %r", instance)
        self._resend_if_changed(info)

    def _resend_if_changed(self, sent: ServiceInfo) -> None:
        """After registering: if ``update`` changed the record meanwhile, send it."""
        with self._lock:
            if self._stopped:
                return
            current = self._record(self._found)
            if current.properties == sent.properties:
                return
            self._info = current
            zc = self._zeroconf
        try:
            zc.update_service(current)
        except Exception as exc:
            log.warning("could not update the discovery record: %s", exc)
