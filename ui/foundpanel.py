"""The list of chats found, drawn: one row per server, or a sentence while there is none.

Each row shows the server's name, its address, how many people are in it, a lock
when it uses TLS and a key when it wants a password (shapes, not glyphs: no font
needed). A server whose advertised certificate is not the pinned one has a red row
saying so instead of its address. The selected row has an accent bar; with the
keyboard focus on the list, the box has the focus ring the fields have.

The panel only draws and answers "which row is at this point"; the connect screen
turns clicks and keys into choices (``ui.connectscreen``) and the model
(``ui.foundlist.FoundList``) holds the rows and the selection. It redraws only when
the model's version, the search state, the focus, the hover or the scroll changed.
"""

from __future__ import annotations

from typing import Optional

import pygame

from ui import theme
from ui.foundlist import FoundList
from ui.textfonts import Fonts
from ui.tlsbadge import LOCK_W, draw_lock
from ui.userlist import fit_text
from ui.wrapping import wrap_text

ROW_H = 34            # one server: name, address, people and the lock and key
PAD = 5               # inside the box, around the rows
KEY_W = 16
WARNING = "CERTIFICATE CHANGED"  # advertised is not the pinned one; the message says more


def draw_key(surface: pygame.Surface, colour, x: int, cy: int) -> None:
    """A key, ``KEY_W`` wide, lying on its side: a ring, a shaft and two teeth."""
    pygame.draw.circle(surface, colour, (x + 4, cy), 4, width=2)
    pygame.draw.line(surface, colour, (x + 8, cy), (x + KEY_W - 1, cy), 2)
    pygame.draw.line(surface, colour, (x + 11, cy), (x + 11, cy + 4), 2)
    pygame.draw.line(surface, colour, (x + KEY_W - 2, cy), (x + KEY_W - 2, cy + 4), 2)


class FoundPanel:
    """The list's box on the connect screen.

    Args:
        fonts: the UI's fonts.
        model: the rows and the selection.
    """

    def __init__(self, fonts: Fonts, model: FoundList):
        self.fonts = fonts
        self.model = model
        self.rect = pygame.Rect(0, 0, 10, ROW_H + 2 * PAD)
        self.focused = False
        self.hover: Optional[int] = None
        self.scroll = 0                  # first row shown
        self._dirty = True
        self._drawn: tuple = ()

    # ------------------------------------------------------------------ geometry

    @staticmethod
    def height_for(rows: int) -> int:
        """The box's height for ``rows`` visible rows."""
        return rows * ROW_H + 2 * PAD

    @staticmethod
    def rows_for(height: int) -> int:
        """How many rows a box of ``height`` pixels holds."""
        return (height - 2 * PAD) // ROW_H

    @property
    def visible_rows(self) -> int:
        """How many rows fit in the box."""
        return max(1, (self.rect.height - 2 * PAD) // ROW_H)

    def row_rect(self, index: int) -> pygame.Rect:
        """Where row ``index`` is drawn (outside the box when scrolled away)."""
        top = self.rect.y + PAD + (index - self.scroll) * ROW_H
        return pygame.Rect(self.rect.x + PAD, top, self.rect.width - 2 * PAD - 8, ROW_H - 2)

    def row_at(self, pos) -> Optional[int]:
        """The index of the row under ``pos``, or None."""
        if not self.rect.collidepoint(pos):
            return None
        last = min(len(self.model.rows), self.scroll + self.visible_rows)
        for index in range(self.scroll, last):
            if self.row_rect(index).collidepoint(pos):
                return index
        return None

    def set_hover(self, pos) -> None:
        """The mouse moved to ``pos``: highlight the row under it."""
        self.hover = self.row_at(pos)

    def scroll_by(self, rows: int) -> bool:
        """Scroll ``rows`` down (negative: up); True if it moved."""
        top = max(0, min(len(self.model.rows) - self.visible_rows, self.scroll + rows))
        moved = top != self.scroll
        self.scroll = top
        return moved

    def show_selected(self) -> None:
        """Scroll so that the selected row is in view."""
        index = self.model.selected
        self.scroll = max(0, min(self.scroll, len(self.model.rows) - self.visible_rows))
        if index is None:
            return
        if index < self.scroll:
            self.scroll = index
        elif index >= self.scroll + self.visible_rows:
            self.scroll = index - self.visible_rows + 1

    # ------------------------------------------------------------------ drawing

    def _state(self) -> tuple:
        model = self.model
        return (model.version, model.searching, self.focused, self.hover, self.scroll,
                tuple(self.rect))

    @property
    def dirty(self) -> bool:
        """Whether something shown changed since the last draw."""
        return self._dirty or self._state() != self._drawn

    @dirty.setter
    def dirty(self, value: bool) -> None:
        self._dirty = value

    # the connect screen's focus protocol (its keys and clicks are the screen's)
    def handle_event(self, event) -> bool:
        return False

    def update(self, dt: float) -> None:
        """Nothing moves by itself (the model's sentence is asked for when drawn)."""

    def next_blink_in(self) -> float:
        """No cursor: when the search's sentence changes is the only wake-up."""
        return self.model.next_change_in()

    def draw(self, surface: pygame.Surface) -> None:
        """The box, then its rows or its sentence."""
        self.show_selected()
        box = self.rect
        pygame.draw.rect(surface, theme.SIDEBAR_BG, box, border_radius=theme.RADIUS)
        border = theme.INPUT_BORDER_FOCUS if self.focused else theme.INPUT_BORDER
        pygame.draw.rect(surface, border, box, width=2 if self.focused else 1,
                         border_radius=theme.RADIUS)
        rows = self.model.rows
        if not rows:
            self._draw_sentence(surface)
        else:
            clip = surface.get_clip()
            surface.set_clip(box.inflate(-2, -2))
            columns = self._columns()
            for index in range(self.scroll, min(len(rows), self.scroll + self.visible_rows)):
                self._draw_row(surface, index, columns)
            surface.set_clip(clip)
            if len(rows) > self.visible_rows:
                self._draw_scrollbar(surface)
        self._drawn = self._state()
        self._dirty = False

    def _draw_sentence(self, surface: pygame.Surface) -> None:
        font = self.fonts.small
        text = self.model.empty_text()
        colour = theme.TEXT_MUTED if self.model.searching else theme.TEXT
        y = self.rect.y + PAD + 6
        for line in wrap_text(text, self.rect.width - 2 * PAD - 16, font.width):
            if y + font.height > self.rect.bottom - PAD:
                break
            surface.blit(font.render(line, colour), (self.rect.x + PAD + 8, y))
            y += font.height + 2

    def _draw_row(self, surface: pygame.Surface, index: int, columns: tuple) -> None:
        f, row = self.fonts, self.model.rows[index]
        rect = self.row_rect(index)
        selected = index == self.model.selected
        if row.warning:
            pygame.draw.rect(surface, theme.ERROR_BG, rect, border_radius=6)
        elif selected:
            pygame.draw.rect(surface, theme.INPUT_BG, rect, border_radius=6)
        elif index == self.hover:
            pygame.draw.rect(surface, theme.HOVER_ROW, rect, border_radius=6)
        if selected:
            bar = theme.ERROR if row.warning else theme.ACCENT
            pygame.draw.rect(surface, bar, pygame.Rect(rect.x, rect.y + 6, 3, rect.height - 12),
                             border_radius=2)
        x, right, cy = rect.x + 14, rect.right - 10, rect.centery
        people = f.small.render(row.people, theme.TEXT_MUTED)
        surface.blit(people, (right - people.get_width(), cy - people.get_height() // 2))
        right = self._draw_icons(surface, row.found, right - columns[0] - 14, cy, columns[1:])
        room = right - x - 12 - f.small_bold.width(WARNING) if row.warning \
            else (right - x) * 3 // 5  # the warning is shown whole; an address may be cut
        name_text = fit_text(row.name, max(40, room), f.bold.width)
        name = f.bold.render(name_text, theme.ERROR if row.warning else theme.TEXT)
        surface.blit(name, (x, cy - name.get_height() // 2))
        x += name.get_width() + 12
        font, text, colour = ((f.small_bold, WARNING, theme.ERROR) if row.warning
                              else (f.small, row.address, theme.TEXT_MUTED))
        if right - 12 - x > 20:
            label = font.render(fit_text(text, right - 12 - x, font.width), colour)
            surface.blit(label, (x, cy - label.get_height() // 2))

    ICONS = (("pw", "password", theme.WARN, KEY_W, draw_key),
             ("tls", "TLS", theme.OK, LOCK_W, draw_lock))

    def _columns(self) -> tuple:
        """Widths of the people column and of the key and lock columns (0: no row has
        one), so that the same things line up from row to row."""
        font, rows = self.fonts.small, self.model.rows
        widths = [max(font.width(row.people) for row in rows)]
        for attribute, word, _, icon, _ in self.ICONS:
            wanted = any(getattr(row.found, attribute) for row in rows)
            widths.append(icon + 5 + font.width(word) if wanted else 0)
        return tuple(widths)

    def _draw_icons(self, surface: pygame.Surface, found, right: int, cy: int,
                    columns: tuple) -> int:
        """The key (password) and the lock (TLS) with their words, each in its column,
        the columns ending at ``right``; returns the left edge of the columns."""
        font = self.fonts.small
        for (attribute, word, colour, icon, draw), width in zip(self.ICONS, columns):
            if not width:
                continue
            right -= width
            if getattr(found, attribute):
                draw(surface, colour, right, cy)
                label = font.render(word, colour)
                surface.blit(label, (right + icon + 5, cy - label.get_height() // 2))
            right -= 12
        return right

    def _draw_scrollbar(self, surface: pygame.Surface) -> None:
        rows, shown = len(self.model.rows), self.visible_rows
        track = pygame.Rect(self.rect.right - 8, self.rect.y + PAD, 4, self.rect.height - 2 * PAD)
        pygame.draw.rect(surface, theme.INPUT_BORDER, track, border_radius=2)
        thumb_h = max(12, track.height * shown // rows)
        thumb_y = track.y + (track.height - thumb_h) * self.scroll // max(1, rows - shown)
        pygame.draw.rect(surface, theme.TEXT_MUTED, pygame.Rect(track.x, thumb_y, 4, thumb_h),
                         border_radius=2)
