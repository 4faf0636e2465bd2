"""Line breaking by pixel width, independent of pygame.

``wrap_text`` takes a ``measure(str) -> int`` function, so the same code wraps with
real fonts in the app and with a fixed-width stub in the tests. Greedy breaking at
spaces, the way chat clients do; a word wider than the line (a URL, a long paste
without spaces) is broken at the last character that still fits, found by bisection
so a 4,000-character word costs about a dozen measurements per line, not thousands.
Words are measured once each, and a line's width is the sum of its words (kerning
across a space is negligible), which keeps wrapping linear in the text length.
"""

from __future__ import annotations

import re
from typing import Callable, List

Measure = Callable[[str], int]
_TOKENS = re.compile(r"\S+\s*|\s+")


def _fit_prefix(word: str, width: int, measure: Measure) -> int:
    """Length of the longest prefix of ``word`` that fits ``width`` (at least 1)."""
    lo, hi = 1, min(len(word), max(1, width))  # a glyph is at least one pixel wide
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if measure(word[:mid]) <= width:
            lo = mid
        else:
            hi = mid - 1
    return lo


def wrap_paragraph(text: str, width: int, measure: Measure) -> List[str]:
    """Break one paragraph (no newlines) into lines no wider than ``width`` pixels.

    Trailing spaces at a break are dropped; an empty paragraph gives one empty line.
    A single character wider than ``width`` still gets a line of its own.
    """
    width = max(1, width)
    lines: List[str] = []
    line, line_width = "", 0
    for token in _TOKENS.findall(text):
        word = token.rstrip()
        word_width = measure(word) if word else 0
        if line and line_width + word_width > width:
            lines.append(line.rstrip())
            line, line_width = "", 0
        if not line and word_width > width:
            # Break the long word; its last piece starts the next line.
            rest = word
            # (every glyph is at least a pixel wide, so a rest longer than ``width``
            # characters cannot fit: no need to measure it)
            while len(rest) > 1 and (len(rest) > width or measure(rest) > width):
                cut = _fit_prefix(rest, width, measure)
                lines.append(rest[:cut])
                rest = rest[cut:]
            line = rest + token[len(word):]
            line_width = measure(line) if line else 0
            continue
        line += token
        line_width += measure(token) if token != word else word_width
    lines.append(line.rstrip())
    return lines


def wrap_text(text: str, width: int, measure: Measure) -> List[str]:
    """Wrap text that may contain newlines; each newline starts a new line."""
    lines: List[str] = []
    for paragraph in text.split("\n"):
        lines.extend(wrap_paragraph(paragraph, width, measure))
    return lines
