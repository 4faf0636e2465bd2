"""What each kind of connection is sent: every byte of each dialect's output.

A ``Dialect`` turns the server's messages (the structured protocol's dicts: events,
replies, errors) into the bytes one kind of connection reads:

* ``STRUCTURED``: 64-byte-framed JSON (``protocol``).
* ``PLAIN``: the 64-byte tutorial clients (v2): the line's UTF-8 text alone, no header,
  no terminator, as the tutorial servers send it (``Msg received``, ``alice: hi``,
  ``error: name taken``); several lines leaving in one send are separated by ``\\n``.
  ``PLAIN_FRAMED`` is v1's (``--plain-replies framed``): each line 64-byte framed.
* ``TEN_BYTE``: two 10-byte-framed frames per line, a name and a text (``alice`` +
  ``hi``; ``*`` + ``bob joined`` for notices, ``*`` + ``error: ...`` for errors).
* ``LINE``: each line ending in ``\\n`` (``nc``, ``telnet``).

A dialect's output for an event depends on the event alone (``event``), so a
broadcast encodes each event once per dialect (``delivery.Outgoing``); replies meant
for one member may name it (``reply(message, me)``), errors included (an ``error``
message reads ``error: ...``, ``*`` + ``error: ...`` in ten-byte frames).
"""

from __future__ import annotations

import functools
from typing import Optional

import protocol
from lanchat import codec, eventtext
from lanchat.dialects.detect import TEN_BYTE_HEADER

PLAIN_ACK = "Msg received"  # what the classic tutorial server answers every frame
NOTICE = "*"  # the ten-byte dialect's sender name for everything that is not a line


class Dialect:
    """How one kind of connection is written to. ``structured`` is True for JSON only.

    ``ack`` is what a connection of this kind gets for each line it sends (None:
    nothing, as the ten-byte and line tutorials' servers send nothing back).
    """

    name = "?"
    structured = False
    ack: Optional[bytes] = None

    def line(self, text: str) -> bytes:
        """One readable line (``Goodbye``, ``error: ...``) in this dialect."""
        raise NotImplementedError

    def event(self, event: dict) -> bytes:
        """A broadcast event; ``b""`` when this kind has nothing to show for it."""
        text = eventtext.describe(event)
        return b"" if text is None else self.line(text)

    def reply(self, message: dict, me: Optional[str] = None) -> Optional[bytes]:
        """A message meant for the member called ``me`` alone; None for nothing."""
        text = eventtext.describe(message, me)
        return None if text is None else self.line(text)

    def join(self, parts: list) -> bytes:
        """The pieces (from ``event``, ``reply``, ``ack``) of one send, in order."""
        return b"".join(parts)

    def stalled(self, seconds: float) -> Optional[bytes]:
        """The sentence a connection gets before the close when a frame it started did
        not finish within ``--frame-timeout`` (a learner's header promising more bytes
        than it sent); None: closed without one (the structured protocol, section 1)."""
        return self.line(f"error: a message did not arrive whole within {seconds:g} s "
                         f"(its header promised more bytes); closing")

    @functools.cached_property
    def farewell(self) -> Optional[bytes]:
        """The ``send_queue_full`` error a connection of this kind gets when the server
        drops it for not reading; made once per dialect, not once per connection."""
        return self.reply(protocol.error_message(
            protocol.SEND_QUEUE_FULL, "you were not reading fast enough; the server dropped you"))

    def __repr__(self) -> str:
        return f"<dialect {self.name}>"


class Structured(Dialect):
    """``client.py``'s protocol: every message a 64-byte-framed JSON object."""

    name = "structured"
    structured = True

    def line(self, text: str) -> bytes:
        return protocol.message_frame({"type": "system", "text": text})

    def event(self, event: dict) -> bytes:
        return protocol.encode_frame(codec.encode_event(event))

    def reply(self, message: dict, me: Optional[str] = None) -> Optional[bytes]:
        return protocol.message_frame(message)

    def stalled(self, seconds: float) -> Optional[bytes]:
        return None



class Plain(Dialect):
    """The 64-byte tutorial clients' replies: bare text (v2), or framed (v1)."""

    def __init__(self, framed: bool):
        self.framed = framed
        self.name = "plain (framed)" if framed else "plain"
        self.ack = self.line(PLAIN_ACK)

    def line(self, text: str) -> bytes:
        return protocol.encode_frame(text) if self.framed else text.encode("utf-8")

    def join(self, parts: list) -> bytes:
        if self.framed:
            return b"".join(parts)
        # Bare text has no terminator: lines sent together are told apart by \n.
        return b"\n".join([part for part in parts if part])


def ten_byte_frame(text: str) -> bytes:
    """One ten-byte frame: ``f"{len(body):<10}"`` then the UTF-8 body."""
    body = text.encode("utf-8")
    return str(len(body)).encode("ascii").ljust(TEN_BYTE_HEADER) + body


class TenByte(Dialect):
    """The select-based tutorials: each line two ten-byte frames, a name and a text."""

    name = "ten-byte"

    def line(self, text: str) -> bytes:
        if text.startswith("* "):  # an event line "* bob joined": the notice is the "*"
            text = text[2:]
        return ten_byte_frame(NOTICE) + ten_byte_frame(text)

    def _said(self, event: dict, me: Optional[str]) -> Optional[bytes]:
        sender, text, kind = event.get("from", "?"), event.get("text", ""), event.get("kind")
        if kind == "chat":
            return ten_byte_frame(sender) + ten_byte_frame(text)
        if kind == "private" and sender != me:
            return ten_byte_frame(sender) + ten_byte_frame(f"(private) {text}")
        return None

    def event(self, event: dict) -> bytes:
        if event.get("type") == "message":
            said = self._said(event, None)
            if said is not None:
                return said
        return super().event(event)

    def reply(self, message: dict, me: Optional[str] = None) -> Optional[bytes]:
        if message.get("type") == "message":
            said = self._said(message, me)
            if said is not None:
                return said
        return super().reply(message, me)


class Line(Dialect):
    """``nc`` and ``telnet``: every line ends in ``\\n``."""

    name = "line"

    def line(self, text: str) -> bytes:
        return text.encode("utf-8") + b"\n"

    def stalled(self, seconds: float) -> Optional[bytes]:
        # send("hello") without "\n", then recv(): the line never ends
        return self.line(f"error: no end of line within {seconds:g} s (each line ends "
                         f"with a newline, \\n); closing")


STRUCTURED = Structured()
PLAIN = Plain(framed=False)
PLAIN_FRAMED = Plain(framed=True)
TEN_BYTE = TenByte()
LINE = Line()


def http_answer(host: str, port: int) -> bytes:
    """The ``HTTP/1.0 400`` a browser (or curl) gets: what this port is, then close.

    ``host`` is the address the request reached (the connection's own end), which is
    one the reader can connect to, unlike the ``0.0.0.0`` the server listens on."""
    body = (f"This is a LAN chat server, not a web server.\n"
            f"Chat with: python client.py --host {host} --port {port} (or: nc {host} {port}, "
            f"one line per message).\n").encode("utf-8")
    head = ("HTTP/1.0 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode("ascii")
    return head + body
