"""The wire tap: every frame the client sends and receives, kept for showing.

The client's frames pass two places, one per direction: the connection's receive
thread takes each frame out of ``protocol.FrameDecoder.frames()`` (its header exactly
as received), and the sender thread writes each queued frame (built by
``protocol.encode_frame``, so its first 64 bytes are its header). Both hand the frame
to a ``WireTap`` here, which keeps it for the window's inspector pane (F12) or prints
it at once (``client.py --cli --wire``).

Rules:
- Bounded: a ring of ``max_frames`` frames, and at most ``max_body`` bytes of each
  body kept (the size is kept whole, so a view can say "... N more bytes"). Recording
  one frame is one lock, one slice and one append; formatting happens only when a
  frame is shown.
- Thread-safe: two threads record, the UI thread reads. Each frame gets an ``index``
  from one counter, in the order recorded; a sent frame is recorded just before it is
  written, so an answer is never recorded before the frame it answers.
- Never blocks on a reader and never raises into the network threads: a listener
  (``on_frame``) that fails is logged and dropped.
- The password a ``hello`` carries is kept as stars, one per byte (``masked``): what is
  shown ends up in screenshots and ``2>wire.log`` files, and the header's count still
  matches the body shown. Every other byte is kept as it crossed the wire.
"""

from __future__ import annotations

import collections
import itertools
import json
import logging
import re
import threading
import time
from dataclasses import dataclass
from typing import Callable, List, Optional, Union

import protocol

log = logging.getLogger("chat.wiretap")

SENT, RECEIVED = "sent", "received"
ARROWS = {SENT: "->", RECEIVED: "<-"}
MAX_FRAMES = 2000        # frames kept: minutes of a busy room, a whole quiet session
MAX_BODY = 4096          # body bytes kept per frame: a chat line or a welcome whole
LINE_BODY = 400          # body characters one --wire line shows before "... N more"
# The value of a JSON "password" key (escapes included), to show as stars.
_PASSWORD = re.compile(rb'("password"\s*:\s*")((?:[^"\\]|\\.)*)(")')


def masked(body: bytes) -> bytes:
    """``body`` with every ``"password"`` value's bytes turned into as many ``*``."""
    return _PASSWORD.sub(lambda m: m.group(1) + b"*" * len(m.group(2)) + m.group(3), body)


@dataclass(frozen=True)
class WireFrame:
    """One frame as it crossed the wire.

    ``header`` is the 64 header bytes as sent or received; ``body`` at most the first
    ``MAX_BODY`` bytes of the body; ``size`` the body's whole length (the declared one
    for a body the decoder skipped as too large: then ``skipped`` is True).
    """

    index: int
    time: float          # time.time() when recorded
    direction: str       # SENT or RECEIVED
    header: bytes
    body: bytes
    size: int
    skipped: bool = False

    @property
    def more(self) -> int:
        """Body bytes not kept (0 when the whole body is here)."""
        return 0 if self.skipped else self.size - len(self.body)

    def text(self) -> str:
        """The kept body as text (bytes that are not UTF-8 shown as U+FFFD)."""
        return self.body.decode("utf-8", "replace")

    def message(self) -> Optional[dict]:
        """The body as a JSON object, or None (a plain line, cut short, not JSON)."""
        if self.more or not self.body.startswith(b"{"):
            return None
        try:
            value = json.loads(self.text())
        except (ValueError, RecursionError):
            return None
        return value if isinstance(value, dict) else None


class WireTap:
    """A bounded, thread-safe ring of the frames sent and received.

    Args:
        max_frames: frames kept; older ones are dropped (``dropped`` counts them).
        max_body: body bytes kept per frame.
        on_frame: optional ``callable(WireFrame)`` called for each frame as it is
            recorded, in index order, on the recording thread (``--cli --wire``).
    """

    def __init__(self, max_frames: int = MAX_FRAMES, max_body: int = MAX_BODY,
                 on_frame: Optional[Callable[[WireFrame], None]] = None):
        self.max_frames = max_frames
        self.max_body = max_body
        self._on_frame = on_frame
        self._ring: "collections.deque[WireFrame]" = collections.deque(maxlen=max_frames)
        self._lock = threading.Lock()
        self._count = 0

    def record(self, direction: str, header: bytes,
               body: Union[bytes, memoryview, protocol.Oversized]) -> None:
        """Keep one frame (``body`` may be ``protocol.Oversized``: skipped unread)."""
        if isinstance(body, protocol.Oversized):
            kept, size, skipped = b"", body.declared, True
        else:
            kept, size, skipped = bytes(body[:self.max_body]), len(body), False
        now = time.time()
        with self._lock:
            frame = WireFrame(self._count, now, direction, bytes(header), kept, size, skipped)
            self._count += 1
            self._ring.append(frame)
            if self._on_frame is not None:
                try:
                    self._on_frame(frame)  # under the lock: lines come out in order
                except Exception:  # a listener's bug must not end the connection
                    log.exception("wire tap listener failed; it is dropped")
                    self._on_frame = None

    def record_sent(self, frame: bytes) -> None:
        """Keep one frame about to be written (built by ``protocol.encode_frame``)."""
        view = memoryview(frame)
        body = view[protocol.HEADER_SIZE:]
        if b'"password"' in frame:  # a hello with one: never shown as typed
            body = masked(bytes(body))
        self.record(SENT, view[:protocol.HEADER_SIZE], body)

    @property
    def count(self) -> int:
        """Frames recorded so far (the next frame's index)."""
        with self._lock:
            return self._count

    @property
    def dropped(self) -> int:
        """Frames recorded but no longer kept (the ring is full)."""
        with self._lock:
            return self._count - len(self._ring)

    def since(self, index: int) -> List[WireFrame]:
        """The kept frames whose index is ``index`` or later, oldest first."""
        with self._lock:
            new = min(self._count - index, len(self._ring))
            if new <= 0:  # the common case, checked every frame while shown: no copy
                return []
            return list(itertools.islice(reversed(self._ring), new))[::-1]


# ------------------------------------------------------------------ one line a frame

def header_text(header: bytes) -> str:
    """The header as printable ASCII in brackets, every byte kept (spaces too), so its
    64 bytes can be counted: ``[12` + 62 spaces + `]``; other bytes as ``\\xNN``."""
    return "[" + "".join(chr(b) if 32 <= b < 127 else f"\\x{b:02x}" for b in header) + "]"


def compact_body(frame: WireFrame, limit: int = LINE_BODY) -> str:
    """The body on one line, as it is on the wire (a JSON body already is one line),
    newlines and other control characters as ``\\n``, ``\\xNN``; cut at ``limit``
    characters with ``... N more bytes``."""
    if frame.skipped:
        return f"({frame.size} bytes, skipped: over the size limit)"
    text = frame.text()
    more = frame.more
    if len(text) > limit:
        more += len(text[limit:].encode("utf-8"))
        text = text[:limit]
    text = "".join(ch if ch.isprintable() or ch == " " else _escape(ch) for ch in text)
    return text + (f" ... {more} more bytes" if more else "")


_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(ch: str) -> str:
    """A control or format character as a visible escape (a line stays one line)."""
    if ch in _ESCAPES:
        return _ESCAPES[ch]
    return f"\\x{ord(ch):02x}" if ord(ch) < 256 else f"\\u{ord(ch):04x}"


def wire_line(frame: WireFrame) -> str:
    """One line for ``--cli --wire``: direction, time, the header, the body, e.g.
    ``-> 12:01:05.123 [49`` + 62 spaces + ``] {"type":"say","text":"hi",...}``.

    The header is printed whole between brackets, spaces included, so what is printed
    is what was on the wire.
    """
    clock = time.strftime("%H:%M:%S", time.localtime(frame.time))
    millis = int(frame.time * 1000) % 1000
    return (f"{ARROWS[frame.direction]} {clock}.{millis:03d} {header_text(frame.header)} "
            f"{compact_body(frame)}")
