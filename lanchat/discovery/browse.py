"""Finding chat servers from the client: a live list (``Browser``) or one look (``discover``).

Two ways run side by side and their sightings merge by ``Found.key`` (address and
port), so a server seen both ways is one entry with ``via`` both:

* multicast DNS: python-zeroconf's ``ServiceBrowser`` on ``_lanchat._tcp.local.``;
  a service that says goodbye (its server stopped) drops off at once, its probe
  sighting with it; one that dies silently, when its record expires;
* the UDP probe ``LANCHAT? 2``, for networks that drop multicast: sent to the
  limited broadcast, to each IPv4 interface's broadcast address and to any
  ``probe_hosts``; sent a few times quickly at start (a datagram may be lost), then
  every ``PROBE_INTERVAL``. A server found only this way drops off after
  ``probe_forget(PROBE_INTERVAL)`` seconds without a reply (a few rounds).

If multicast DNS cannot start (no multicast route), the probe still runs; nothing
here raises into the caller after ``start``.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import socket
import threading
import time
from dataclasses import replace
from typing import Callable, Iterable, Optional, Tuple

from zeroconf import IPVersion, ServiceBrowser, ServiceInfo, ServiceStateChange, Zeroconf

import protocol
from lanchat.discovery.found import Found
from lanchat.discovery.wire import (MAX_REPLY_BYTES, PROBE_REQUEST, SERVICE_TYPE,
                                    found_from_txt, instance_of, parse_reply)
from lanchat.discovery.zclog import quiet_tracebacks
from lanchat.errors import BadAnnouncement
from lanchat.netaddr import ipv4_interfaces

log = logging.getLogger("chat.discovery")

PROBE_START = (0.0, 0.3, 0.8, 1.5)  # first probes (seconds after start): a lost one is retried
PROBE_INTERVAL = 3.0                # then one round every this often
INFO_TIMEOUT_MS = 1500              # waiting for a service's SRV, TXT and A records
CACHE_REFRESH = 1.0                 # seconds between re-reads of the records zeroconf holds
STOP_TIMEOUT = 2.0                  # stop() waits at most this long for each thread
# Servers heard by probe kept at once: anyone on the LAN can send replies (from
# spoofed addresses, naming any port), and each would be an entry until forgotten.
MAX_PROBED = 256
LIMITED_BROADCAST = "255.255.255.255"


def probe_forget(interval: float) -> float:
    """How long a probe-only server may stay silent before it drops off: three missed
    rounds of ``interval`` seconds, and a second for the reply on its way."""
    return 3 * interval + 1.0


PROBE_HOSTS_ENV = "LANCHAT_PROBE_HOSTS"


def probe_hosts_from_env(environ=os.environ) -> Tuple[str, ...]:
    """The extra addresses ``LANCHAT_PROBE_HOSTS`` names (none without it): the
    connect screen's search and ``client.py --discover`` both probe them."""
    return tuple(h.strip() for h in environ.get(PROBE_HOSTS_ENV, "").split(",") if h.strip())


def probe_targets(port: int, probe_hosts: Iterable[str] = ()) -> list:
    """Where a round of probes goes: ``(address, port)`` for the limited broadcast,
    each interface's broadcast address, and each of ``probe_hosts`` (``"HOST"`` or
    ``"HOST:PORT"``, the port defaulting to ``port``)."""
    targets = [(LIMITED_BROADCAST, port)]
    for interface in ipv4_interfaces():
        if interface.network.prefixlen < 31:  # /31 and /32 have no broadcast address
            targets.append((str(interface.network.broadcast_address), port))
    for entry in probe_hosts:
        host, _, number = entry.rpartition(":") if entry.count(":") == 1 else (entry, "", "")
        targets.append((host, int(number)) if number else (entry, port))
    return list(dict.fromkeys(targets))


def merge(sightings: Iterable[tuple]) -> list:
    """One ``Found`` per key from ``(found, heard_at)`` sightings: the most recently
    heard one's fields, ``via`` the union of all; sorted by name, then host, then port."""
    newest: dict = {}
    via: dict = {}
    for found, heard in sightings:
        if found.key not in newest or heard >= newest[found.key][1]:
            newest[found.key] = (found, heard)
        via[found.key] = via.get(found.key, frozenset()) | found.via
    merged = [replace(found, via=via[key]) for key, (found, _) in newest.items()]
    return sorted(merged, key=lambda f: (f.name.casefold(), f.name, _host_order(f.host), f.port))


def _host_order(host: str) -> tuple:
    try:
        return (0, int(ipaddress.ip_address(host)))
    except ValueError:
        return (1, host)


def _pick_address(addresses: list) -> Optional[str]:
    """Of a service's IPv4 addresses, one on a network of this machine if there is one."""
    networks = [interface.network for interface in ipv4_interfaces()]
    for address in addresses:
        if any(ipaddress.ip_address(address) in network for network in networks):
            return address
    return addresses[0] if addresses else None


class Browser:
    """A live list of the chat servers on the LAN, found both ways and merged.

    Args:
        port: the UDP port probes go to (the servers' chat port number).
        probe_hosts: addresses to probe besides the broadcast ones, ``"HOST"`` or
            ``"HOST:PORT"`` (tests on loopback give ``"127.0.0.1"``).
        on_change: called (from a background thread, with no lock held) when the list
            of ``servers()`` changes.
        probe_interval: seconds between probe rounds after the first few; a
            probe-only server drops off after ``probe_forget(probe_interval)``.
    """

    def __init__(self, *, port: int = protocol.DEFAULT_PORT, probe_hosts: Iterable[str] = (),
                 on_change: Optional[Callable[[], None]] = None,
                 probe_interval: float = PROBE_INTERVAL):
        self.port = port
        self.probe_interval = probe_interval
        self.probe_hosts = tuple(probe_hosts)
        self.on_change = on_change
        self._lock = threading.Lock()       # the sightings and the merged list
        self._stop_lock = threading.Lock()  # one stop() closes at a time
        self._mdns: dict = {}     # service name -> (Found, heard_at)
        self._probed: dict = {}   # key -> (Found, heard_at)
        self._servers: list = []  # the merged list servers() returns
        self._stopping = threading.Event()
        self._started = False
        self._zeroconf: Optional[Zeroconf] = None
        self._browser: Optional[ServiceBrowser] = None
        self._socket: Optional[socket.socket] = None
        self._prober: Optional[threading.Thread] = None
        self._refresher: Optional[threading.Thread] = None

    # ------------------------------------------------------------ public

    def start(self) -> None:
        """Start browsing multicast DNS and probing; a way that cannot start is logged
        and left out (the other still runs). Starting twice does nothing."""
        if self._started:
            return
        self._started = True
        quiet_tracebacks()
        try:
            self._zeroconf = Zeroconf(ip_version=IPVersion.V4Only)
            self._browser = ServiceBrowser(self._zeroconf, SERVICE_TYPE,
                                           handlers=[self._on_service])
            self._refresher = threading.Thread(target=self._refresh_loop,
                                               args=(self._zeroconf,),
                                               name="discovery-refresh", daemon=True)
            self._refresher.start()
        except (OSError, RuntimeError) as exc:  # no interface or no multicast route
            log.warning("multicast DNS browsing is off: %s", exc)
            self._close_zeroconf()
        try:
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
            sock.bind(("", 0))
        except OSError as exc:
            log.warning("discovery probes are off: %s", exc)
            return
        self._socket = sock
        self._prober = threading.Thread(target=self._probe_loop, args=(sock,),
                                        name="discovery-probe", daemon=True)
        self._prober.start()

    def stop(self) -> None:
        """Stop both ways and close their sockets; idempotent, waits a bounded time.
        Called from ``on_change`` (a discovery thread, which cannot wait for itself),
        it returns at once and the closing finishes on a thread of its own."""
        self._stopping.set()
        if threading.current_thread() in (self._browser, self._prober, self._refresher):
            threading.Thread(target=self.stop, name="discovery-stop", daemon=True).start()
            return
        with self._stop_lock:
            if self._refresher is not None:
                self._refresher.join(STOP_TIMEOUT)
            self._close_zeroconf()
            if self._prober is not None:
                self._prober.join(STOP_TIMEOUT)
            if self._socket is not None:
                self._socket.close()

    def servers(self) -> list:
        """The servers found now: ``[Found]``, one per key, sorted by name then host."""
        with self._lock:
            return list(self._servers)

    # ------------------------------------------------------------ multicast DNS

    def _close_zeroconf(self) -> None:
        browser, zc = self._browser, self._zeroconf
        self._browser = self._zeroconf = None
        if browser is not None:
            browser.cancel()
        if zc is not None:
            zc.close()

    def _on_service(self, zeroconf: Zeroconf, service_type: str, name: str,
                    state_change: ServiceStateChange) -> None:
        """ServiceBrowser's handler (its thread): look the service up, or drop it."""
        if state_change is ServiceStateChange.Removed:
            self._update(lambda: self._forget_service(name))
            return
        if self._stopping.is_set():
            return
        try:
            info = zeroconf.get_service_info(service_type, name, timeout=INFO_TIMEOUT_MS)
        except Exception as exc:  # zeroconf closing under us; the next change retries
            log.debug("looking up %s failed: %s", name, exc)
            return
        self._take_info(name, info)

    def _take_info(self, name: str, info: Optional[ServiceInfo], known_only: bool = False) -> None:
        """Record what a service's records say now (if they say something valid);
        ``known_only``: only if the service is still listed (a refresh must not bring
        back a service that said goodbye: its records linger a second in the cache)."""
        if info is None or info.port is None:
            return
        host = _pick_address(info.parsed_addresses(IPVersion.V4Only))
        if host is None:
            return
        try:
            found = found_from_txt(info.properties, instance_of(name), host, info.port)
        except BadAnnouncement as exc:
            log.debug("ignoring %s: %s", name, exc)
            return
        now = time.monotonic()

        def record() -> None:
            known = self._mdns.get(name)
            if known is None and known_only:
                return
            if known is None or known[0] != found:  # a new stamp only for news
                self._mdns[name] = (found, now)
        self._update(record)

    def _refresh_loop(self, zc: Zeroconf) -> None:
        """Re-read the known services' records from zeroconf's cache every
        ``CACHE_REFRESH`` seconds: python-zeroconf does not always report a TXT change
        as ``Updated`` (not when the new TXT equals one it saw before, e.g. users going
        1 -> 0 -> 1), but its cache always holds the newest records."""
        while not self._stopping.wait(CACHE_REFRESH):
            with self._lock:
                names = list(self._mdns)
            for name in names:
                info = ServiceInfo(SERVICE_TYPE, name)
                try:
                    if not info.load_from_cache(zc):
                        continue
                except Exception as exc:  # zeroconf closing under us
                    log.debug("reading %s from the cache failed: %s", name, exc)
                    return
                self._take_info(name, info, known_only=True)

    # ------------------------------------------------------------ UDP probe

    def _probe_loop(self, sock: socket.socket) -> None:
        started = time.monotonic()
        due = [started + offset for offset in PROBE_START]  # when the next rounds go
        while not self._stopping.is_set():
            now = time.monotonic()
            if now >= due[0]:
                self._send_round(sock)
                self._update(lambda: self._forget_silent(now))
                due.pop(0)
                if not due:
                    due.append(now + self.probe_interval)
            sock.settimeout(max(0.01, min(0.25, due[0] - time.monotonic())))
            try:
                datagram, sender = sock.recvfrom(MAX_REPLY_BYTES + 1)
            except socket.timeout:
                continue
            except OSError:  # closed by stop(), or an ICMP error from a unicast probe
                if self._stopping.is_set():
                    return
                continue
            try:
                found = parse_reply(datagram, sender[0])
            except BadAnnouncement as exc:
                log.debug("ignoring a reply from %s: %s", sender[0], exc)
                continue
            heard = time.monotonic()
            self._update(lambda: self._heard(found, heard))

    def _send_round(self, sock: socket.socket) -> None:
        try:
            targets = probe_targets(self.port, self.probe_hosts)
        except (OSError, ValueError) as exc:
            log.debug("no probe targets: %s", exc)
            return
        for target in targets:
            try:
                sock.sendto(PROBE_REQUEST, target)
            except OSError as exc:  # e.g. no route for the limited broadcast
                log.debug("probe to %s:%s not sent: %s", *target, exc)

    def _heard(self, found: Found, heard: float) -> None:
        """A probe reply: a known server's news, or a new one while there is room."""
        if found.key in self._probed or len(self._probed) < MAX_PROBED:
            self._probed[found.key] = (found, heard)

    def _forget_service(self, name: str) -> None:
        """A service said goodbye: its server stopped, so its probe sighting goes too
        (a reply to a later probe brings it back if it is still there)."""
        sighting = self._mdns.pop(name, None)
        if sighting is not None:
            self._probed.pop(sighting[0].key, None)

    def _forget_silent(self, now: float) -> None:
        for key in [key for key, (_, heard) in self._probed.items()
                    if now - heard > probe_forget(self.probe_interval)]:
            del self._probed[key]

    # ------------------------------------------------------------ the list

    def _update(self, change: Callable[[], object]) -> None:
        """Apply ``change`` to the sightings under the lock; tell ``on_change`` if the
        merged list is different afterwards."""
        with self._lock:
            change()
            merged = merge(list(self._mdns.values()) + list(self._probed.values()))
            changed = merged != self._servers
            self._servers = merged
        if changed and self.on_change is not None and not self._stopping.is_set():
            try:
                self.on_change()
            except Exception:  # the caller's bug must not stop discovery
                log.exception("discovery on_change failed")


def discover(timeout: float = 2.0, *, port: int = protocol.DEFAULT_PORT,
             probe_hosts: Iterable[str] = ()) -> list:
    """Look for ``timeout`` seconds both ways; the servers found, as ``Browser.servers``."""
    browser = Browser(port=port, probe_hosts=probe_hosts)
    browser.start()
    try:
        time.sleep(timeout)  # the servers answer within it; the length is the caller's
        return browser.servers()
    finally:
        browser.stop()
