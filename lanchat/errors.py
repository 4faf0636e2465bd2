"""Every exception the chat's own code raises, in one place.

The wire's errors (``ProtocolError`` and its two kinds: ``FrameError`` closes the
connection, ``MessageError`` answers and keeps it) belong to the wire format and are
defined in ``protocol.py``; they are re-exported here so a reader finds every error
the package raises in this one module. Anything else escaping a component is a bug.
"""

from __future__ import annotations

from protocol import FrameError, MessageError, ProtocolError

__all__ = ["ProtocolError", "FrameError", "MessageError", "ConnectError", "JournalClosed",
           "HistoryUnusable", "BadAnnouncement", "StoreUnavailable"]


class ConnectError(Exception):
    """Connecting failed; ``str()`` is a sentence a person can act on."""


class JournalClosed(RuntimeError):
    """The journal was closed (the server is shutting down); nothing more is stored."""


class HistoryUnusable(Exception):
    """The history database cannot be opened or is not one; ``str()`` says why, as a
    sentence for the person who gave ``--db``."""


class BadAnnouncement(ValueError):
    """A discovery announcement (a probe reply or a DNS-SD TXT record) that is not a
    valid one; ``str()`` says what is wrong with it. It is dropped, never shown."""


class StoreUnavailable(Exception):
    """The shared store of a group of servers (Redis, ``--redis``) cannot be reached
    now; ``str()`` says so as a sentence. The line or join is refused with
    ``unavailable`` and may be tried again later."""
