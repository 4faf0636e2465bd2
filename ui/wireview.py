"""The wire inspector's view model (F12): the frames shown, filtered, paused, linked.

No pygame here, so the rules are tested directly; ``ui/wirepane.py`` draws it.

- Closed (the default), it does nothing: the connection's ``WireTap`` keeps recording
  into its bounded ring (one append a frame), and nothing is read, parsed or formatted.
  Opening it takes what the ring holds, so the session's first frames (hello,
  welcome) are there when a learner opens it later.
- Paused, the list stands still while the tap goes on recording; ``waiting`` counts
  what resuming will bring (frames that fell out of the ring meanwhile are counted
  in ``lost``).
- Bounded: at most the tap's ``max_frames`` frames, oldest dropped first.
- Search: typing filters to the frames whose direction, type or body contains the
  text (case ignored).
- Links: a ``say`` or ``ping`` and the ``ack``, ``error`` or ``pong`` carrying its
  ``id`` point at each other; following a link selects the other frame (clearing a
  filter that hides it) and scrolls it into view.
"""

from __future__ import annotations

import json
from typing import Dict, List, Optional, Tuple

from lanchat.client.wiretap import RECEIVED, SENT, WireFrame, WireTap

REQUESTS = frozenset({"say", "ping"})              # frames sent with an id ...
ANSWERS = frozenset({"ack", "error", "pong"})      # ... and the answers that repeat it
MAX_LINES = 300          # lines of a pretty-printed body shown before "... N more lines"


class WireView:
    """The inspector's state: frames taken from a ``WireTap``, filter, pause, selection.

    Args:
        tap: the connection's tap (``None``: a connection without one shows nothing).
    """

    def __init__(self, tap: Optional[WireTap]):
        self.tap = tap
        self.open = False
        self.paused = False
        self.query = ""
        self.frames: List[WireFrame] = []
        self.selected: Optional[int] = None  # a frame's index
        self.top = 0            # first row shown, in ``shown()``
        self.follow = True      # keep the newest row in view
        self.lost = 0           # frames the tap dropped before they were taken
        self.version = 0        # bumped on every visible change
        self._next = 0          # the tap index to take next
        self._messages: Dict[int, Optional[dict]] = {}
        self._ids: Dict[Tuple[str, str], int] = {}   # ("request"|"answer", id) -> index
        self._shown: Optional[List[WireFrame]] = None  # cached until the list or filter changes

    # ------------------------------------------------------------------ taking frames

    def toggle(self) -> None:
        """Open or close (F12)."""
        self.open = not self.open
        self.refresh()
        self.version += 1

    def set_paused(self, paused: bool) -> None:
        """Pause (the list stands still) or resume (it catches up)."""
        self.paused = paused
        self.refresh()
        self.version += 1

    @property
    def waiting(self) -> int:
        """Frames recorded since the list stood still (while paused)."""
        return self.tap.count - self._next if self.tap is not None else 0

    def refresh(self) -> bool:
        """Take the frames recorded since the last look (open and not paused only);
        True if the list changed."""
        if not self.open or self.paused or self.tap is None:
            return False
        new = self.tap.since(self._next)
        if not new:
            return False
        self.lost += new[0].index - self._next
        self._next = new[-1].index + 1
        for frame in new:
            self._index_ids(frame)
        self.frames.extend(new)
        excess = len(self.frames) - self.tap.max_frames
        if excess > 0:
            for frame in self.frames[:excess]:
                self._messages.pop(frame.index, None)
            del self.frames[:excess]
            self.top = max(0, self.top - excess)
            if len(self._ids) > 2 * self.tap.max_frames:  # forget the ids of frames gone
                first = self.frames[0].index
                self._ids = {key: at for key, at in self._ids.items() if at >= first}
        self._shown = None
        self.version += 1
        return True

    def message(self, frame: WireFrame) -> Optional[dict]:
        """The frame's body as a JSON object (parsed once), or None."""
        if frame.index not in self._messages:
            self._messages[frame.index] = frame.message()
        return self._messages[frame.index]

    def _index_ids(self, frame: WireFrame) -> None:
        message = self.message(frame)
        if message is None or not isinstance(message.get("id"), (str, int)):
            return
        kind = message.get("type")
        if frame.direction == SENT and kind in REQUESTS:
            self._ids[("request", str(message["id"]))] = frame.index
        elif frame.direction == RECEIVED and kind in ANSWERS:
            self._ids.setdefault(("answer", str(message["id"])), frame.index)

    # ------------------------------------------------------------------ what is shown

    def set_query(self, query: str) -> None:
        """Show only the frames matching ``query`` (empty: all)."""
        if query != self.query:
            self.query = query
            self._shown = None
            self.top, self.follow = 0, True
            self.version += 1

    def shown(self) -> List[WireFrame]:
        """The frames the filter lets through, oldest first."""
        if self._shown is None:
            wanted = self.query.casefold()
            self._shown = [f for f in self.frames if not wanted or wanted in self.search_text(f)]
        return self._shown

    def search_text(self, frame: WireFrame) -> str:
        """What the filter looks in: the direction, the type and the body."""
        word = "sent" if frame.direction == SENT else "received"
        return f"{word} {self.summary(frame)} {frame.text()}".casefold()

    def summary(self, frame: WireFrame) -> str:
        """A row's text: the type and what matters of the body (``say "hi" id=x-1``)."""
        if frame.skipped:
            return f"(skipped: {frame.size} bytes, over the limit)"
        message = self.message(frame)
        if message is None:
            text = frame.text().replace("\n", " \u23ce ")
            return f'"{text[:80]}"' if frame.size else "(keepalive)"
        kind = str(message.get("type"))
        parts = [kind]
        for key in ("text", "name", "state", "code", "message", "from", "room"):
            value = message.get(key)
            if isinstance(value, str) and value:
                parts.append(f'"{value[:60]}"' if key in ("text", "message") else f"{key}={value}")
        for key in ("id", "seq"):
            if key in message and message[key] is not None:
                parts.append(f"{key}={message[key]}")
        return " ".join(parts)

    def selected_frame(self) -> Optional[WireFrame]:
        """The selected frame, if it is still kept."""
        for frame in reversed(self.frames):
            if frame.index == self.selected:
                return frame
        return None

    def current(self) -> Optional[WireFrame]:
        """The frame the detail shows: the selected one, else the newest shown (None if
        there is none); Enter and the link act on it."""
        shown = self.shown()
        return self.selected_frame() or (shown[-1] if shown else None)

    # ------------------------------------------------------------------ selection

    def select(self, index: Optional[int]) -> None:
        """Select the frame ``index`` (None: nothing)."""
        if index != self.selected:
            self.selected = index
            self.version += 1

    def move(self, delta: int) -> None:
        """Select the row ``delta`` rows down (negative: up) from the selected one."""
        rows = self.shown()
        if not rows:
            return
        where = next((i for i, f in enumerate(rows) if f.index == self.selected), len(rows))
        self.select(rows[max(0, min(len(rows) - 1, where + delta))].index)
        self.follow = False

    def linked(self, frame: WireFrame) -> Optional[int]:
        """The index of the frame this one points at: a request's answer, an answer's
        request (matched by ``id``), or None."""
        message = self.message(frame)
        if message is None or not isinstance(message.get("id"), (str, int)):
            return None
        side = "answer" if frame.direction == SENT else "request"
        index = self._ids.get((side, str(message["id"])))
        return index if index != frame.index else None

    def follow_link(self) -> bool:
        """Select the frame the shown one (``current``) points at and bring it into
        view; False if there is none (or it is no longer kept)."""
        frame = self.current()
        target = self.linked(frame) if frame is not None else None
        if target is None or not any(f.index == target for f in self.frames):
            return False
        if not any(f.index == target for f in self.shown()):
            self.set_query("")  # the filter hid it: show everything
        self.select(target)
        self.follow = False
        return True

    def visible(self, rows_fit: int) -> List[WireFrame]:
        """The rows to draw in a list ``rows_fit`` rows tall: the newest while following,
        else from ``top``, moved so that the selected row is in view."""
        rows = self.shown()
        rows_fit = max(1, rows_fit)
        last_top = max(0, len(rows) - rows_fit)
        if self.follow:
            self.top = last_top
        where = next((i for i, f in enumerate(rows) if f.index == self.selected), None)
        if where is not None and not self.follow:
            if where < self.top:
                self.top = where
            elif where >= self.top + rows_fit:
                self.top = where - rows_fit + 1
        self.top = max(0, min(self.top, last_top))
        return rows[self.top:self.top + rows_fit]

    def scroll(self, rows: int, rows_fit: int) -> None:
        """Scroll by ``rows`` (negative: up); at the bottom the list follows again."""
        total = len(self.shown())
        self.top = max(0, min(self.top + rows, max(0, total - rows_fit)))
        self.follow = self.top >= total - rows_fit
        self.version += 1


# ------------------------------------------------------------------ the detail

def length_field(header: bytes) -> Tuple[int, int]:
    """``(start, end)`` of the length digits in a header (the bytes a decoder reads;
    the spaces around them are padding)."""
    stripped = header.lstrip(b" ")
    start = len(header) - len(stripped)
    return start, start + len(stripped.rstrip(b" "))


def pretty_lines(frame: WireFrame, message: Optional[dict]) -> List[str]:
    """The body for reading: JSON indented two spaces per level, text as its lines;
    ``... N more bytes`` when the tap kept only the start of it."""
    if frame.skipped:
        return [f"(a {frame.size}-byte body, over the size limit: skipped, not read)"]
    if message is not None:
        lines = json.dumps(message, indent=2, ensure_ascii=False).split("\n")
    elif not frame.size:
        lines = ["(empty body: a keepalive)"]
    else:
        lines = frame.text().split("\n")
    if len(lines) > MAX_LINES:
        lines = lines[:MAX_LINES] + [f"... {len(lines) - MAX_LINES} more lines"]
    if frame.more:
        lines.append(f"... {frame.more} more bytes")
    return lines
