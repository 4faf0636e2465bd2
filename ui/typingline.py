"""The line under the message log: "alice is typing…", "alice and bob are typing…".

It reads the view model's ``presence`` (``ui/presence.py``), lets the states past
their time expire in ``update`` (with the log's clock), and redraws only when its
sentence changes; ``next_wake_in`` tells the loop when the next name expires, so an
idle window wakes once for it instead of polling. The strip is always there (empty
when nobody types) so the log above never jumps.
"""

from __future__ import annotations

import math

import pygame

from ui import theme
from ui.chatlog import ChatLog
from ui.textfonts import Fonts, clean_text

HEIGHT = 20   # one small line


class TypingLine:
    """A one-line widget: who is typing (nothing when nobody is)."""

    def __init__(self, rect: pygame.Rect, fonts: Fonts, log: ChatLog):
        self.rect = pygame.Rect(rect)
        self.fonts = fonts
        self.log = log
        self.text = ""
        self.places = None      # where typing counts (the current room, private); None: anywhere
        self.draws = 0          # times drawn (tests check it redraws only on change)
        self.dirty = True

    def handle_event(self, event) -> bool:
        """The line takes no input."""
        return False

    def update(self, dt: float) -> None:
        """Expire what is due; mark for redraw when the sentence changed."""
        self.log.presence.expire(self.log.clock())
        text = self.log.presence.typing_line(self.places)
        if text != self.text:
            self.text = text
            self.dirty = True

    def next_wake_in(self) -> float:
        """Seconds until a name shown expires (``math.inf`` when none will)."""
        due = self.log.presence.next_expiry(self.log.clock())
        return math.inf if due is None else due + 0.005  # just past it, not just before

    def draw(self, surface: pygame.Surface) -> None:
        """The sentence in small muted text, left-aligned with the messages."""
        surface.fill(theme.BG, self.rect)
        if self.text:
            label = self.fonts.small.render(clean_text(self.text), theme.TEXT_MUTED)
            width = min(label.get_width(), self.rect.width - 2 * theme.PAD)
            if width > 0:
                label = label.subsurface((0, 0, width, label.get_height()))
                surface.blit(label, (self.rect.x + theme.PAD,
                                     self.rect.centery - label.get_height() // 2))
        self.draws += 1
        self.dirty = False
