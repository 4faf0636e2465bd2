"""The sidebar's room list: your rooms and private conversations, click to switch.

It sits above the member list and reads the view model's ``rooms``
(``ui/rooms.py``): ``#lobby`` first, your other rooms by name, then private
conversations (``@bob``). The current room's row is highlighted; a room with unread
lines shows their count in a pill, in the accent colour when your name was mentioned
(or a private line came), with the room's name in bold. While ``#lobby`` is the only
room the list takes no space at all, so one room looks as it always did. It redraws
only when the rooms' version or the hovered row changes.
"""

from __future__ import annotations

from typing import List, Optional

import pygame

from ui import theme
from ui.chatlog import ChatLog
from ui.textfonts import Fonts, clean_text

ROW = 28
TOP = 40          # the first row below the "ROOMS" title
BOTTOM = 10       # space under the last row
MENTION_BG = theme.ACCENT
UNREAD_BG = theme.dim(theme.TEXT_MUTED, 0.5)


class RoomList:
    """The room list sidebar section (no height while only #lobby exists)."""

    def __init__(self, rect: pygame.Rect, fonts: Fonts, log: ChatLog):
        self.rect = pygame.Rect(rect)
        self.fonts = fonts
        self.log = log
        self.hover: Optional[int] = None
        self._drawn: tuple = ()
        self.dirty = True

    def wanted_height(self) -> int:
        """The height the list needs (0 while #lobby is the only room)."""
        rooms = self.log.rooms
        return 0 if rooms.only_lobby() else TOP + ROW * len(rooms.names()) + BOTTOM

    def row_rects(self) -> List[pygame.Rect]:
        """Screen rects of the rows, in ``rooms.names()`` order."""
        if not self.rect.height:
            return []
        return [pygame.Rect(self.rect.x + 8, self.rect.y + TOP + i * ROW, self.rect.width - 16,
                            ROW - 2) for i in range(len(self.log.rooms.names()))]

    def handle_event(self, event) -> bool:
        """Hover and click on a room; a click switches to it. True if used."""
        if not self.rect.height or not hasattr(event, "pos"):
            return False
        inside = self.rect.collidepoint(event.pos)
        index = next((i for i, r in enumerate(self.row_rects()) if r.collidepoint(event.pos)),
                     None) if inside else None
        if event.type == pygame.MOUSEMOTION:
            if index != self.hover:
                self.hover, self.dirty = index, True
            return False
        if event.type == pygame.MOUSEBUTTONDOWN and event.button == 1 and inside:
            if index is not None:
                self.log.rooms.switch(self.log.rooms.names()[index])
            return True
        return False

    def _state(self) -> tuple:
        return (self.log.rooms.version, self.log.rooms.current, self.hover, self.rect.size)

    def update(self, dt: float) -> None:
        """Mark for redraw when the rooms changed."""
        if self._state() != self._drawn:
            self.dirty = True

    def _pill(self, count: int, mention: bool) -> pygame.Surface:
        f = self.fonts.small_bold
        text = f.render(str(count) if count < 100 else "99+", theme.TEXT)
        pill = pygame.Surface((max(text.get_width() + 12, 22), text.get_height() + 2))
        pill.fill((1, 2, 3))
        pill.set_colorkey((1, 2, 3))
        pygame.draw.rect(pill, MENTION_BG if mention else UNREAD_BG, pill.get_rect(),
                         border_radius=pill.get_height() // 2)
        pill.blit(text, ((pill.get_width() - text.get_width()) // 2, 1))
        return pill

    def draw(self, surface: pygame.Surface) -> None:
        """The title, then one row per room: name, and the unread pill."""
        self._drawn = self._state()
        self.dirty = False
        if not self.rect.height:
            return
        f, rooms = self.fonts, self.log.rooms
        surface.fill(theme.SIDEBAR_BG, self.rect)
        surface.blit(f.small_bold.render("ROOMS", theme.TEXT_MUTED), (self.rect.x + 18, self.rect.y + 18))
        clip = surface.get_clip()
        surface.set_clip(self.rect)
        for i, (name, row) in enumerate(zip(rooms.names(), self.row_rects())):
            current = name == rooms.current
            if current or i == self.hover:
                pygame.draw.rect(surface, theme.INPUT_BG if current else theme.HOVER_BG, row,
                                 border_radius=6)
            unread, mention = rooms.unread.get(name, 0), rooms.mention.get(name, False)
            mark = f.body.render(name[0], theme.TEXT_FAINT)
            surface.blit(mark, (row.x + 10, row.centery - mark.get_height() // 2))
            font = f.body if not unread or current else f.small_bold
            colour = theme.TEXT if current or unread else theme.TEXT_MUTED
            label = font.render(clean_text(name[1:]), MENTION_BG if mention and not current else colour)
            pill = self._pill(unread, mention) if unread and not current else None
            x = row.x + 12 + mark.get_width() + 4
            max_w = row.right - x - 8 - (pill.get_width() + 6 if pill else 0)
            if label.get_width() > max_w:
                label = label.subsurface((0, 0, max(1, max_w), label.get_height()))
            surface.blit(label, (x, row.centery - label.get_height() // 2))
            if pill is not None:
                surface.blit(pill, (row.right - pill.get_width() - 6, row.centery - pill.get_height() // 2))
        surface.set_clip(clip)
        pygame.draw.line(surface, theme.DIVIDER, (self.rect.x + 14, self.rect.bottom - 2),
                         (self.rect.right - 14, self.rect.bottom - 2))
