"""``client.py``'s way into the window: open it, run it, say why if it cannot open."""

from __future__ import annotations

import argparse
import logging
import sys

import pygame

from ui.app import App
from ui.displaycheck import NoWindow


def run_gui(args: argparse.Namespace) -> int:
    """Entry point used by ``client.py``: open the window and run until closed."""
    logging.basicConfig(level=logging.WARNING)
    try:
        app = App(args)
    except NoWindow as exc:
        print(exc, file=sys.stderr)
        return 1
    except pygame.error as exc:
        print(f"error: cannot open a window ({exc}). Use --cli for the terminal client.",
              file=sys.stderr)
        return 1
    return app.run()
