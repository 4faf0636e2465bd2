"""A checkbox with a label: click it, or focus it (Tab) and press Space.

Like the other widgets it owns a ``rect`` (box and label together, the click target),
``handle_event(event) -> bool`` and ``draw(surface)``, and keeps its state in
``checked``; whoever shows it reads that (it never acts on its own).
"""

from __future__ import annotations

import pygame

from ui import theme
from ui.textfonts import Fonts

BOX = 18      # side of the square, pixels
GAP = 10      # between the square and the label


class Checkbox:
    """A labelled on/off switch.

    Args:
        rect: where it goes (its height centres the box; the width is the click target).
        fonts: the UI's fonts.
        label: the text beside the box.
        checked: the initial state.
    """

    def __init__(self, rect: pygame.Rect, fonts: Fonts, label: str, checked: bool = False):
        self.rect = pygame.Rect(rect)
        self.fonts = fonts
        self.label = label
        self.checked = checked
        self.focused = False
        self.dirty = True

    def toggle(self) -> None:
        """Flip the state."""
        self.checked = not self.checked
        self.dirty = True

    def handle_event(self, event) -> bool:
        """Space (when focused) or a click toggles; text typed while focused is eaten."""
        if event.type == pygame.KEYDOWN and event.key == pygame.K_SPACE and self.focused:
            self.toggle()
            return True
        if event.type == pygame.TEXTINPUT and self.focused:
            return True  # the space's TEXTINPUT: nothing to type into
        if event.type == pygame.MOUSEBUTTONDOWN and getattr(event, "button", 0) == 1 \
                and self.rect.collidepoint(event.pos):
            self.toggle()
            return True
        return False

    def update(self, dt: float) -> None:
        """Nothing moves in a checkbox."""

    def next_blink_in(self) -> float:
        """No cursor to blink: the loop may sleep as long as it likes."""
        return 3600.0

    def draw(self, surface: pygame.Surface) -> None:
        """The square (filled with a tick when checked), a focus ring, the label."""
        box = pygame.Rect(self.rect.x, self.rect.centery - BOX // 2, BOX, BOX)
        if self.focused:
            pygame.draw.rect(surface, theme.INPUT_BORDER_FOCUS, box.inflate(8, 8), width=2,
                             border_radius=6)
        if self.checked:
            pygame.draw.rect(surface, theme.ACCENT, box, border_radius=4)
            points = [(box.x + 4, box.centery), (box.x + 8, box.bottom - 5),
                      (box.right - 4, box.y + 5)]
            pygame.draw.lines(surface, (255, 255, 255), False, points, 3)
        else:
            pygame.draw.rect(surface, theme.INPUT_BG, box, border_radius=4)
            pygame.draw.rect(surface, theme.INPUT_BORDER, box, width=1, border_radius=4)
        text = self.fonts.body.render(self.label, theme.TEXT)
        surface.blit(text, (box.right + GAP, self.rect.centery - text.get_height() // 2))
        self.dirty = False
