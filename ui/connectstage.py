"""The connect screen and the search behind its list, opened and closed together.

While the connect screen shows, a ``lanchat.discovery.browse.Browser`` looks for chats
on the network (DNS-SD over multicast DNS, and the UDP probe for networks that drop
multicast). It is started when the screen opens and stopped when the screen goes
away (connected) or the window quits; a screen that comes back after a failed attempt
gets a fresh one.

The browser's threads never touch the screen: its ``on_change`` posts a
``FOUND_CHANGED`` pygame event (``pygame.event.post`` is the one pygame call made for
other threads), and the connect screen, on the main thread, reads ``servers()`` then
and redraws only if the rows differ. A burst of changes posts one event: ``Search``
posts only when the list was read since its last post (a flag the read clears). An
idle connect screen costs nothing beyond the browser's own threads.

``LANCHAT_PROBE_HOSTS`` (comma-separated addresses, read when the search starts) adds
unicast addresses to probe besides the broadcast ones: for a network whose routers
drop broadcast as well as multicast, and for tests on loopback (docs/gui.md).
"""

from __future__ import annotations

import logging
import threading
from typing import Callable, Optional

import pygame

import protocol
from lanchat.discovery.browse import Browser, probe_hosts_from_env
from lanchat.tls.pins import PinStore, server_key

from ui.connectscreen import ConnectScreen
from ui.foundchoice import FOUND_CHANGED
from ui.foundlist import FoundList

log = logging.getLogger("chat.ui.discovery")

def default_browser(port: int, on_change: Callable[[], None]) -> Browser:
    """The real search: probes ``port`` (and mDNS), calls ``on_change`` on changes."""
    return Browser(port=port, probe_hosts=probe_hosts_from_env(), on_change=on_change)


class Search:
    """A browser and the one ``FOUND_CHANGED`` event its changes wake the loop with:
    the source of a ``FoundList`` (``servers()``), and its ``on_change``."""

    def __init__(self, browser_factory: Callable, port: int):
        self._posted = threading.Event()   # an event is on its way, the list not read yet
        self.browser = browser_factory(port, self.changed)

    def changed(self) -> None:
        """``on_change``, on the browser's threads: post the event, unless one waits."""
        if self._posted.is_set():
            return
        self._posted.set()
        try:
            posted = pygame.event.post(pygame.event.Event(FOUND_CHANGED))
        except pygame.error:  # a full queue, or the window is closing
            posted = False
        if posted is False:  # nobody will read the list for this one: the next may post
            self._posted.clear()

    def servers(self) -> list:
        """The browser's list (the main thread reads it: the next change posts again)."""
        self._posted.clear()
        return self.browser.servers()


class ConnectStage:
    """Opens connect screens with a running search behind their list.

    Args:
        browser_factory: ``(port, on_change) -> browser`` (``start``, ``stop``,
            ``servers``), or None for a connect screen without the list.
        port: the port to probe (the window's ``--port``, else the default).
        fingerprint: ``--fingerprint``, for what the screens connect to by hand.
        pins: the pinned certificates, to warn about a server advertising another.
    """

    def __init__(self, browser_factory: Optional[Callable] = default_browser,
                 port: Optional[int] = None, fingerprint: Optional[str] = None,
                 pins: Optional[PinStore] = None):
        self.browser_factory = browser_factory
        self.port = port or protocol.DEFAULT_PORT
        self.fingerprint = fingerprint
        self.pins = pins or PinStore()
        self.browser = None

    def open(self, *args, **kwargs) -> ConnectScreen:
        """A ``ConnectScreen(*args, **kwargs)`` with the list of chats found, searching
        (and ``--fingerprint``, which the screen's requests carry unless a chat picked
        from the list brings its own)."""
        kwargs["fingerprint"] = self.fingerprint
        if self.browser_factory is None:
            return ConnectScreen(*args, **kwargs)
        self.close()
        problem, search = "", None
        try:
            search = Search(self.browser_factory, self.port)
            self.browser = search.browser
            self.browser.start()
        except Exception as exc:  # noqa: BLE001  zeroconf's and the OS's errors alike
            log.warning("cannot look for chats on the network: %s", exc)
            problem, search = str(exc) or type(exc).__name__, None
            self.close()
        found = FoundList(search, pinned=self._pinned, port=self.port, problem=problem)
        return ConnectScreen(*args, found=found, **kwargs)

    def _pinned(self, host: str, port: int) -> Optional[str]:
        return self.pins.get(server_key(host, port))

    def close(self) -> None:
        """Stop the search (the screen is gone, or the window closes); idempotent."""
        browser, self.browser = self.browser, None
        if browser is not None:
            try:
                browser.stop()
            except Exception as exc:  # noqa: BLE001  closing must not fail the window
                log.warning("stopping the search failed: %s", exc)
