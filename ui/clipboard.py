"""Reading the system clipboard on upstream pygame 2.6 and on pygame-ce.

pygame-ce has ``scrap.get_text()``; upstream pygame 2.6 has the older
``scrap.init()`` + ``scrap.get(SCRAP_TEXT)``, which returns bytes (sometimes with a
trailing NUL). Both need a display; both may be missing or fail on headless systems,
so every failure means "nothing to paste", never an exception.
"""

from __future__ import annotations

import logging

import pygame

log = logging.getLogger("chat.ui.clipboard")


def get_clipboard_text() -> str:
    """The clipboard's text, or "" if there is none or no clipboard at all."""
    scrap = getattr(pygame, "scrap", None)
    if scrap is None:
        return ""
    try:
        if hasattr(scrap, "get_text"):  # pygame-ce
            return scrap.get_text() or ""
        if not scrap.get_init():
            scrap.init()
        for kind in (pygame.SCRAP_TEXT, "text/plain;charset=utf-8", "UTF8_STRING"):
            data = scrap.get(kind)
            if data:
                if isinstance(data, bytes):
                    data = data.decode("utf-8", errors="replace")
                return data.rstrip("\x00")
    except Exception as exc:  # no display, no clipboard owner, SDL quirks
        log.debug("clipboard unavailable: %s", exc)
    return ""
