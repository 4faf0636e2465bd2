"""The sidebar: who is online, you first and marked, click a name to whisper.

It draws from the view model's ``users`` (kept current from welcome, join, leave,
nick, crowd notices and ``/who`` replies) and re-renders only when that list's version, the
connection state or the hovered row changes. While the link is down the list is
*stale* (nobody can tell who left meanwhile): it says so and is drawn grey. A click returns the text to put in the input box (``/msg NAME ``)
through ``take_clicked()``; the screen does the rest.

Members who are away (``log.presence.away``) are dimmed, with their message in small
type beside the name (cut to fit) and in full in a tooltip while the row is hovered.
Ops (the current room's ``Roles``: ops and admins) get a small "op" badge after the
name, in the accent colour: visible at a glance, quieter than the name itself.

It lists the current room's members (``log.rooms``): everyone connected in #lobby,
the room's members elsewhere, the two of you in a private conversation.
"""

from __future__ import annotations

from typing import List, Optional

import pygame

from ui import theme
from ui.chatlog import ChatLog
from ui.roles import LOBBY
from ui.textfonts import Fonts, clean_text
from ui.wrapping import wrap_text

ROW = 34
TOP = 44         # the first row below the title
STALE_TOP = 62   # ... below the two-line "offline" title
TIP_LINES = 4    # an away message's tooltip shows at most this many lines
OP_BADGE_BG = theme.dim(theme.ACCENT, 0.35)   # the "op" pill: a quiet accent
OP_BADGE_TEXT = (190, 206, 255)


def fit_text(text: str, width: int, measure) -> str:
    """``text`` if it fits in ``width`` pixels, else its longest prefix that fits with
    an ellipsis (the full text is in the hover tooltip)."""
    if measure(text) <= width:
        return text
    while text and measure(text + "\u2026") > width:
        text = text[:-1]
    return text.rstrip() + "\u2026"


class UserList:
    """The user list sidebar."""

    def __init__(self, rect: pygame.Rect, fonts: Fonts, log: ChatLog):
        self.rect = pygame.Rect(rect)
        self.fonts = fonts
        self.log = log
        self.hover: Optional[int] = None
        self._clicked: Optional[str] = None
        self._drawn_version: tuple = ()
        self.dirty = True

    @property
    def stale(self) -> bool:
        """True while not connected: the list is the last one known."""
        return self.log.status.state != "connected"

    def members(self) -> List[str]:
        """The current room's members, you first."""
        return self.log.rooms.members_of(self.log.rooms.current, self.log.users, self.log.me)

    def is_op(self, name: str) -> bool:
        """Whether ``name`` is an op of the current room."""
        return self.log.rooms.current.startswith("#") and self.log.rooms.current_roles().is_op(name)

    def title_lines(self) -> List[str]:
        """The sidebar's heading: the count, or that the list may be out of date."""
        if self.stale:
            return ["OFFLINE", "list may be out of date"]
        word = "ONLINE" if self.log.rooms.current == LOBBY else "MEMBERS"
        return [f"{word} \u2014 {len(self.members())}"]

    def away_label(self, name: str) -> Optional[str]:
        """The away message of ``name`` (None when not away)."""
        return self.log.presence.away.get(name)

    def _state(self) -> tuple:
        rooms = self.log.rooms
        return (self.log.users_version, rooms.current_roles().version, self.stale, rooms.version,
                rooms.current, self.rect.topleft)

    def row_rects(self) -> List[pygame.Rect]:
        """Screen rects of the user rows, in ``log.users`` order."""
        top = self.rect.y + (STALE_TOP if self.stale else TOP)
        return [pygame.Rect(self.rect.x + 8, top + i * ROW, self.rect.width - 16, ROW - 2)
                for i in range(len(self.members()))]

    def handle_event(self, event) -> bool:
        """Hover and click on names; True if used."""
        if event.type == pygame.MOUSEMOTION:
            hover = None
            if self.rect.collidepoint(event.pos):
                for i, row in enumerate(self.row_rects()):
                    if row.collidepoint(event.pos):
                        hover = i
            if hover != self.hover:
                self.hover = hover
                self.dirty = True
            return False
        if event.type == pygame.MOUSEBUTTONDOWN and event.button == 1 \
                and self.rect.collidepoint(event.pos):
            for i, row in enumerate(self.row_rects()):
                members = self.members()
                if row.collidepoint(event.pos) and i < len(members):
                    name = members[i]
                    if name != self.log.me:
                        self._clicked = name
                    return True
            return True
        return False

    def take_clicked(self) -> Optional[str]:
        """The name clicked since the last call, if any."""
        name, self._clicked = self._clicked, None
        return name

    def update(self, dt: float) -> None:
        """Mark for redraw when the user list changed."""
        if self._state() != self._drawn_version:
            self.dirty = True

    def _draw_tip(self, surface: pygame.Surface) -> None:
        """The hovered member's away message in full, in a box under their row."""
        rows = self.row_rects()
        members = self.members()
        if self.hover is None or self.hover >= min(len(rows), len(members)):
            return
        away = self.away_label(members[self.hover])
        if away is None:
            return
        f, row = self.fonts.small, rows[self.hover]
        lines = wrap_text(clean_text(f"away: {away}"), row.width - 16, f.width)[:TIP_LINES]
        box = pygame.Rect(row.x, row.bottom + 2, row.width, len(lines) * f.height + 10)
        pygame.draw.rect(surface, theme.INPUT_BG, box, border_radius=6)
        pygame.draw.rect(surface, theme.INPUT_BORDER, box, width=1, border_radius=6)
        for i, text in enumerate(lines):
            surface.blit(f.render(text, theme.TEXT_MUTED), (box.x + 8, box.y + 5 + i * f.height))

    def _op_badge(self, faded: bool) -> pygame.Surface:
        """The small "op" pill drawn after an op's name (dimmer when the row is)."""
        f = self.fonts.small_bold
        text = f.render("op", theme.dim(OP_BADGE_TEXT, 0.6) if faded else OP_BADGE_TEXT)
        badge = pygame.Surface((text.get_width() + 10, text.get_height() + 2))
        badge.fill((1, 2, 3))          # the corners: see-through (a hovered row shows)
        badge.set_colorkey((1, 2, 3))
        pygame.draw.rect(badge, OP_BADGE_BG, badge.get_rect(), border_radius=5)
        badge.blit(text, (5, 1))
        return badge

    def draw(self, surface: pygame.Surface) -> None:
        """Header with the count (or "offline"), then one row per user, grey when stale."""
        f = self.fonts
        surface.fill(theme.SIDEBAR_BG, self.rect)
        stale = self.stale
        for i, line in enumerate(self.title_lines()):
            font, colour = (f.small_bold, theme.TEXT_MUTED) if i == 0 else (f.small, theme.TEXT_FAINT)
            title = font.render(line, theme.WARN if stale and i == 0 else colour)
            surface.blit(title, (self.rect.x + 18, self.rect.y + 18 + i * (f.small.height + 2)))
        clip = surface.get_clip()
        surface.set_clip(self.rect)
        for i, (name, row) in enumerate(zip(self.members(), self.row_rects())):
            if row.top > self.rect.bottom:
                break
            mine = name == self.log.me
            if i == self.hover and not mine:
                pygame.draw.rect(surface, theme.HOVER_BG, row, border_radius=6)
            away = self.away_label(name)
            faded = stale or away is not None
            dot = (row.x + 16, row.centery)
            dot_colour = theme.dim(self.log.colours.colour(name), 0.4) if faded else self.log.colours.colour(name)
            pygame.draw.circle(surface, dot_colour, dot, 5)
            label = f.body.render(clean_text(name), theme.TEXT_FAINT if faded else theme.TEXT)
            x = row.x + 30
            badge = self._op_badge(faded) if self.is_op(name) else None
            max_w = row.right - x - (40 if mine else 6) - (badge.get_width() + 6 if badge else 0)
            if label.get_width() > max_w:
                label = label.subsurface((0, 0, max(1, max_w), label.get_height()))
            surface.blit(label, (x, row.centery - label.get_height() // 2))
            note_x = x + label.get_width() + 8
            if badge is not None:
                surface.blit(badge, (note_x - 2, row.centery - badge.get_height() // 2))
                note_x += badge.get_width() + 6
            room = x + max_w - note_x
            if away is not None and room > 24:
                note = f.small.render(fit_text(clean_text(away), room, f.small.width),
                                      theme.dim(theme.TEXT_FAINT, 0.8))
                surface.blit(note, (note_x, row.centery - note.get_height() // 2 + 1))
            if mine:
                you = f.small.render("you", theme.SELF_MARK)
                surface.blit(you, (row.right - you.get_width() - 8,
                                   row.centery - you.get_height() // 2))
        self._draw_tip(surface)
        surface.set_clip(clip)
        self._drawn_version = self._state()
        self.dirty = False
