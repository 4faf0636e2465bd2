"""Where each piece of one message-view entry goes: wrapping, bands, the /help table.

Pure placement, done once per entry, width and ``version`` (the message view caches
the result): a ``Layout`` lists the texts (font, string, colour, x, y), the coloured
rects and the avatar of one entry, relative to its top-left corner. Rendering and
scrolling are the message view's job.

A ``system`` text whose lines are shaped like the server's ``/help`` ("  /cmd args   what
it does") is laid out as a two-column table: in a proportional font the server's
space padding cannot line the descriptions up.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Tuple

import pygame

from ui import theme
from ui.entries import ACTION, DIVIDER, ERROR, FAILED, NOTICE, PENDING, PRIVATE, SYSTEM, Entry
from ui.textfonts import Fonts, FontSet, clean_text
from ui.wrapping import wrap_text

# "  /nick NEW         change your name": indented command, two or more spaces, text
TABLE_ROW = re.compile(r"[ \t]+(/\S.*?)[ \t]{2,}(\S.*)")
TABLE_MIN_ROWS = 2         # fewer rows than this is not a table
COLUMN_GAP = 18            # pixels between the command column and the descriptions


@dataclass
class Layout:
    """Where each piece of one entry goes, relative to the entry's top-left."""

    width: int
    version: int
    height: int
    texts: List[Tuple[FontSet, str, tuple, int, int]] = field(default_factory=list)
    rects: List[Tuple[tuple, pygame.Rect, int]] = field(default_factory=list)  # colour, rect, radius
    avatar: Optional[Tuple[str, int, int]] = None  # name, x, y


def clock_text(ts: float) -> str:
    """``HH:MM`` in local time."""
    return time.strftime("%H:%M", time.localtime(ts))


class AvatarCache:
    """Round, anti-aliased avatars with the name's initial, one per name."""

    def __init__(self, font: FontSet, size: int, colour_of: Callable[[str], tuple]):
        self.font, self.size = font, size
        self.colour_of = colour_of  # a name's colour (the chat log's NameColours)
        self._cache: Dict[str, pygame.Surface] = {}

    def get(self, name: str) -> pygame.Surface:
        """The avatar for ``name`` (made on first use)."""
        surface = self._cache.get(name)
        if surface is None:
            big = self.size * 4
            canvas = pygame.Surface((big, big), pygame.SRCALPHA)
            pygame.draw.circle(canvas, self.colour_of(name), (big // 2, big // 2), big // 2)
            surface = pygame.transform.smoothscale(canvas, (self.size, self.size))
            initial = self.font.render((clean_text(name)[:1] or "?").upper(), (24, 26, 31))
            surface.blit(initial, ((self.size - initial.get_width()) // 2,
                                   (self.size - initial.get_height()) // 2))
            self._cache[name] = surface
        return surface


def table_rows(text: str) -> Optional[List[Tuple[str, str]]]:
    """The (command, description) rows of a help-shaped text, or None if it is not one.

    Lines that are not rows (a heading such as "commands:") come back as
    ``(line, "")``; a text with fewer than ``TABLE_MIN_ROWS`` rows is not a table.
    """
    rows, matched = [], 0
    for line in text.split("\n"):
        match = TABLE_ROW.fullmatch(line)
        if match:
            rows.append((match.group(1).strip(), match.group(2).strip()))
            matched += 1
        else:
            rows.append((line, ""))
    return rows if matched >= TABLE_MIN_ROWS else None


class EntryLayouts:
    """Lays entries out with the UI's fonts (``layout_entry``)."""

    def __init__(self, fonts: Fonts, colour_of: Callable[[str], tuple]):
        self.fonts = fonts
        self.colour_of = colour_of  # a name's colour (the chat log's NameColours)

    def layout_entry(self, entry: Entry, width: int) -> Layout:
        """Wrap and place one entry for a content ``width``."""
        f = self.fonts
        body_h = f.body.height + theme.LINE_GAP
        gutter = theme.GUTTER
        text_w = max(20, width - gutter)
        out = Layout(width=width, version=entry.version, height=0)
        text = clean_text(entry.text)

        if entry.kind == DIVIDER:
            label = entry.text
            lw = f.small_bold.width(label)
            h = f.small.height + 20
            mid = h // 2
            out.rects.append((theme.DIVIDER, pygame.Rect(0, mid, max(0, (width - lw) // 2 - 12), 1), 0))
            out.rects.append((theme.DIVIDER, pygame.Rect((width + lw) // 2 + 12, mid,
                                                         max(0, (width - lw) // 2 - 12), 1), 0))
            out.texts.append((f.small_bold, label, theme.TEXT_FAINT, (width - lw) // 2,
                              mid - f.small.height // 2))
            out.height = h
            return out

        if entry.kind in (NOTICE, SYSTEM, ERROR):
            font = f.small if entry.kind == NOTICE else f.body
            colour = {NOTICE: theme.TEXT_MUTED, SYSTEM: theme.TEXT_MUTED,
                      ERROR: theme.ERROR}[entry.kind]
            prefix = {NOTICE: self._notice_icon(entry), SYSTEM: "", ERROR: "\u26a0 "}[entry.kind]
            line_h = font.height + theme.LINE_GAP
            top = 8
            y = top
            rows = table_rows(text) if entry.kind == SYSTEM else None
            if rows is not None:
                y = self._table(out, rows, font, colour, gutter, y, text_w - 8)
            else:
                for line in wrap_text(prefix + text, text_w - 8, font.width):
                    out.texts.append((font, line, colour, gutter, y))
                    y += line_h
            if entry.kind == NOTICE:
                out.texts.append((f.small, clock_text(entry.ts), theme.TEXT_FAINT, 0, top))
            else:
                bar = theme.ERROR if entry.kind == ERROR else theme.DIVIDER
                band = theme.ERROR_BG if entry.kind == ERROR else theme.HEADER_BG
                out.rects.insert(0, (band, pygame.Rect(gutter - 10, top - 4, width - gutter + 10,
                                                       y - top + 6), 6))
                out.rects.insert(1, (bar, pygame.Rect(gutter - 10, top - 4, 3, y - top + 6), 0))
            out.height = y + 4
            return out

        if entry.kind == ACTION:
            sender = clean_text(entry.sender or "?")
            lines = wrap_text(f"{sender} {text}", text_w, f.italic.width)
            top = 8
            y = top
            for i, line in enumerate(lines):
                if i == 0 and line.startswith(sender):
                    out.texts.append((f.italic, sender, self.colour_of(entry.sender or "?"),
                                      gutter, y))
                    rest = line[len(sender):]
                    out.texts.append((f.italic, rest, self._body_colour(entry),
                                      gutter + f.italic.width(sender), y))
                else:
                    out.texts.append((f.italic, line, self._body_colour(entry), gutter, y))
                y += body_h
            out.texts.append((f.small, clock_text(entry.ts), theme.TEXT_FAINT, 0, top + 2))
            y = self._state_line(entry, out, y, gutter)
            out.height = y + 2
            return out

        # CHAT and PRIVATE
        header = not entry.grouped or entry.kind == PRIVATE
        top = theme.GROUP_GAP if header else theme.ITEM_GAP // 2
        y = top
        if entry.kind == PRIVATE:
            top += 4
            y = top + 6
        if header:
            name = clean_text(entry.sender or "?")
            out.avatar = (entry.sender or "?", 0, y)
            out.texts.append((f.bold, name, self.colour_of(entry.sender or "?"), gutter, y))
            x = gutter + f.bold.width(name) + 10
            meta = clock_text(entry.ts)
            if entry.kind == PRIVATE:
                peer = entry.to if entry.mine else None
                meta = (f"private to {peer}" if peer else "private to you") + "  \u00b7  " + meta
            baseline = y + (f.bold.height - f.small.height) // 2 + 1
            out.texts.append((f.small, meta, theme.PRIVATE_BAR if entry.kind == PRIVATE
                              else theme.TEXT_FAINT, x, baseline))
            y += f.bold.height + 4
        for line in wrap_text(text, text_w, f.body.width):
            out.texts.append((f.body, line, self._body_colour(entry), gutter, y))
            y += body_h
        y = self._state_line(entry, out, y, gutter)
        if header:
            y = max(y, out.avatar[2] + theme.AVATAR)
        if entry.kind == PRIVATE:
            y += 6
            out.rects.insert(0, (theme.PRIVATE_BG, pygame.Rect(-8, top, width + 8, y - top), 8))
            out.rects.insert(1, (theme.PRIVATE_BAR, pygame.Rect(-8, top, 3, y - top), 0))
            out.avatar = (out.avatar[0], 0, out.avatar[2]) if out.avatar else None
        out.height = y + 2
        return out

    @staticmethod
    def _table(out: Layout, rows, font: FontSet, colour: tuple, x: int, y: int,
               width: int) -> int:
        """Lay ``rows`` out as two columns from (x, y); returns the y below them."""
        line_h = font.height + theme.LINE_GAP
        commands = [font.width(command) for command, what in rows if what]
        column = min(max(commands), int(width * 0.45)) + COLUMN_GAP
        for command, what in rows:
            if not what:  # a heading or a plain line: the whole width
                for line in wrap_text(command, width, font.width):
                    out.texts.append((font, line, colour, x, y))
                    y += line_h
                continue
            left = wrap_text(command, column - COLUMN_GAP, font.width)
            right = wrap_text(what, max(20, width - column), font.width)
            for i, line in enumerate(left):
                out.texts.append((font, line, theme.TEXT, x, y + i * line_h))
            for i, line in enumerate(right):
                out.texts.append((font, line, colour, x + column, y + i * line_h))
            y += max(len(left), len(right)) * line_h
        return y

    @staticmethod
    def _notice_icon(entry: Entry) -> str:
        if entry.sender is None:
            return "\u26a1 " if entry.text.startswith("Disconnected") else "\u2713 "
        if entry.text.endswith(" joined"):
            return "\u2192 "
        if " left" in entry.text:
            return "\u2190 "
        return "\u2022 "

    def _body_colour(self, entry: Entry) -> tuple:
        if entry.state == PENDING:
            return theme.TEXT_PENDING
        if entry.state == FAILED:
            return theme.dim(theme.TEXT, 0.7)
        return theme.TEXT

    def _state_line(self, entry: Entry, out: Layout, y: int, x: int) -> int:
        """Add "sending..." or "not sent: reason" under an own line."""
        if entry.state == PENDING:
            out.texts.append((self.fonts.small, "sending\u2026", theme.TEXT_FAINT, x, y))
            return y + self.fonts.small.height + 2
        if entry.state == FAILED:
            reason = f"\u2715 Not sent: {entry.reason or 'refused'}"
            for line in wrap_text(reason, max(20, out.width - x), self.fonts.small.width):
                out.texts.append((self.fonts.small, line, theme.ERROR, x, y))
                y += self.fonts.small.height + 2
        return y

