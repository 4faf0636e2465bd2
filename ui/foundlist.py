"""The connect screen's list of chats found on the network: a view model, no pygame.

It reads a source of servers (``lanchat.discovery.browse.Browser``, or anything with
``servers() -> [Found]``) when told to (``refresh()``: the app calls it when the
browser says the list changed), and keeps what the screen shows:

* ``rows``, one per server in the source's order (sorted by name, then address), each
  with the sentences drawn for it (address, how many people) and ``warning`` when the
  server advertises a certificate (``fp``) other than the one pinned for its address:
  someone may be pretending to be it, and the screen says so loudly;
* ``selected``, the row the keyboard is on, kept on the same server (by ``Found.key``)
  while others come and go; a server that goes away takes its row with it and the
  selection moves to the row now in its place;
* ``version``, bumped on every change the screen must redraw;
* while nothing is found, a sentence: "Looking..." for the first ``SEARCH_SECONDS``,
  then why there may be nothing and what to check (``empty_text``).

Pins are read through ``pinned(host, port) -> fingerprint or None`` (the app passes
the real pin store), and the list never touches the network itself.
"""

from __future__ import annotations

import time
from typing import Callable, List, NamedTuple, Optional

import protocol
from lanchat.discovery.found import Found
from lanchat.text import one_line
from lanchat.tls.pins import same_fingerprint, server_key

SEARCH_SECONDS = 3.0  # "Looking..." this long before saying why nothing was found
NAME_MAX = 64         # characters of a server's name shown (the row cuts it to fit too)


class FoundRow(NamedTuple):
    """One server as the list shows it."""

    found: Found
    name: str              # its name, cleaned for drawing (the server chooses it)
    address: str           # host:port, as the fields will hold it
    people: str            # "empty", "1 person", "12 people"
    warning: bool          # it advertises a certificate other than the pinned one
    pinned: Optional[str]  # the pinned fingerprint for its address, if any


def people_text(users: int) -> str:
    """How many are in the chat, in words."""
    if users <= 0:
        return "empty"
    return "1 person" if users == 1 else f"{users} people"


def empty_sentence(port: int) -> str:
    """What to check when no chat was found (after the search had time)."""
    return (f"No chats found on this network yet. Check that this computer is on the same "
            f"network as the server (not a guest Wi-Fi that keeps devices apart), and that "
            f"the server's firewall lets in TCP and UDP {port} and UDP 5353 (mDNS). "
            f"Or type its address below.")


def no_search_sentence(reason: str) -> str:
    """What to do when looking for chats could not start at all."""
    return (f"Cannot look for chats on this network ({reason}). Type the server's "
            f"address below.")


class FoundList:
    """The rows, the selection and the sentence of the connect screen's list.

    Args:
        source: has ``servers()`` returning the ``Found`` list (thread-safe, cheap).
        pinned: ``(host, port) -> fingerprint or None``, the pin for an address.
        port: the port the search probes (named in the sentence about firewalls).
        clock: monotonic seconds (tests pass their own).
        problem: why searching could not start (a sentence fragment), or "".
    """

    def __init__(self, source, pinned: Callable[[str, int], Optional[str]] = lambda h, p: None,
                 port: int = protocol.DEFAULT_PORT, clock: Callable[[], float] = time.monotonic,
                 problem: str = ""):
        self.source = source
        self.pinned = pinned
        self.port = port
        self.clock = clock
        self.problem = problem
        self.started = clock()
        self.rows: List[FoundRow] = []
        self.selected: Optional[int] = None
        self.version = 0
        self._seen: Optional[list] = None  # the source's last list, to skip no-op refreshes
        self.refresh()

    # ------------------------------------------------------------------ reading the source

    def refresh(self) -> bool:
        """Read the source again; True if what is shown changed (``version`` bumped)."""
        servers = list(self.source.servers()) if self.source is not None else []
        if servers == self._seen:
            return False
        self._seen = servers
        key = self.selected_found.key if self.selected_found is not None else None
        self.rows = [self._row(found) for found in servers]
        if key is not None:
            keys = [row.found.key for row in self.rows]
            if key in keys:
                self.selected = keys.index(key)
            elif self.rows:  # gone: the row now in its place (or the last one)
                self.selected = min(self.selected, len(self.rows) - 1)
            else:
                self.selected = None
        self.version += 1
        return True

    def _row(self, found: Found) -> FoundRow:
        try:
            pin = self.pinned(found.host, found.port)
        except ValueError:  # a damaged pin file: connecting says so in full
            pin = None
        warning = bool(pin and found.fp and not same_fingerprint(pin, found.fp))
        return FoundRow(found, one_line(found.name, NAME_MAX) or found.host,
                        server_key(found.host, found.port), people_text(found.users), warning, pin)

    # ------------------------------------------------------------------ the selection

    @property
    def selected_found(self) -> Optional[Found]:
        """The server the selection is on, or None."""
        if self.selected is None or not 0 <= self.selected < len(self.rows):
            return None
        return self.rows[self.selected].found

    @property
    def selected_row(self) -> Optional[FoundRow]:
        """The selected row, or None."""
        return self.rows[self.selected] if self.selected_found is not None else None

    def select(self, index: Optional[int]) -> bool:
        """Put the selection on row ``index`` (None: no selection); True if it moved."""
        if index is not None and not 0 <= index < len(self.rows):
            return False
        if index == self.selected:
            return False
        self.selected = index
        self.version += 1
        return True

    def move(self, step: int) -> bool:
        """Move the selection ``step`` rows (from nothing: the first or the last row).

        Returns:
            True if it moved; False at either end, or with no rows.
        """
        if not self.rows:
            return False
        if self.selected is None:
            return self.select(0 if step > 0 else len(self.rows) - 1)
        target = self.selected + step
        return 0 <= target < len(self.rows) and self.select(target)

    # ------------------------------------------------------------------ the sentence

    @property
    def searching(self) -> bool:
        """Still in the first seconds of the search, nothing found yet."""
        return (not self.rows and not self.problem
                and self.clock() - self.started < SEARCH_SECONDS)

    def empty_text(self) -> str:
        """The sentence shown instead of rows ("" when there are rows)."""
        if self.rows:
            return ""
        if self.problem:
            return no_search_sentence(self.problem)
        if self.searching:
            return "Looking for chats on this network\u2026"
        return empty_sentence(self.port)

    def next_change_in(self) -> float:
        """Seconds until the sentence changes by itself (the end of the search)."""
        if self.searching:
            return max(0.0, SEARCH_SECONDS - (self.clock() - self.started))
        return 3600.0
