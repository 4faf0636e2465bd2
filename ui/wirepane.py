"""The wire inspector pane (F12): the frames of ``ui/wireview.py``, drawn.

A widget like the others (``rect``, ``handle_event -> bool``, ``update``, ``draw``):
it sits at the right of the window while open and the chat screen is laid out in
the rest (``split``). Closed, it takes no space, handles nothing but F12, and draws
nothing; its monospace font is loaded the first time it opens.

From top to bottom: a bar (the frame count, the filter box, Pause), the list (one row
a frame: time, direction, what it is), then the selected frame (the newest while none
is): its 64 header bytes as 4 rows of 16 cells, each the character over its hex
value, the length digits highlighted; what the header says; the link to the frame it
answers or that answers it; the body, pretty-printed.

Keys while the pane has the keyboard (F12 gives it; Escape or a click in the chat
gives it back): typing filters, Up/Down select, Enter follows the link, Escape clears
the filter; Ctrl+P pauses and resumes whenever the pane is open. Clicking a row
selects it, clicking the selected row (or the link line) follows its link.
"""

from __future__ import annotations

import time
from typing import List, Optional, Tuple

import pygame

from lanchat.client.wiretap import SENT, WireFrame
from ui import theme
from ui.textfonts import FALLBACK_FAMILIES, Fonts, FontSet, clean_text
from ui.wireview import WireView, length_field, pretty_lines

MONO_FAMILIES = ["dejavusansmono", "notosansmono", "liberationmono", "ubuntumono",
                 "menlo", "consolas", "couriernew"]
MONO_SIZE = 13
MIN_WIDTH, MAX_WIDTH, SHARE = 400, 620, 0.46   # the pane's width: a share of the window
MIN_CHAT = 420                                 # what the chat keeps, at least
BAR = 40                                       # the top bar's height
SENT_COLOUR = (120, 170, 255)
RECEIVED_COLOUR = (110, 210, 140)
FIELD_BG = (120, 90, 20)                       # the length digits' cells
LINK_BG = (40, 56, 84)                         # the row the selection points at
SELECTED_BG = (58, 64, 86)


class WirePane:
    """The inspector: a ``WireView`` drawn in ``rect``, with its own keys and clicks.

    Args:
        fonts: the UI's fonts.
        view: the view model (holds the tap).
    """

    def __init__(self, fonts: Fonts, view: WireView):
        self.fonts = fonts
        self.view = view
        self.rect = pygame.Rect(0, 0, 0, 0)
        self.focused = False
        self.dirty = True
        self.detail_top = 0            # lines of the detail scrolled away
        self._mono: Optional[FontSet] = None
        self._drawn: Optional[tuple] = None
        self._rows: List[Tuple[pygame.Rect, int]] = []   # drawn rows: (rect, frame index)
        self._filter_rect = self._pause_rect = self._link_rect = pygame.Rect(0, 0, 0, 0)
        self._list_rect = self._detail_rect = pygame.Rect(0, 0, 0, 0)

    @property
    def open(self) -> bool:
        """Whether the pane is shown."""
        return self.view.open

    @property
    def needs_draw(self) -> bool:
        """Whether the pane must be drawn: open, and changed since it was drawn."""
        return self.view.open and self.dirty

    @property
    def mono(self) -> FontSet:
        """The monospace font, loaded on first use (never while the pane stays closed)."""
        if self._mono is None:
            self._mono = FontSet(MONO_SIZE, families=MONO_FAMILIES + FALLBACK_FAMILIES)
        return self._mono

    def split(self, size: Tuple[int, int]) -> Tuple[int, int]:
        """Place the pane in a window of ``size``; returns the size left for the chat."""
        w, h = size
        if not self.open:
            self.rect = pygame.Rect(w, 0, 0, h)
            return size
        width = max(MIN_WIDTH, min(MAX_WIDTH, int(w * SHARE), w - MIN_CHAT))
        width = min(width, w - 200)  # a tiny window still shows some of the chat
        self.rect = pygame.Rect(w - width, 0, width, h)
        self.dirty = True
        return w - width, h

    def toggle(self) -> None:
        """Open (with the keyboard) or close."""
        self.view.toggle()
        self.focused = self.view.open
        self.dirty = True

    # ------------------------------------------------------------------ events

    def handle_event(self, event) -> bool:
        """True if the pane used the event (F12 always is, when it toggles)."""
        if event.type == pygame.KEYDOWN and event.key == pygame.K_F12:
            self.toggle()
            return True
        if not self.open:
            return False
        ctrl = bool(getattr(event, "mod", 0) & pygame.KMOD_CTRL)
        if event.type == pygame.KEYDOWN and ctrl and event.key == pygame.K_p:
            self.view.set_paused(not self.view.paused)
            return True
        if event.type == pygame.MOUSEBUTTONDOWN and getattr(event, "button", 1) == 1:
            inside = self.rect.collidepoint(event.pos)
            if self.focused != inside:
                self.focused, self.dirty = inside, True
            return inside and self._click(event.pos)
        if event.type == pygame.MOUSEWHEEL:
            pos = pygame.mouse.get_pos()
            if not self.rect.collidepoint(pos):
                return False
            if self._detail_rect.collidepoint(pos):
                self.detail_top = max(0, self.detail_top - 3 * event.y)
                self.dirty = True
            else:
                self.view.scroll(-3 * event.y, self._rows_fit())
            return True
        if not self.focused:
            return False
        if event.type == pygame.TEXTINPUT:
            self.view.set_query(self.view.query + event.text)
            return True
        if event.type == pygame.KEYDOWN and not ctrl:
            return self._key(event.key)
        return False

    def _key(self, key: int) -> bool:
        view = self.view
        if key == pygame.K_ESCAPE:
            if view.query:
                view.set_query("")
            else:
                self.focused, self.dirty = False, True
        elif key == pygame.K_BACKSPACE:
            view.set_query(view.query[:-1])
        elif key in (pygame.K_UP, pygame.K_DOWN):
            view.move(-1 if key == pygame.K_UP else 1)
            self.detail_top = 0
        elif key in (pygame.K_RETURN, pygame.K_KP_ENTER):
            self.detail_top = 0 if view.follow_link() else self.detail_top
        return True  # while the pane has the keyboard, the chat's keys wait

    def _click(self, pos) -> bool:
        view = self.view
        if self._pause_rect.collidepoint(pos):
            view.set_paused(not view.paused)
        elif self._link_rect.collidepoint(pos):
            if view.follow_link():
                self.detail_top = 0
        else:
            for rect, index in self._rows:
                if rect.collidepoint(pos):
                    if index == view.selected:
                        view.follow_link()
                    else:
                        view.select(index)
                        view.follow = False
                    self.detail_top = 0
                    break
        return True

    def _rows_fit(self) -> int:
        return max(1, self._list_rect.height // self._row_height())

    def _row_height(self) -> int:
        return self.mono.height + 4

    # ------------------------------------------------------------------ drawing

    def update(self, dt: float) -> None:
        """Take new frames (only while open and not paused); mark what changed."""
        if not self.open:
            return
        self.view.refresh()
        state = (self.view.version, self.focused, self.detail_top, self.rect.size,
                 self.view.waiting if self.view.paused else 0)
        if state != self._drawn:
            self.dirty = True

    def draw(self, surface: pygame.Surface) -> None:
        """Draw the whole pane (only while open)."""
        if not self.open or not self.rect.width:
            return
        view = self.view
        self._drawn = (view.version, self.focused, self.detail_top, self.rect.size,
                       view.waiting if view.paused else 0)
        r = self.rect
        surface.fill(theme.SIDEBAR_BG, r)
        pygame.draw.line(surface, theme.DIVIDER, r.topleft, r.bottomleft)
        self._draw_bar(surface)
        rest = r.height - BAR
        self._list_rect = pygame.Rect(r.x + 1, r.y + BAR, r.width - 1, max(60, int(rest * 0.38)))
        self._detail_rect = pygame.Rect(r.x + 1, self._list_rect.bottom + 1, r.width - 1,
                                        r.bottom - self._list_rect.bottom - 1)
        pygame.draw.line(surface, theme.DIVIDER, (r.x, self._list_rect.bottom),
                         (r.right, self._list_rect.bottom))
        self._draw_list(surface)
        self._draw_detail(surface)
        self.dirty = False

    def _draw_bar(self, surface: pygame.Surface) -> None:
        f, view, r = self.fonts, self.view, self.rect
        bar = pygame.Rect(r.x + 1, r.y, r.width - 1, BAR)
        surface.fill(theme.HEADER_BG, bar)
        pygame.draw.line(surface, theme.DIVIDER, (bar.x, bar.bottom - 1), (bar.right, bar.bottom - 1))
        title = f.small_bold.render("Wire", theme.TEXT)
        surface.blit(title, (bar.x + 10, bar.centery - title.get_height() // 2))
        label = "Resume" if view.paused else "Pause"
        text = f.small.render(label, theme.TEXT)
        self._pause_rect = pygame.Rect(0, 0, text.get_width() + 18, 24)
        self._pause_rect.midright = (bar.right - 8, bar.centery)
        pygame.draw.rect(surface, theme.WARN if view.paused else theme.INPUT_BORDER,
                         self._pause_rect, 1, border_radius=5)
        surface.blit(text, text.get_rect(center=self._pause_rect.center))
        count = f"{len(view.shown())}/{len(view.frames)}" if view.query else f"{len(view.frames)}"
        status = f"{count} frames" + (f" \u00b7 paused, {view.waiting} new" if view.paused else "") \
            + (f" \u00b7 {view.lost} not kept" if view.lost else "")
        info = f.small.render(status, theme.WARN if view.paused else theme.TEXT_MUTED)
        info_x = self._pause_rect.x - 10 - info.get_width()
        left = bar.x + 10 + title.get_width() + 10
        self._filter_rect = pygame.Rect(left, bar.centery - 12, max(60, info_x - 10 - left), 24)
        surface.fill(theme.INPUT_BG, self._filter_rect)
        pygame.draw.rect(surface, theme.INPUT_BORDER_FOCUS if self.focused else theme.INPUT_BORDER,
                         self._filter_rect, 1, border_radius=5)
        shown = view.query + ("\u2502" if self.focused else "")
        hint = f.small.render(clean_text(shown) if shown else "type to filter", theme.TEXT
                              if view.query else theme.TEXT_FAINT)
        area = self._filter_rect.inflate(-12, 0)
        surface.set_clip(area)
        surface.blit(hint, (area.x + min(0, area.width - hint.get_width()),
                            area.centery - hint.get_height() // 2))
        surface.set_clip(None)
        surface.blit(info, (info_x, bar.centery - info.get_height() // 2))

    def _draw_list(self, surface: pygame.Surface) -> None:
        view, mono, area = self.view, self.mono, self._list_rect
        row_h = self._row_height()
        rows = view.visible(self._rows_fit())
        selected = view.selected_frame()
        target = view.linked(selected) if selected is not None else None
        self._rows = []
        surface.set_clip(area)
        y = area.y + 2
        if not rows:
            empty = "no frames yet" if not view.frames else "no frame matches the filter"
            surface.blit(self.fonts.small.render(empty, theme.TEXT_FAINT), (area.x + 10, y + 4))
        for frame in rows:
            row = pygame.Rect(area.x, y, area.width, row_h)
            if frame.index == view.selected:
                surface.fill(SELECTED_BG, row)
            elif frame.index == target:  # the frame the selected one points at
                surface.fill(LINK_BG, row)
                surface.fill(theme.ACCENT, (row.x, row.y, 3, row.height))
            sent = frame.direction == SENT
            clock = time.strftime("%H:%M:%S", time.localtime(frame.time))
            x = area.x + 8
            stamp = mono.render(clock, theme.TEXT_FAINT)
            surface.blit(stamp, (x, y + 2))
            x += stamp.get_width() + 8
            arrow = mono.render("\u2192" if sent else "\u2190", SENT_COLOUR if sent else RECEIVED_COLOUR)
            surface.blit(arrow, (x, y + 2))
            x += arrow.get_width() + 8
            fits = max(4, (area.right - x - 6) // max(1, mono.width("0")))
            text = clean_text(view.summary(frame))
            text = text if len(text) <= fits else text[:fits - 1] + "\u2026"
            surface.blit(mono.render(text, theme.TEXT), (x, y + 2))
            self._rows.append((row, frame.index))
            y += row_h
        surface.set_clip(None)

    def _draw_detail(self, surface: pygame.Surface) -> None:
        view, mono, area = self.view, self.mono, self._detail_rect
        frame = view.current()
        self._link_rect = pygame.Rect(0, 0, 0, 0)
        if frame is None:
            return
        surface.set_clip(area)
        x, y = area.x + 10, area.y + 8 - self.detail_top * (mono.height + 2)
        sent = frame.direction == SENT
        when = time.strftime("%H:%M:%S", time.localtime(frame.time)) + f".{int(frame.time * 1000) % 1000:03d}"
        title = f"{'sent' if sent else 'received'} at {when}  \u00b7  frame {frame.index + 1}"
        surface.blit(self.fonts.small_bold.render(title, SENT_COLOUR if sent else RECEIVED_COLOUR), (x, y))
        y += self.fonts.small_bold.height + 6
        y = self._draw_header(surface, frame, x, y)
        start, end = length_field(frame.header)
        digits = frame.header[start:end].decode("ascii", "replace")
        say = (f"header: bytes {start}-{end - 1} hold \"{digits}\", the rest is spaces: "
               f"a {frame.size}-byte body follows" if end > start else "header: no digits")
        y = self._text_line(surface, say, theme.TEXT_MUTED, x, y)
        target = view.linked(frame)
        if target is not None:
            other = next((f for f in view.frames if f.index == target), None)
            if other is not None:
                what = "answered by" if sent else "answers"
                line = self._fit_link(f"\u21aa {what} frame {target + 1}: ",
                                      clean_text(view.summary(other)[:70]), "  (Enter or click)",
                                      area.width - 20)
                label = self.fonts.small.render(line, theme.ACCENT)
                self._link_rect = pygame.Rect(x, y, label.get_width(), label.get_height())
                surface.blit(label, (x, y))
                y += label.get_height() + 4
        y += 4
        y = self._text_line(surface, f"body ({frame.size} bytes):", theme.TEXT_MUTED, x, y)
        for line in pretty_lines(frame, view.message(frame)):
            if y > area.bottom:
                break
            if y + mono.height >= area.y:
                surface.blit(mono.render(clean_text(line)[:300], theme.TEXT), (x, y))
            y += mono.height + 2
        surface.set_clip(None)

    def _fit_link(self, head: str, summary: str, tail: str, width: int) -> str:
        """The link line within ``width`` pixels: the summary is cut (with an ellipsis)
        so that the hint at its end, "(Enter or click)", stays in view."""
        font = self.fonts.small
        line = head + summary + tail
        while summary and font.width(line) > width:
            summary = summary[:-2]
            line = head + summary + "\u2026" + tail
        return line

    def _text_line(self, surface, text: str, colour, x: int, y: int) -> int:
        label = self.fonts.small.render(clean_text(text), colour)
        surface.blit(label, (x, y))
        return y + label.get_height() + 4

    def _draw_header(self, surface: pygame.Surface, frame: WireFrame, x: int, y: int) -> int:
        """The 64 header bytes as 4 rows of 16 cells: the character (a space as a faint
        dot) over its hex value, the length field's cells highlighted."""
        mono = self.mono
        cell_w = max(mono.width("00") + 8, (self._detail_rect.width - 20 - mono.width("48 ")) // 16)
        cell_h = 2 * mono.height + 4
        start, end = length_field(frame.header)
        for row in range(0, len(frame.header), 16):
            offset = mono.render(f"{row:2d}", theme.TEXT_FAINT)
            surface.blit(offset, (x, y + (cell_h - offset.get_height()) // 2))
            cx = x + mono.width("48 ")
            for i, byte in enumerate(frame.header[row:row + 16], start=row):
                cell = pygame.Rect(cx, y, cell_w - 2, cell_h)
                in_field = start <= i < end
                surface.fill(FIELD_BG if in_field else theme.HEADER_BG, cell)
                char = "\u00b7" if byte == 32 else (chr(byte) if 32 < byte < 127 else "?")
                top = mono.render(char, theme.TEXT if in_field or byte != 32 else theme.TEXT_FAINT)
                surface.blit(top, top.get_rect(midtop=(cell.centerx, cell.y + 1)))
                low = mono.render(f"{byte:02x}", theme.WARN if in_field else theme.TEXT_FAINT)
                surface.blit(low, low.get_rect(midbottom=(cell.centerx, cell.bottom - 1)))
                cx += cell_w
            y += cell_h + 3
        return y + 4
