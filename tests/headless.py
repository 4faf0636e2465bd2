"""pygame without a screen, for the window's tests: import this before pygame.

SDL's dummy video driver gives real surfaces and fonts with no display; ``fonts`` is
the window's fonts as a module-scoped fixture (use it as ``from headless import fonts``).
"""

import os

os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

import pygame  # noqa: E402
import pytest  # noqa: E402

from ui.textfonts import Fonts  # noqa: E402


def start_display(size=(200, 200)) -> None:
    """Initialise pygame's display and fonts headless, with a small window."""
    pygame.display.init()
    pygame.font.init()
    pygame.display.set_mode(size)


@pytest.fixture(scope="module")
def fonts():
    """The window's fonts, on a headless display."""
    start_display()
    return Fonts()
