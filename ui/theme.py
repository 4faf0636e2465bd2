"""Colours, sizes and spacing in one place, so every widget looks like one app.

A dark theme with one accent colour: the hierarchy comes from weight and colour of
text (bright body, muted meta data), not from boxes and lines. Name colours come
from a hash of the name (so usually the same on every client), kept distinct among
the names one window has seen and kept across a ``/nick`` (``NameColours``); the
palette is readable on the dark background.
"""

from __future__ import annotations

import hashlib

# Surfaces, darkest to lightest.
BG = (30, 32, 38)            # message area
SIDEBAR_BG = (24, 26, 31)
HEADER_BG = (36, 38, 45)
INPUT_BG = (44, 47, 56)
INPUT_BORDER = (60, 64, 76)
INPUT_BORDER_FOCUS = (96, 140, 255)
HOVER_BG = (44, 47, 56)
HOVER_ROW = (36, 38, 45)     # a message under the mouse
PRIVATE_BG = (52, 44, 72)    # private messages: a violet band
PRIVATE_BAR = (160, 120, 255)
DIVIDER = (58, 61, 72)

# Text.
TEXT = (222, 225, 232)
TEXT_MUTED = (140, 146, 160)
TEXT_FAINT = (100, 105, 118)
TEXT_PENDING = (150, 155, 168)
ACCENT = (96, 140, 255)
ERROR = (240, 96, 96)
ERROR_BG = (70, 36, 40)
OK = (80, 200, 120)
WARN = (240, 180, 70)
SELF_MARK = (120, 125, 140)

# Name colours: 20 hues and tints, each at least 4.5:1 against BG (WCAG AA for text)
# and at least 18 CIE76 units from every other (picked greedily for the largest
# smallest difference), so neighbours in the palette never look alike.
NAME_COLOURS = [
    (248, 113, 113),  # red
    (255, 150, 120),  # salmon
    (251, 146, 60),   # orange
    (214, 180, 140),  # sand
    (251, 191, 36),   # amber
    (240, 225, 90),   # yellow
    (190, 190, 90),   # olive
    (163, 230, 53),   # lime
    (74, 222, 128),   # green
    (167, 243, 208),  # mint
    (45, 212, 191),   # teal
    (34, 211, 238),   # cyan
    (56, 189, 248),   # sky
    (110, 160, 255),  # blue
    (170, 135, 252),  # violet
    (205, 190, 255),  # lavender
    (235, 115, 245),  # fuchsia
    (244, 114, 182),  # pink
    (250, 175, 215),  # light pink
    (180, 186, 200),  # grey
]

# Sizes in pixels.
FONT_SIZE = 16           # message body
FONT_SIZE_SMALL = 13     # timestamps, notices, status bar
FONT_SIZE_NAME = 16
FONT_SIZE_TITLE = 18
LINE_GAP = 3             # extra leading between wrapped lines
PAD = 16                 # outer padding of the message area
GROUP_GAP = 14           # space above a new sender group
ITEM_GAP = 4             # space between lines of one group
AVATAR = 34              # avatar diameter
GUTTER = AVATAR + 14     # text starts here (from the message area's left padding)
SIDEBAR_WIDTH = 200
HEADER_HEIGHT = 48
STATUS_HEIGHT = 26
INPUT_MIN_HEIGHT = 46
RADIUS = 8               # rounded corners


def _preferred_index(name: str) -> int:
    """Palette index for ``name``: a full 64-bit hash, so "user1" and "user2" land
    far apart (a small modulo of a weak hash clusters similar names)."""
    digest = hashlib.blake2b(name.casefold().encode("utf-8", "surrogatepass"),
                             digest_size=8).digest()
    return int.from_bytes(digest, "big") % len(NAME_COLOURS)


class NameColours:
    """Colours for the names one window has seen, distinct while the palette lasts.

    A name gets its hashed colour (the same on every client) unless a name seen
    earlier in this session already has it; then it gets the next free colour, so
    two people on screen do not share one. A rename keeps the colour (``renamed``).
    Names are compared case-insensitively, like the server does.
    """

    def __init__(self, palette: list = None):
        self.palette = list(palette or NAME_COLOURS)
        self._index: dict = {}      # casefolded name -> palette index
        self._taken: dict = {}      # palette index -> how many names hold it

    def colour(self, name: str) -> tuple:
        """The colour of ``name`` (assigned on first use)."""
        key = name.casefold()
        index = self._index.get(key)
        if index is None:
            index = self._assign(key)
        return self.palette[index]

    def _assign(self, key: str) -> int:
        size = len(self.palette)
        preferred = _preferred_index(key) % size
        index = preferred
        if self._taken.get(preferred) and len(self._taken) < size:
            index = next(i % size for i in range(preferred + 1, preferred + size)
                         if not self._taken.get(i % size))
        self._hold(key, index)
        return index

    def _hold(self, key: str, index: int) -> None:
        self._index[key] = index
        self._taken[index] = self._taken.get(index, 0) + 1

    def renamed(self, old: str, new: str) -> None:
        """``old`` is now called ``new``: ``new`` keeps ``old``'s colour this session.

        The old name keeps it too (lines already shown under it do not change).
        """
        index = self._index.get(old.casefold())
        if index is None:
            index = self._assign(old.casefold())
        key = new.casefold()
        if self._index.get(key) == index:
            return
        previous = self._index.get(key)
        if previous is not None:
            self._taken[previous] -= 1
            if not self._taken[previous]:
                del self._taken[previous]
        self._hold(key, index)

    def forget(self) -> None:
        """Start over (a new session with another server)."""
        self._index.clear()
        self._taken.clear()


def name_colour(name: str) -> tuple:
    """The hashed colour of ``name``, the same on every client (a window's session
    keeps names apart and across renames with ``NameColours``, ``ChatLog.colours``)."""
    return NAME_COLOURS[_preferred_index(name.casefold()) % len(NAME_COLOURS)]


def dim(colour: tuple, factor: float = 0.6) -> tuple:
    """``colour`` blended towards the background (for pending or inactive things)."""
    return tuple(int(BG[i] + (colour[i] - BG[i]) * factor) for i in range(3))
