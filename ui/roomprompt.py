"""Ctrl+K: the small "Join or switch to a room" prompt over the message view.

One line of text (it starts as ``#``), Enter to choose, Escape to cancel. It only
edits and hands back what was typed (``take_choice``); the chat screen decides:
switch if you are in that room, else send ``/join #name``. While it is open it takes
every key and text event, so nothing reaches the input box.
"""

from __future__ import annotations

from typing import Optional

import pygame

from ui import theme
from ui.textfonts import Fonts, clean_text

WIDTH, HEIGHT = 340, 96
TITLE = "Join or switch to a room"
HINT = "Enter: go there  \u00b7  Esc: cancel"


def room_name(text: str) -> str:
    """What was typed as a room (``#name``) or conversation (``@name``) name."""
    text = text.strip()
    return text if text.startswith(("#", "@")) else "#" + text


class RoomPrompt:
    """The prompt's text and its box, placed in ``area`` (the message view)."""

    def __init__(self, area: pygame.Rect, fonts: Fonts):
        self.fonts = fonts
        self.text = "#"
        self.rect = pygame.Rect(0, 0, min(WIDTH, max(120, area.width - 32)), HEIGHT)
        self.rect.midtop = (area.centerx, area.y + 24)
        self._choice: Optional[str] = None
        self.closed = False
        self.dirty = True

    def handle_event(self, event) -> bool:
        """Edit on keys and text; Enter chooses, Escape cancels. Takes every key."""
        if event.type == pygame.TEXTINPUT:
            if self.text == "#" and event.text[:1] in ("#", "@"):
                self.text = ""  # the user types the mark themselves
            self.text = (self.text + event.text)[:40]
        elif event.type == pygame.KEYDOWN:
            if event.key in (pygame.K_RETURN, pygame.K_KP_ENTER):
                name = room_name(self.text)
                self._choice = name if len(name) > 1 else None
                self.closed = True
            elif event.key == pygame.K_ESCAPE:
                self.closed = True
            elif event.key == pygame.K_BACKSPACE:
                self.text = self.text[:-1]
        else:
            return False
        self.dirty = True
        return True

    def take_choice(self) -> Optional[str]:
        """The room chosen with Enter (once), or None."""
        choice, self._choice = self._choice, None
        return choice

    def draw(self, surface: pygame.Surface) -> None:
        """A raised box: the title, the text with a cursor bar, the keys."""
        f, box = self.fonts, self.rect
        pygame.draw.rect(surface, theme.HEADER_BG, box, border_radius=theme.RADIUS)
        pygame.draw.rect(surface, theme.INPUT_BORDER_FOCUS, box, width=1, border_radius=theme.RADIUS)
        surface.blit(f.small_bold.render(TITLE, theme.TEXT_MUTED), (box.x + 14, box.y + 10))
        field = pygame.Rect(box.x + 12, box.y + 32, box.width - 24, 30)
        pygame.draw.rect(surface, theme.INPUT_BG, field, border_radius=6)
        label = f.body.render(clean_text(self.text), theme.TEXT)
        shown = min(label.get_width(), field.width - 20)
        surface.blit(label, (field.x + 8, field.centery - label.get_height() // 2),
                     pygame.Rect(label.get_width() - shown, 0, shown, label.get_height()))
        pygame.draw.line(surface, theme.ACCENT, (field.x + 9 + shown, field.y + 6),
                         (field.x + 9 + shown, field.bottom - 6), 2)
        surface.blit(f.small.render(HINT, theme.TEXT_FAINT), (box.x + 14, box.bottom - 26))
        self.dirty = False
