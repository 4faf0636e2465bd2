"""Fonts with per-character fallback, and text rendered in runs.

Neither pygame nor SDL_ttf falls back per character: a font without a glyph draws a
box. So a ``FontSet`` holds an ordered list of fonts (a good Latin face first, then
CJK and symbol faces, pygame's bundled default last), asks ``Font.metrics()`` which
of them has each character, and splits a line into runs that each use the first font
with those glyphs. The answer per character is cached, so measuring is a dict lookup
per character plus one ``Font.size`` per run.

Text from the network is cleaned first (``clean_text``): ``Font.render`` raises on
NUL, and control characters or lone surrogates must not reach SDL at all. Nothing in
here may raise on odd text: a character no font has is drawn with the first font.
"""

from __future__ import annotations

import logging
import os
from typing import Dict, List, Optional, Tuple

import pygame

log = logging.getLogger("chat.ui.fonts")

# Family names tried in order, via pygame.font.match_font (fontconfig on Linux).
# Latin faces first; the CJK faces also carry Latin but look better second.
LATIN_FAMILIES = ["notosans", "ubuntu", "cantarell", "dejavusans", "liberationsans",
                  "freesans", "arial", "helvetica", "segoeui"]
FALLBACK_FAMILIES = ["notosanscjksc", "notosanscjkjp", "notosanscjk", "sourcehansans",
                     "wenquanyimicrohei", "wenquanyizenhei", "droidsansfallback",
                     "microsoftyahei", "msgothic", "applegothic", "dejavusans",
                     "notosanssymbols", "notosanssymbols2", "symbola", "notocoloremoji"]

_path_cache: Dict[Tuple[str, bool, bool], Optional[str]] = {}


def clean_text(text: str) -> str:
    """``text`` made safe to render: no control characters, NULs or lone surrogates.

    Tabs become four spaces; other control characters become U+FFFD; newlines are
    kept (callers split lines themselves).
    """
    if text.isprintable():
        return text
    out = []
    for ch in text:
        code = ord(ch)
        if ch == "\n":
            out.append(ch)
        elif ch == "\t":
            out.append("    ")
        elif code < 0x20 or code == 0x7F or 0x80 <= code < 0xA0 or 0xD800 <= code < 0xE000:
            out.append("\ufffd")
        else:
            out.append(ch)
    return "".join(out)


def _find_font_file(family: str, bold: bool, italic: bool) -> Optional[str]:
    key = (family, bold, italic)
    if key not in _path_cache:
        try:
            path = pygame.font.match_font(family, bold=bold, italic=italic)
        except Exception:  # fontconfig oddities must not stop the client
            path = None
        if path and "Condensed" in os.path.basename(path):
            # fontconfig maps "dejavusans" to the condensed cut; prefer the normal one.
            wide = os.path.join(os.path.dirname(path),
                                os.path.basename(path).replace("Condensed", ""))
            path = wide if os.path.exists(wide) else path
        _path_cache[key] = path
    return _path_cache[key]


class FontSet:
    """Ordered fonts of one size and style that render any text in runs.

    Args:
        size: pixel size.
        bold, italic: the style; synthetic if the family lacks that cut.
        families: override the family lists (tests use it to force fallbacks).
    """

    def __init__(self, size: int, bold: bool = False, italic: bool = False,
                 families: Optional[List[str]] = None):
        if not pygame.font.get_init():
            pygame.font.init()
        self.size = size
        self.fonts: List[pygame.font.Font] = []
        if families is None:
            latin = next((f for f in LATIN_FAMILIES if _find_font_file(f, bold, italic)), None)
            families = ([latin] if latin else []) + FALLBACK_FAMILIES
        seen = set()
        for family in families:
            path = _find_font_file(family, bold, italic)
            if path is None or path in seen:
                continue
            try:
                font = pygame.font.Font(path, size)
            except (OSError, pygame.error) as exc:
                log.debug("cannot load font %s: %s", path, exc)
                continue
            seen.add(path)
            self._style(font, path, bold, italic)
            self.fonts.append(font)
        default = pygame.font.Font(None, int(size * 1.3))  # the bundled face runs small
        default.italic = italic
        self.fonts.append(default)
        self.height = max(f.get_linesize() for f in self.fonts[:1]) or size
        self.ascent = self.fonts[0].get_ascent()
        self._font_for_char: Dict[str, int] = {}
        self._notdef: Dict[int, tuple] = {}

    @staticmethod
    def _style(font: pygame.font.Font, path: str, bold: bool, italic: bool) -> None:
        name = os.path.basename(path).lower()
        if bold and "bold" not in name and ".ttc" not in name:
            font.bold = True
        if italic and not ("italic" in name or "oblique" in name):
            font.italic = True

    def _has_glyph(self, index: int, ch: str) -> bool:
        """Whether font ``index`` really draws ``ch`` (not its "missing" box).

        pygame 2.6's ``Font.metrics`` reports the .notdef box for a missing BMP
        character instead of None, so compare with the metrics (and, on a tie, the
        pixels) of U+FFFF, a non-character no font maps.
        """
        font = self.fonts[index]
        try:
            metrics = font.metrics(ch)
        except (pygame.error, UnicodeError, ValueError):
            return False
        if not metrics or metrics[0] is None:
            return False
        notdef = self._notdef.get(index)
        if notdef is None:
            notdef = (font.metrics("\uffff")[0],
                      pygame.image.tobytes(font.render("\uffff", False, (255, 255, 255)), "RGBA"))
            self._notdef[index] = notdef
        if metrics[0] != notdef[0]:
            return True
        drawn = pygame.image.tobytes(font.render(ch, False, (255, 255, 255)), "RGBA")
        return drawn != notdef[1]

    def _index(self, ch: str) -> int:
        index = self._font_for_char.get(ch)
        if index is None:
            index = 0
            if ch.isascii() and self._has_glyph(0, "a"):
                pass  # the Latin face has ASCII; skip the pixel checks
            else:
                for i in range(len(self.fonts)):
                    if self._has_glyph(i, ch):
                        index = i
                        break
            self._font_for_char[ch] = index
        return index

    def runs(self, text: str) -> List[Tuple[pygame.font.Font, str]]:
        """Split one line of clean text into (font, run) pairs."""
        result: List[Tuple[pygame.font.Font, str]] = []
        current, start = -1, 0
        for pos, ch in enumerate(text):
            index = self._index(ch) if not ch.isspace() else (current if current >= 0 else 0)
            if index != current:
                if current >= 0:
                    result.append((self.fonts[current], text[start:pos]))
                current, start = index, pos
        if current >= 0:
            result.append((self.fonts[current], text[start:]))
        return result

    def width(self, text: str) -> int:
        """Rendered width of one line of clean text, in pixels."""
        total = 0
        for font, run in self.runs(text):
            try:
                total += font.size(run)[0]
            except (pygame.error, UnicodeError, ValueError):
                total += self.size // 2 * len(run)
        return total

    def render(self, text: str, colour, background=None) -> pygame.Surface:
        """One line of text as a surface (alpha if no background); never raises."""
        text = clean_text(text).replace("\n", " ")
        pieces = []
        for font, run in self.runs(text):
            try:
                pieces.append(font.render(run, True, colour, background))
            except (pygame.error, UnicodeError, ValueError) as exc:
                log.debug("cannot render %r: %s", run, exc)
                pieces.append(self.fonts[-1].render("?" * len(run), True, colour, background))
        width = sum(p.get_width() for p in pieces)
        surface = pygame.Surface((max(1, width), self.height), pygame.SRCALPHA)
        if background is not None:
            surface.fill(background)
        x = 0
        for (font, _), piece in zip(self.runs(text), pieces):
            # align every run on the first font's baseline
            y = min(max(0, self.ascent - font.get_ascent()), max(0, self.height - piece.get_height()))
            surface.blit(piece, (x, y))
            x += piece.get_width()
        return surface


class Fonts:
    """The font sets the UI uses, built once after ``pygame.init``."""

    def __init__(self, scale: float = 1.0):
        from ui import theme
        s = lambda px: max(8, int(round(px * scale)))  # noqa: E731
        self.body = FontSet(s(theme.FONT_SIZE))
        self.italic = FontSet(s(theme.FONT_SIZE), italic=True)
        self.bold = FontSet(s(theme.FONT_SIZE_NAME), bold=True)
        self.small = FontSet(s(theme.FONT_SIZE_SMALL))
        self.small_bold = FontSet(s(theme.FONT_SIZE_SMALL), bold=True)
        self.title = FontSet(s(theme.FONT_SIZE_TITLE), bold=True)
