"""The message view: wrapped, cached, scrollable, drawn in proportion to what shows.

Cost must follow what is visible, not the history, so:

* Scrolling is *anchored*: the position is "entry ``anchor``'s bottom sits ``offset``
  pixels below the view's bottom" (``anchor is None`` means following the newest
  line). The anchor is the entry itself, not its index, so entries the log inserts
  above it (missed lines, in seq order) or drops from the top (the log is bounded)
  do not move what the user is reading. Drawing walks up from the anchor until the
  view is full, and scrolling walks only over the entries it passes, so thousands
  of lines of scrollback cost nothing while they are off screen.
* An entry's layout (``ui.entrylayout``) is computed when it first becomes visible
  and cached by entry identity (weakly: a dropped entry's layout goes with it),
  content ``version`` and width; a resize re-wraps lazily, only where visible.
* Rendered entry surfaces sit in a small LRU cache; a frame blits them. The view
  redraws only when the log's ``version`` moved, or on scroll, hover and resize.

While the user is scrolled up, new entries do not move the view; a pill at the
bottom counts the messages that arrived ("3 new messages"), and clicking it or
scrolling back to the bottom follows again.
"""

from __future__ import annotations

import collections
import weakref
from typing import List, Optional, Tuple

import pygame

from ui import theme
from ui.chatlog import ChatLog
from ui.entries import ACTION, CHAT, PRIVATE, Entry
from ui.entrylayout import AvatarCache, EntryLayouts, Layout, clock_text
from ui.textfonts import Fonts

SURFACE_CACHE = 400        # rendered entries kept (a few screens' worth)
SCROLL_STEP = 60           # pixels per mouse-wheel notch
COUNTED_KINDS = (CHAT, ACTION, PRIVATE)


class MessageView:
    """Shows a ``ChatLog``'s entries; owns its rect, scroll state and caches."""

    def __init__(self, rect: pygame.Rect, fonts: Fonts, log: ChatLog):
        self.rect = pygame.Rect(rect)
        self.fonts = fonts
        self.log = log
        self.anchor: Optional[Entry] = None
        self.offset = 0
        self.new_count = 0
        self._hint = 0                      # where the anchor was last found
        self._messages_seen = log.messages_added
        self._version_seen = log.version
        self._dropped_seen = log.dropped
        self._layouter = EntryLayouts(fonts, log.colours.colour)
        self._layouts: "weakref.WeakKeyDictionary[Entry, Layout]" = weakref.WeakKeyDictionary()
        self._surfaces: "collections.OrderedDict[Entry, Tuple[int, int, pygame.Surface]]" = \
            collections.OrderedDict()
        self._avatars = AvatarCache(fonts.title, theme.AVATAR, log.colours.colour)
        self._pill_rect: Optional[pygame.Rect] = None
        self.hover: Optional[Entry] = None  # entry under the mouse: highlighted, shows its time
        self._shown: List[Tuple[Entry, int, int]] = []  # entry, top, height
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

    def layout_entry(self, entry: Entry, width: int) -> Layout:
        """Wrap and place one entry for a content ``width`` (see ``ui.entrylayout``)."""
        return self._layouter.layout_entry(entry, width)

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

    def _anchor_index(self) -> Optional[int]:
        """Where the anchor entry is now (None while following)."""
        if self.anchor is None:
            return None
        entries = self.log.entries
        if not (0 <= self._hint < len(entries) and entries[self._hint] is self.anchor):
            try:
                self._hint = entries.index(self.anchor)  # identity: entries compare by id
            except ValueError:  # dropped from the top of a bounded log: show the top
                self._go_top()
                return self._anchor_index()
        return self._hint

    def _set_anchor(self, index: int) -> None:
        self.anchor, self._hint = self.log.entries[index], index

    def _go_top(self) -> None:
        entries = len(self.log.entries)
        filled, index = 0, -1
        while index + 1 < entries and filled < self._view_height():
            index += 1
            filled += self.height_of(index)
        if index < 0 or (index >= entries - 1 and filled <= self._view_height()):
            self.follow()  # everything fits: nothing to scroll
            return
        self._set_anchor(index)
        self.offset = filled - self._view_height()
        if index >= entries - 1 and self.offset <= 0:
            self.follow()

    def scroll_by(self, pixels: int) -> None:
        """Scroll ``pixels`` towards older entries (negative: towards newer)."""
        entries = len(self.log.entries)
        if entries == 0 or pixels == 0:
            return
        self.dirty = True
        anchor = self._anchor_index()
        if anchor is None:
            if pixels < 0:
                return
            anchor, self.offset = entries - 1, 0
            self._messages_seen = self.log.messages_added
        self.offset += pixels
        # Walk up while the anchor entry is entirely below the view.
        while anchor > 0 and self.offset >= self.height_of(anchor):
            self.offset -= self.height_of(anchor)
            anchor -= 1
        # Walk down while the offset went negative.
        while self.offset < 0:
            if anchor + 1 >= entries:
                self.follow()
                return
            anchor += 1
            self.offset += self.height_of(anchor)
        self._set_anchor(anchor)
        # Clamp at the top: there must be a full view of content above the bottom.
        above, index = -self.offset, anchor
        while index >= 0 and above < self._view_height():
            above += self.height_of(index)
            index -= 1
        if above < self._view_height():
            self._go_top()
        elif anchor == entries - 1 and self.offset <= 0:
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
            if hover is not self.hover:
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

    def _entry_at(self, pos) -> Optional[Entry]:
        """The message drawn at screen ``pos`` in the last frame, if any."""
        for entry, top, height in self._shown:
            if top <= pos[1] < top + height:
                return entry if entry.kind in COUNTED_KINDS else None
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
        """Redraw only if the log changed; count messages that arrived while scrolled up."""
        if self.log.version != self._version_seen:
            self._version_seen = self.log.version
            self.dirty = True
        if self.log.dropped != self._dropped_seen:  # let go of what the log dropped
            self._dropped_seen = self.log.dropped
            kept = set(map(id, self.log.entries))
            for entry in [e for e in self._surfaces if id(e) not in kept]:
                del self._surfaces[entry]
            if self.hover is not None and id(self.hover) not in kept:
                self.hover = None
            self._shown = []
        added = self.log.messages_added - self._messages_seen
        if added:
            self._messages_seen = self.log.messages_added
            if self.anchor is not None:
                self.new_count += added

    def visible_indices(self) -> List[Tuple[int, int]]:
        """(entry index, top y in screen pixels) of what a frame draws, bottom first."""
        entries = len(self.log.entries)
        if entries == 0:
            return []
        anchor = self._anchor_index()
        index = entries - 1 if anchor is None else anchor
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
        entries = self.log.entries
        for index, top in shown:
            if entries[index] is self.hover:
                self._draw_hover(surface, index, top)
            surface.blit(self.render_entry(index), (self.rect.x + theme.PAD - 8, top))
        self._shown = [(entries[index], top, self.height_of(index)) for index, top in shown]
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
