"""Which kind a connection is, decided from its first bytes (PROTOCOL.md section 2).

A ``Detector`` is fed whatever ``recv`` returned, in any pieces, and decides as soon as
the bytes so far allow it, the same way for every split of the same bytes: the
decision is a function of the bytes seen (``decide``), and once a prefix decides, every
longer input decides the same (hypothesis checks both). Until then it buffers; once it
has decided, ``buffered`` holds every byte fed, for the kind's own reader.

The rule: first byte ``0x16`` is a TLS handshake. Otherwise the bytes are read while
they fit "optional spaces, ASCII digits, spaces": 64 such bytes (with a digit) are a
64-byte header; 10 such bytes (with a digit) followed by a byte that does not fit are
the 10-byte dialect; anything else (a letter first, a newline, digits then a word) is
the line dialect, and a line dialect's first line that is an HTTP request line is HTTP.
"""

from __future__ import annotations

import re
from typing import Optional

import protocol

TLS, FRAMED, TEN_BYTE, LINE, HTTP = "tls", "64-byte", "ten-byte", "line", "http"
KINDS = (TLS, FRAMED, TEN_BYTE, LINE, HTTP)

TEN_BYTE_HEADER = 10  # the select-based tutorials' f"{len(body):<10}"
TLS_HANDSHAKE = 0x16  # the first byte of a TLS record carrying a ClientHello
# How far an upper-case first line is read to see whether it is an HTTP request line;
# browsers' request lines are far shorter, and past it the line is a chat line.
HTTP_LINE_BOUND = 8192
_FITS = re.compile(rb" *[0-9]* *")  # what the start of a header can be
_HTTP_REQUEST = re.compile(rb"[A-Z]{3,10} [!-~]+ HTTP/[0-9]\.[0-9]\r?")


def decide(data: bytes) -> Optional[str]:
    """The kind the first bytes ``data`` make, or None if more are needed.

    Pure and monotone: if ``decide(p)`` is a kind, ``decide(p + more)`` is the same one.
    """
    if not data:
        return None
    if data[0] == TLS_HANDSHAKE:
        return TLS
    fitting = _FITS.match(data[:protocol.HEADER_SIZE]).end()
    if fitting == protocol.HEADER_SIZE:
        return FRAMED if _has_digit(data[:fitting]) else LINE
    if fitting == len(data):
        return None  # every byte so far fits a header: wait for more
    if fitting == TEN_BYTE_HEADER and _has_digit(data[:fitting]):
        return TEN_BYTE
    return _line_or_http(data)


def _has_digit(data: bytes) -> bool:
    return data.strip(b" ") != b""


def _line_or_http(data: bytes) -> Optional[str]:
    # Only a line that starts with an upper-case letter can be a request line.
    if not 0x41 <= data[0] <= 0x5A:
        return LINE
    end = data.find(b"\n", 0, HTTP_LINE_BOUND)
    if end < 0:
        return LINE if len(data) >= HTTP_LINE_BOUND else None
    return HTTP if _HTTP_REQUEST.fullmatch(data[:end]) else LINE


class Detector:
    """Feed a connection's first bytes; ``kind`` says what it is once it can.

    ``feed(data)`` buffers; ``kind`` is None until decided, then one of ``KINDS``;
    ``buffered`` is every byte fed so far (hand it to the kind's reader). Feeding after
    the decision only adds to ``buffered``.
    """

    __slots__ = ("_buf", "kind")  # one per connection

    def __init__(self):
        self._buf = bytearray()
        self.kind: Optional[str] = None

    @property
    def in_frame(self) -> bool:
        """Some bytes arrived (a started frame: the frame timeout runs)."""
        return bool(self._buf)

    @property
    def buffered(self) -> bytes:
        return bytes(self._buf)

    def feed(self, data: bytes) -> Optional[str]:
        """Buffer ``data``; return the kind if it is decided now (or was before)."""
        self._buf += data
        if self.kind is None:
            self.kind = decide(bytes(self._buf))
        return self.kind

    def closed(self) -> Optional[str]:
        """The peer closed: undecided bytes are a last line (``printf 42 | nc``), no
        bytes are no kind at all."""
        if self.kind is None and self._buf:
            self.kind = LINE
        return self.kind
