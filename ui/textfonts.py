"""Fonts with per-character fallback, and text rendered in runs.

Neither pygame nor SDL_ttf falls back per character: a font without a glyph draws a
box. So a ``FontSet`` holds an ordered list of fonts (a good Latin face first, then
one face per script, CJK, symbols and emoji, pygame's bundled default last), asks
``Font.metrics()`` which of them has each character, and splits a line into runs that
each use the first font with those glyphs. The answer per character is cached, so
measuring is a dict lookup per character plus one ``Font.size`` per run. On a fresh
Debian or Ubuntu the faces come from ``fonts-noto-core`` (Arabic, Hebrew, Thai,
Devanagari and most other scripts), ``fonts-noto-cjk`` (Korean, Chinese, Japanese),
``fonts-noto-color-emoji`` and ``fonts-dejavu-core``; any subset works.

Colour emoji fonts are bitmaps of one size (Noto Color Emoji: 109 px); their runs are
scaled down to the line. Right-to-left lines are put in display order
(``ui.textorder``) when drawn and measured; the text itself stays in logical order.

Text from the network is cleaned first (``clean_text``): ``Font.render`` raises on
NUL, and control characters or lone surrogates must not reach SDL at all. Nothing in
here may raise on odd text: a character no font has is drawn with the first font.
"""

from __future__ import annotations

import logging
import os
import unicodedata
from typing import Dict, List, Optional, Tuple

import pygame

from lanchat.text import is_unprintable
from ui import theme
from ui.textorder import visual_order

log = logging.getLogger("chat.ui.fonts")

# Family names tried in order, via pygame.font.match_font (fontconfig on Linux).
# Latin faces first; the CJK faces also carry Latin but look better second.
LATIN_FAMILIES = ["notosans", "ubuntu", "cantarell", "dejavusans", "liberationsans",
                  "freesans", "arial", "helvetica", "segoeui"]
# Then one face per script (fonts-noto-core on Debian/Ubuntu; the names macOS and
# Windows use come after), CJK (fonts-noto-cjk: one file for Korean, Chinese and
# Japanese), wide-coverage faces, symbols, and colour emoji last.
SCRIPT_FAMILIES = ["notosansarabic", "notonaskharabic", "notosanshebrew", "notosansthai",
                   "notosansdevanagari", "notosansbengali", "notosanstamil",
                   "notosanstelugu", "notosanskannada", "notosansmalayalam",
                   "notosansgujarati", "notosansgurmukhi", "notosanssinhala",
                   "notosanskhmer", "notosanslao", "notosansmyanmar", "notosansethiopic",
                   "notosansgeorgian", "notosansarmenian", "thonburi", "nirmalaui",
                   "leelawadeeui"]   # (not "tahoma": fontconfig maps it to DejaVu Sans)
CJK_FAMILIES = ["notosanscjksc", "notosanscjkkr", "notosanscjkjp", "notosanscjk",
                "sourcehansans", "nanumgothic", "unbatang", "wenquanyimicrohei",
                "wenquanyizenhei", "droidsansfallback", "microsoftyahei", "malgungothic",
                "msgothic", "applegothic", "applesdgothicneo"]
FALLBACK_FAMILIES = (SCRIPT_FAMILIES + CJK_FAMILIES
                     + ["dejavusans", "freesans", "freeserif", "notosanssymbols",
                        "notosanssymbols2", "notosansmath", "symbola", "segoeuisymbol",
                        "notocoloremoji", "segoeuiemoji", "applecoloremoji"])
EMOJI_FROM = 0x1F000       # pictographs from here on prefer a colour emoji face
BITMAP_SCALE_ABOVE = 1.6   # a face this much taller than the first is a bitmap (emoji) font

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
        if ch == "\n":
            out.append(ch)
        elif ch == "\t":
            out.append("    ")
        elif is_unprintable(ch):
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
        # Bitmap-only faces (colour emoji) ignore the size asked for: draw them scaled.
        self._scale = {}
        for font in self.fonts:
            if font.get_height() > BITMAP_SCALE_ABOVE * self.height:
                self._scale[id(font)] = self.height * 0.95 / font.get_height()
        self._font_for_char: Dict[str, int] = {}
        self._marks: Dict[Tuple[int, str], bool] = {}
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
        pixels) of U+FFFF, a non-character no font maps. For characters beyond the
        BMP (emoji) it reports None whether or not the glyph is there, so only the
        pixels can tell.
        """
        font = self.fonts[index]
        try:
            metrics = font.metrics(ch)
            notdef = self._notdef.get(index)
            if notdef is None:
                notdef = (font.metrics("\uffff")[0],
                          pygame.image.tobytes(font.render("\uffff", False, (255, 255, 255)),
                                               "RGBA"))
                self._notdef[index] = notdef
            if ord(ch) < 0x10000:
                if not metrics or metrics[0] is None:
                    return False
                if metrics[0] != notdef[0]:
                    return True
            drawn = font.render(ch, False, (255, 255, 255))
        except (pygame.error, UnicodeError, ValueError):
            return False
        if drawn.get_width() <= 1 or drawn.get_bounding_rect().width == 0:
            return False  # nothing drawn: no glyph (or a zero-width one we need not place)
        return pygame.image.tobytes(drawn, "RGBA") != notdef[1]

    def _order_for(self, ch: str) -> List[int]:
        """Font indexes to try for ``ch``: pictographs beyond the BMP (emoji) try the
        colour (bitmap) faces first, as DejaVu Sans has monochrome emoticons too."""
        order = list(range(len(self.fonts)))
        if ord(ch) >= EMOJI_FROM and self._scale:
            colour = [i for i in order if id(self.fonts[i]) in self._scale]
            order = colour + [i for i in order if i not in colour]
        return order

    def _index(self, ch: str) -> int:
        index = self._font_for_char.get(ch)
        if index is None:
            index = 0
            if ch.isascii() and self._has_glyph(0, "a"):
                pass  # the Latin face has ASCII; skip the pixel checks
            else:
                for i in self._order_for(ch):
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
            if ch.isspace():  # with the run before it, unless that is a scaled emoji face
                index = current if current >= 0 and id(self.fonts[current]) not in self._scale \
                    else 0
            elif current >= 0 and unicodedata.category(ch) == "Mn" \
                    and self._has_mark(current, ch):
                index = current  # a combining mark stays with its letter's font
            else:
                index = self._index(ch)
            if index != current:
                if current >= 0:
                    result.append((self.fonts[current], text[start:pos]))
                current, start = index, pos
        if current >= 0:
            result.append((self.fonts[current], text[start:]))
        return result

    def _has_mark(self, index: int, ch: str) -> bool:
        """Whether font ``index`` has combining mark ``ch`` (cached like _index)."""
        key = (index, ch)
        known = self._marks.get(key)
        if known is None:
            known = self._marks[key] = self._has_glyph(index, ch)
        return known

    def width(self, text: str) -> int:
        """Rendered width of one line of clean text, in pixels."""
        total = 0
        for font, run in self.runs(visual_order(text)):
            try:
                total += round(font.size(run)[0] * self._scale.get(id(font), 1.0))
            except (pygame.error, UnicodeError, ValueError):
                total += self.size // 2 * len(run)
        return total

    def render(self, text: str, colour, background=None, bidi: bool = True) -> pygame.Surface:
        """One line of text as a surface (alpha if no background); never raises.

        Args:
            text: one line in logical order (as typed and sent).
            colour, background: RGB colours; no background means transparent.
            bidi: put right-to-left text in display order (``ui.textorder``); False
                draws the characters in memory order (for callers that place a cursor
                by character).
        """
        text = clean_text(text).replace("\n", " ")
        if bidi:
            text = visual_order(text)
        pieces = []
        for font, run in self.runs(text):
            try:
                piece = font.render(run, True, colour, background)
            except (pygame.error, UnicodeError, ValueError) as exc:
                log.debug("cannot render %r: %s", run, exc)
                piece = self.fonts[-1].render("?" * len(run), True, colour, background)
            scale = self._scale.get(id(font))
            if scale:
                piece = pygame.transform.smoothscale(
                    piece, (max(1, round(piece.get_width() * scale)),
                            max(1, round(piece.get_height() * scale))))
            pieces.append(piece)
        width = sum(p.get_width() for p in pieces)
        # Every run sits on the first font's baseline (a scaled emoji: centred). A face
        # with deeper descenders (Arabic, Devanagari) may reach below the line box, so
        # the surface grows downwards rather than cutting their dots off; the line
        # spacing stays ``height`` (the gap between lines takes the overhang).
        places = []
        for (font, _), piece in zip(self.runs(text), pieces):
            if id(font) in self._scale:
                places.append(max(0, (self.height - piece.get_height()) // 2))
            else:
                places.append(self.ascent - font.get_ascent())
        bottom = max([self.height] + [y + p.get_height() - self._descent_slack(p, y)
                                      for y, p in zip(places, pieces)])
        surface = pygame.Surface((max(1, width), bottom), pygame.SRCALPHA)
        if background is not None:
            surface.fill(background)
        x = 0
        for y, piece in zip(places, pieces):
            surface.blit(piece, (x, y))
            x += piece.get_width()
        return surface

    def _descent_slack(self, piece: pygame.Surface, y: int) -> int:
        """Empty rows at the bottom of a run's surface (so only real ink grows the line)."""
        if y + piece.get_height() <= self.height:
            return 0
        ink = piece.get_bounding_rect()
        return piece.get_height() - ink.bottom if ink.height else piece.get_height()


class Fonts:
    """The font sets the UI uses, built once after ``pygame.init``."""

    def __init__(self, scale: float = 1.0):
        s = lambda px: max(8, int(round(px * scale)))  # noqa: E731
        self.body = FontSet(s(theme.FONT_SIZE))
        self.italic = FontSet(s(theme.FONT_SIZE), italic=True)
        self.bold = FontSet(s(theme.FONT_SIZE_NAME), bold=True)
        self.small = FontSet(s(theme.FONT_SIZE_SMALL))
        self.small_bold = FontSet(s(theme.FONT_SIZE_SMALL), bold=True)
        self.title = FontSet(s(theme.FONT_SIZE_TITLE), bold=True)
