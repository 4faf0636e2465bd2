"""The message view: wrapped, cached, scrollable, drawn in proportion to what shows.

Cost must follow what is visible, not the history, so:

* Scrolling is *anchored*: the position is "entry ``anchor``'s bottom sits ``offset``
  pixels below the view's bottom" (``anchor is None`` means following the newest
  line). Drawing walks up from the anchor until the view is full, and scrolling
  walks only over the entries it passes, so 10,000 lines of scrollback cost nothing
  while they are off screen and no total height is ever summed.
* An entry's layout (its wrapped lines and where each piece goes) is computed when it
  first becomes visible and cached by entry identity, content ``version`` and width;
  a resize changes the width, so lines re-wrap lazily, again only where visible.
* Rendered entry surfaces sit in a small LRU cache; a frame blits them.

While the user is scrolled up, new entries do not move the view; a pill at the
bottom counts them ("3 new messages"), and clicking it or scrolling back to the
bottom follows again.
"""

from __future__ import annotations

import collections
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import pygame

from ui import theme
from ui.chatlog import (ACTION, CHAT, DIVIDER, ERROR, FAILED, NOTICE, PENDING, PRIVATE,
                        SYSTEM, ChatLog, Entry)
from ui.textfonts import Fonts, FontSet, clean_text
from ui.wrapping import wrap_text

SURFACE_CACHE = 400        # rendered entries kept (a few screens' worth)
SCROLL_STEP = 60           # pixels per mouse-wheel notch
COUNTED_KINDS = (CHAT, ACTION, PRIVATE)


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

    def __init__(self, font: FontSet, size: int):
        self.font, self.size = font, size
        self._cache: Dict[str, pygame.Surface] = {}

    def get(self, name: str) -> pygame.Surface:
        """The avatar for ``name`` (made on first use)."""
        surface = self._cache.get(name)
        if surface is None:
            big = self.size * 4
            canvas = pygame.Surface((big, big), pygame.SRCALPHA)
            pygame.draw.circle(canvas, theme.name_colour(name), (big // 2, big // 2), big // 2)
            surface = pygame.transform.smoothscale(canvas, (self.size, self.size))
            initial = self.font.render((clean_text(name)[:1] or "?").upper(), (24, 26, 31))
            surface.blit(initial, ((self.size - initial.get_width()) // 2,
                                   (self.size - initial.get_height()) // 2))
            self._cache[name] = surface
        return surface


class MessageView:
    """Shows a ``ChatLog``'s entries; owns its rect, scroll state and caches."""

    def __init__(self, rect: pygame.Rect, fonts: Fonts, log: ChatLog):
        self.rect = pygame.Rect(rect)
        self.fonts = fonts
        self.log = log
        self.anchor: Optional[int] = None
        self.offset = 0
        self.new_count = 0
        self._counted = len(log.entries)    # entries already considered for new_count
        self._layouts: Dict[Entry, Layout] = {}
        self._surfaces: "collections.OrderedDict[Entry, Tuple[int, int, pygame.Surface]]" = \
            collections.OrderedDict()
        self._avatars = AvatarCache(fonts.title, theme.AVATAR)
        self._pill_rect: Optional[pygame.Rect] = None
        self.hover: Optional[int] = None    # entry under the mouse: highlighted, shows its time
        self._shown: List[Tuple[int, int]] = []
        self.dirty = True

    # ------------------------------------------------------------------ geometry

    @property
    def content_width(self) -> int:
        """Width available to an entry's layout."""
        return max(40, self.rect.width - 2 * theme.PAD)

    @property
    def following(self) -> bool:
        """True while the view sticks to the newest entry."""
        return self.anchor is None

    def set_rect(self, rect: pygame.Rect) -> None:
        """Move or resize; layouts re-wrap lazily at the new width."""
        if pygame.Rect(rect) != self.rect:
            self.rect = pygame.Rect(rect)
            self.dirty = True

    def _layout(self, index: int) -> Layout:
        entry = self.log.entries[index]
        width = self.content_width
        layout = self._layouts.get(entry)
        if layout is None or layout.width != width or layout.version != entry.version:
            layout = self.layout_entry(entry, width)
            self._layouts[entry] = layout
        return layout

    def height_of(self, index: int) -> int:
        """Pixel height of entry ``index`` at the current width."""
        return self._layout(index).height

    # ------------------------------------------------------------------ layout

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
            lines = wrap_text(prefix + text, text_w - 8, font.width)
            line_h = font.height + theme.LINE_GAP
            top = 8
            y = top
            for line in lines:
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
                    out.texts.append((f.italic, sender, theme.name_colour(entry.sender or "?"),
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
            out.texts.append((f.bold, name, theme.name_colour(entry.sender or "?"), gutter, y))
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

    def render_entry(self, index: int) -> pygame.Surface:
        """The entry drawn on a transparent surface (LRU-cached)."""
        entry = self.log.entries[index]
        layout = self._layout(index)
        cached = self._surfaces.get(entry)
        if cached is not None and cached[0] == layout.width and cached[1] == layout.version:
            self._surfaces.move_to_end(entry)
            return cached[2]
        margin = 8  # bands may reach a little left of the text column
        surface = pygame.Surface((layout.width + margin, max(1, layout.height)), pygame.SRCALPHA)
        for colour, rect, radius in layout.rects:
            pygame.draw.rect(surface, colour, rect.move(margin, 0), border_radius=radius)
        if layout.avatar:
            name, x, y = layout.avatar
            surface.blit(self._avatars.get(name), (x + margin, y))
        for font, text, colour, x, y in layout.texts:
            if text:
                surface.blit(font.render(text, colour), (x + margin, y))
        self._surfaces[entry] = (layout.width, layout.version, surface)
        if len(self._surfaces) > SURFACE_CACHE:
            self._surfaces.popitem(last=False)
        return surface

    # ------------------------------------------------------------------ scrolling

    def _view_height(self) -> int:
        return max(1, self.rect.height - theme.PAD // 2)

    def _go_top(self) -> None:
        entries = len(self.log.entries)
        filled, index = 0, -1
        while index + 1 < entries and filled < self._view_height():
            index += 1
            filled += self.height_of(index)
        if index < 0 or (index + 1 >= entries and filled <= self._view_height()):
            self.follow()
            return
        self.anchor, self.offset = index, filled - self._view_height()
        if self.anchor >= entries - 1 and self.offset <= 0:
            self.follow()

    def scroll_by(self, pixels: int) -> None:
        """Scroll ``pixels`` towards older entries (negative: towards newer)."""
        entries = len(self.log.entries)
        if entries == 0 or pixels == 0:
            return
        self.dirty = True
        if self.anchor is None:
            if pixels < 0:
                return
            self.anchor, self.offset = entries - 1, 0
            self._counted = entries
        self.offset += pixels
        # Walk up while the anchor entry is entirely below the view.
        while self.anchor > 0 and self.offset >= self.height_of(self.anchor):
            self.offset -= self.height_of(self.anchor)
            self.anchor -= 1
        # Walk down while the offset went negative.
        while self.offset < 0:
            if self.anchor + 1 >= entries:
                self.follow()
                return
            self.anchor += 1
            self.offset += self.height_of(self.anchor)
        # Clamp at the top: there must be a full view of content above the bottom.
        above, index = -self.offset, self.anchor
        while index >= 0 and above < self._view_height():
            above += self.height_of(index)
            index -= 1
        if above < self._view_height():
            self._go_top()
        elif self.anchor == entries - 1 and self.offset <= 0:
            self.follow()

    def follow(self) -> None:
        """Jump to the newest entry and stick to it."""
        self.anchor, self.offset = None, 0
        self.new_count = 0
        self.dirty = True

    def page(self, direction: int) -> None:
        """Scroll one page up (direction 1) or down (-1)."""
        self.scroll_by(direction * max(40, self.rect.height - 60))

    def home(self) -> None:
        """Jump to the oldest entry."""
        self._go_top()
        self.dirty = True

    # ------------------------------------------------------------------ widget

    def handle_event(self, event) -> bool:
        """Mouse wheel over the view, clicks on the new-messages pill; True if used."""
        if event.type == pygame.MOUSEMOTION:
            hover = self._entry_at(event.pos) if self.rect.collidepoint(event.pos) else None
            if hover != self.hover:
                self.hover = hover
                self.dirty = True
            return False
        if event.type == pygame.WINDOWLEAVE and self.hover is not None:
            self.hover = None
            self.dirty = True
            return False
        if event.type == pygame.MOUSEWHEEL:
            if self.rect.collidepoint(pygame.mouse.get_pos()):
                self.scroll_by(int(event.y * SCROLL_STEP))
                return True
        elif event.type == pygame.MOUSEBUTTONDOWN and event.button == 1:
            if self._pill_rect is not None and self._pill_rect.collidepoint(event.pos):
                self.follow()
                return True
        return False

    def _entry_at(self, pos) -> Optional[int]:
        """Index of the entry drawn at screen ``pos`` in the last frame, if any."""
        for index, top in self._shown:
            if top <= pos[1] < top + self.height_of(index):
                kind = self.log.entries[index].kind
                return index if kind in COUNTED_KINDS else None
        return None

    def scroll_key(self, key: int, ctrl: bool) -> bool:
        """PageUp/PageDown always; Home/End when the screen passes them on."""
        if key == pygame.K_PAGEUP:
            self.page(1)
        elif key == pygame.K_PAGEDOWN:
            self.page(-1)
        elif key == pygame.K_HOME:
            self.home()
        elif key == pygame.K_END:
            self.follow()
        else:
            return False
        return True

    def update(self, dt: float) -> None:
        """Count entries that arrived while scrolled up."""
        total = len(self.log.entries)
        if self._counted < total:
            if self.anchor is not None:
                self.new_count += sum(1 for e in self.log.entries[self._counted:total]
                                      if e.kind in COUNTED_KINDS and not e.mine)
            self._counted = total
            self.dirty = True

    def visible_indices(self) -> List[Tuple[int, int]]:
        """(entry index, top y in screen pixels) of what a frame draws, bottom first."""
        entries = len(self.log.entries)
        if entries == 0:
            return []
        index = entries - 1 if self.anchor is None else self.anchor
        bottom = self.rect.bottom - theme.PAD // 2 + (0 if self.anchor is None else self.offset)
        shown = []
        while index >= 0 and bottom > self.rect.top:
            top = bottom - self.height_of(index)
            if top < self.rect.bottom:
                shown.append((index, top))
            bottom = top
            index -= 1
        return shown

    def draw(self, surface: pygame.Surface) -> None:
        """Draw the visible entries (and the pill and scrollbar) into ``surface``."""
        surface.fill(theme.BG, self.rect)
        previous_clip = surface.get_clip()
        surface.set_clip(self.rect)
        shown = self.visible_indices()
        if not shown:
            hint = self.fonts.body.render("No messages yet. Say hello!", theme.TEXT_FAINT)
            surface.blit(hint, hint.get_rect(center=self.rect.center))
        for index, top in shown:
            if index == self.hover:
                self._draw_hover(surface, index, top)
            surface.blit(self.render_entry(index), (self.rect.x + theme.PAD - 8, top))
        self._shown = shown
        self._pill_rect = None
        if self.anchor is not None:
            self._draw_scrollbar(surface, shown)
            if self.new_count:
                self._draw_pill(surface)
        surface.set_clip(previous_clip)
        self.dirty = False

    def _draw_hover(self, surface, index: int, top: int) -> None:
        """A faint band behind the entry under the mouse; grouped lines show their time."""
        entry = self.log.entries[index]
        height = self.height_of(index)
        band = pygame.Rect(self.rect.x, top, self.rect.width, height)
        if entry.kind == CHAT and not entry.grouped:
            band.top += theme.GROUP_GAP - 6
            band.height -= theme.GROUP_GAP - 6
        if entry.kind != PRIVATE:
            surface.fill(theme.HOVER_ROW, band)
        if entry.kind == CHAT and entry.grouped:
            stamp = self.fonts.small.render(clock_text(entry.ts), theme.TEXT_FAINT)
            y = top + theme.ITEM_GAP // 2 + (self.fonts.body.height - stamp.get_height()) // 2 + 1
            surface.blit(stamp, (self.rect.x + theme.PAD, y))

    def _draw_scrollbar(self, surface, shown) -> None:
        entries = len(self.log.entries)
        if not shown or entries < 2:
            return
        first = shown[-1][0]
        last = shown[0][0]
        track = self.rect.inflate(0, -12)
        thumb_h = max(24, int(track.height * (last - first + 1) / entries))
        pos = (first / max(1, entries - (last - first + 1)))
        y = track.top + int((track.height - thumb_h) * min(1.0, pos))
        pygame.draw.rect(surface, theme.INPUT_BORDER,
                         pygame.Rect(self.rect.right - 7, y, 4, thumb_h), border_radius=2)

    def _draw_pill(self, surface) -> None:
        n = self.new_count
        label = self.fonts.small_bold.render(
            f"{n} new message{'s' if n != 1 else ''}  \u2193", (255, 255, 255))
        pill = label.get_rect().inflate(28, 14)
        pill.midbottom = (self.rect.centerx, self.rect.bottom - 12)
        pygame.draw.rect(surface, theme.ACCENT, pill, border_radius=pill.height // 2)
        surface.blit(label, label.get_rect(center=pill.center))
        self._pill_rect = pill
