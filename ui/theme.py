"""Colours, sizes and spacing in one place, so every widget looks like one app.

A dark theme with one accent colour: the hierarchy comes from weight and colour of
text (bright body, muted meta data), not from boxes and lines. Name colours are
derived from a hash of the name so a person keeps their colour on every client and
across restarts; the palette is chosen to be readable on the dark background.
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

# A palette of distinct, readable hues for names (on a dark background).
NAME_COLOURS = [
    (244, 114, 114),  # red
    (251, 146, 60),   # orange
    (234, 196, 53),   # yellow
    (132, 204, 22),   # lime
    (52, 211, 153),   # green
    (34, 211, 238),   # cyan
    (96, 165, 250),   # blue
    (167, 139, 250),  # violet
    (232, 121, 249),  # magenta
    (214, 180, 140),  # sand
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


def name_colour(name: str) -> tuple:
    """A stable colour for ``name`` (same on every client; ignores case like the server)."""
    # md5 only to spread names evenly over the palette (crc32 clusters short names)
    digest = int.from_bytes(hashlib.md5(name.casefold().encode("utf-8")).digest(), "big")
    return NAME_COLOURS[digest % len(NAME_COLOURS)]


def dim(colour: tuple, factor: float = 0.6) -> tuple:
    """``colour`` blended towards the background (for pending or inactive things)."""
    return tuple(int(BG[i] + (colour[i] - BG[i]) * factor) for i in range(3))
