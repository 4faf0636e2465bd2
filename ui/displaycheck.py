"""Is there a screen to open the window on? Asked before connecting.

Without a display SDL does not fail: it prints a warning and falls back to an
offscreen driver, so the window "runs" invisibly and its user sits in the room as a
ghost. So the client asks first, in two steps, and says so in one sentence when the
answer is no:

1. the environment (cheap, no SDL at all): on Linux and the BSDs a window needs an X11
   ``DISPLAY`` or a ``WAYLAND_DISPLAY``;
2. the driver SDL really picks: ``offscreen`` or ``dummy`` means no screen.

Asking for a driver with ``SDL_VIDEODRIVER`` (the tests and screenshots set
``dummy`` on purpose) skips both: whoever set it knows what they get.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Iterator, Mapping, Optional

import pygame

HEADLESS_DRIVERS = frozenset({"offscreen", "dummy"})
NO_DISPLAY = ("There is no display to open the chat window on{detail}; "
              "use --cli to chat in this terminal instead.")


def _needs_display_variable(platform: str) -> bool:
    """Platforms whose windows go through X11 or Wayland (not Windows, not macOS)."""
    return not (platform.startswith("win") or platform == "darwin" or platform == "cygwin")


def environment_problem(environ: Mapping[str, str], platform: str) -> Optional[str]:
    """The sentence to show if the environment has no display, else None.

    Args:
        environ: the environment variables (``os.environ``).
        platform: ``sys.platform``.
    """
    if environ.get("SDL_VIDEODRIVER"):
        return None
    if _needs_display_variable(platform) and not (environ.get("DISPLAY")
                                                  or environ.get("WAYLAND_DISPLAY")):
        return NO_DISPLAY.format(detail=" (neither DISPLAY nor WAYLAND_DISPLAY is set)")
    return None


def driver_problem(driver: str, environ: Mapping[str, str]) -> Optional[str]:
    """The sentence to show if SDL fell back to a driver without a screen, else None.

    Args:
        driver: ``pygame.display.get_driver()`` after ``pygame.display.init()``.
        environ: the environment variables (an explicit ``SDL_VIDEODRIVER`` is fine).
    """
    if environ.get("SDL_VIDEODRIVER") or driver.lower() not in HEADLESS_DRIVERS:
        return None
    return NO_DISPLAY.format(detail=f" (SDL could only start its {driver} driver)")


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Silence file descriptor 2 for a moment: SDL prints its own warnings while it
    tries drivers (``XDG_RUNTIME_DIR is invalid``), and the user should read one
    sentence, ours."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):
        yield
        return
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def window_problem() -> Optional[str]:
    """Why the window cannot be shown on this machine, as one sentence; None if it can.

    Starts and stops SDL's video subsystem once (only when the environment looks
    fine); never raises.
    """
    problem = environment_problem(os.environ, sys.platform)
    if problem:
        return problem
    try:
        with _quiet_stderr():
            pygame.display.init()
            driver = pygame.display.get_driver()
    except pygame.error as exc:
        return f"The chat window cannot be opened ({exc}); use --cli to chat in this terminal instead."
    finally:
        pygame.display.quit()
    return driver_problem(driver, os.environ)


class NoWindow(Exception):
    """SDL has no screen to open the window on (the message is the sentence to show)."""

