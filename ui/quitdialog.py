"""Asking before quitting while some of your lines are still "sending…".

Closing the window (or Ctrl+Q, or ``/quit``) while lines wait for the server's ack
would lose them without a word: the connection keeps them only in memory. So the
app asks first, in the window: "2 messages are still being sent. Quit anyway?"
with [Quit] (Enter) and [Wait] (Escape). Offline nothing is being sent, so it says
so: "1 message has not been delivered (you are offline). Quitting discards it." The app keeps draining the connection
meanwhile and quits by itself as soon as nothing is pending any more.

The dialog is modal: while it is open it takes every key, click and text event.
It hands the answer up through ``take_choice()``.
"""

from __future__ import annotations

from typing import Optional, Tuple

import pygame

from ui import theme
from ui.textfonts import Fonts
from ui.wrapping import wrap_text

QUIT, WAIT = "quit", "wait"
CARD_WIDTH = 440
BUTTON_HEIGHT = 34
MESSAGE_LINES = 3     # what fits between the title and the buttons


class QuitDialog:
    """The "still sending" question over the chat screen.

    Args:
        size: window size (the card is centred).
        fonts: the UI's fonts.
        pending: how many lines are still waiting for an ack.
    """

    def __init__(self, size: Tuple[int, int], fonts: Fonts, pending: int, online: bool = True):
        self.fonts = fonts
        self.pending = pending
        self.online = online
        self._choice: Optional[str] = None
        self.dirty = True
        self.layout(size)

    def message(self) -> str:
        """The question, for ``pending`` lines: being sent (online), or not delivered
        (offline: nothing is being sent, they wait for the next connection)."""
        n = self.pending
        if not self.online:
            lines = "1 message has" if n == 1 else f"{n} messages have"
            return (f"{lines} not been delivered (you are offline). "
                    f"Quitting discards {'it' if n == 1 else 'them'}.")
        lines = "1 message is" if n == 1 else f"{n} messages are"
        return f"{lines} still being sent. Quit anyway?"

    def set_pending(self, pending: int, online: Optional[bool] = None) -> None:
        """Update the count (acks arrive while the dialog is open) and, if given,
        whether the window is connected."""
        online = self.online if online is None else online
        if (pending, online) != (self.pending, self.online):
            self.pending, self.online = pending, online
            self.dirty = True

    def layout(self, size: Tuple[int, int]) -> None:
        """Centre the card and its buttons in a window of ``size``."""
        w, h = size
        width = min(CARD_WIDTH, w - 24)
        self.size = size
        self.rect = pygame.Rect(0, 0, width, 150)
        self.rect.center = (w // 2, h // 2)
        button_w = (width - 3 * 20) // 2
        y = self.rect.bottom - 20 - BUTTON_HEIGHT
        self.wait_rect = pygame.Rect(self.rect.x + 20, y, button_w, BUTTON_HEIGHT)
        self.quit_rect = pygame.Rect(self.rect.right - 20 - button_w, y, button_w, BUTTON_HEIGHT)
        self.dirty = True

    def handle_event(self, event) -> bool:
        """Enter quits, Escape waits, clicks on the buttons; every input event is used."""
        if event.type == pygame.KEYDOWN:
            if event.key in (pygame.K_RETURN, pygame.K_KP_ENTER):
                self._choice = QUIT
            elif event.key == pygame.K_ESCAPE:
                self._choice = WAIT
            return True
        if event.type == pygame.MOUSEBUTTONDOWN and event.button == 1:
            if self.quit_rect.collidepoint(event.pos):
                self._choice = QUIT
            elif self.wait_rect.collidepoint(event.pos):
                self._choice = WAIT
            return True
        return event.type in (pygame.KEYUP, pygame.TEXTINPUT, pygame.TEXTEDITING,
                              pygame.MOUSEBUTTONUP, pygame.MOUSEWHEEL)

    def take_choice(self) -> Optional[str]:
        """``"quit"``, ``"wait"`` or None (not answered yet)."""
        choice, self._choice = self._choice, None
        return choice

    def draw(self, surface: pygame.Surface) -> None:
        """A dimmed window, the card, the question and the two buttons."""
        f = self.fonts
        shade = pygame.Surface(surface.get_size(), pygame.SRCALPHA)
        shade.fill((0, 0, 0, 140))
        surface.blit(shade, (0, 0))
        pygame.draw.rect(surface, theme.HEADER_BG, self.rect, border_radius=theme.RADIUS)
        pygame.draw.rect(surface, theme.INPUT_BORDER, self.rect, width=1,
                         border_radius=theme.RADIUS)
        title = f.bold.render("Quit LAN Chat?", theme.TEXT)
        surface.blit(title, (self.rect.x + 20, self.rect.y + 18))
        y = self.rect.y + 24 + title.get_height()
        for line in wrap_text(self.message(), self.rect.width - 40, f.small.width)[:MESSAGE_LINES]:
            text = f.small.render(line, theme.TEXT_MUTED)
            if text.get_width() > self.rect.width - 40:
                text = text.subsurface((0, 0, self.rect.width - 40, text.get_height()))
            surface.blit(text, (self.rect.x + 20, y))
            y += f.small.height + 2
        for rect, label, fill, colour in ((self.wait_rect, "Wait  (Esc)", theme.INPUT_BG, theme.TEXT),
                                          (self.quit_rect, "Quit  (Enter)", theme.ERROR,
                                           (255, 255, 255))):
            pygame.draw.rect(surface, fill, rect, border_radius=6)
            rendered = f.small_bold.render(label, colour)
            surface.blit(rendered, rendered.get_rect(center=rect.center))
        self.dirty = False
