"""Reading a decided connection: ten-byte frames and text lines, fed any chunks.

Both follow ``protocol.FrameDecoder``: ``feed(data)`` buffers, iterating ``events()``
yields what is complete, ``in_frame`` says a frame or line has started (the frame
timeout runs), and one exception family (``protocol.ProtocolError``) for bad input.

* ``TenByteDecoder`` is ``FrameDecoder`` with the select-based tutorials' 10-byte
  header (``f"{len(body):<10}"``): the same strict digits, the same limits.
* ``LineDecoder`` yields each line without its ``\\n`` (and a ``\\r`` before it). A
  line longer than ``max_line`` bytes is never buffered whole: its bytes are skipped up
  to the next newline and it yields one ``protocol.Oversized`` (the connection stays,
  as with a 64-byte frame over the limit); a line that never ends is the frame
  timeout's to close. ``end()`` gives a last line that had no newline when the peer
  closed (``printf 'done' | nc host 5050`` posts ``done``).
"""

from __future__ import annotations

from typing import Iterator, Optional, Union

import protocol
from lanchat.dialects.detect import TEN_BYTE_HEADER


class TenByteDecoder(protocol.FrameDecoder):
    """``FrameDecoder`` with a 10-byte header: feed chunks, iterate ``events()``."""

    header_size = TEN_BYTE_HEADER


class LineDecoder:
    """Incremental line splitter with a bound on a line's length.

    Args:
        max_line: the most bytes a line may have (without its newline).
    """

    __slots__ = ("max_line", "_buf", "_skipped", "_searched")  # one per connection

    def __init__(self, max_line: int = protocol.DEFAULT_MAX_FRAME):
        self.max_line = max_line
        self._buf = bytearray()
        self._skipped: Optional[int] = None  # bytes of an over-long line skipped so far
        self._searched = 0  # how far the buffer is known to hold no newline

    @property
    def in_frame(self) -> bool:
        """True while a line has started but not ended (for the frame timeout)."""
        return bool(self._buf) or self._skipped is not None

    def feed(self, data: bytes) -> None:
        """Buffer received bytes; nothing is split until ``events()`` is iterated."""
        self._buf += data

    def events(self) -> Iterator[Union[bytes, protocol.Oversized]]:
        """Yield every complete line (bytes, without ``\\r\\n``), or ``Oversized`` once
        for a line over ``max_line``, once its newline has come."""
        while True:
            end = self._buf.find(b"\n", self._searched)
            if self._skipped is not None:
                if end < 0:
                    self._skipped += len(self._buf)
                    self._buf.clear()
                    self._searched = 0
                    return
                declared = self._skipped + end
                del self._buf[:end + 1]
                self._skipped, self._searched = None, 0
                yield protocol.Oversized(declared)
                continue
            if end < 0:
                if len(self._buf) > self.max_line:
                    self._skipped = len(self._buf)
                    self._buf.clear()
                    self._searched = 0
                else:
                    self._searched = len(self._buf)
                return
            line = bytes(self._buf[:end])
            del self._buf[:end + 1]
            self._searched = 0
            if line.endswith(b"\r"):
                line = line[:-1]
            if len(line) > self.max_line:
                yield protocol.Oversized(len(line))
                continue
            yield line

    def end(self) -> Optional[bytes]:
        """The peer closed: the last line if it had no newline (None if there is none,
        or it was over the limit)."""
        line, self._buf = bytes(self._buf), bytearray()
        skipped, self._skipped = self._skipped, None
        if skipped is not None or not line or len(line) > self.max_line:
            return None
        return line[:-1] if line.endswith(b"\r") else line
