"""The lock and fingerprint shown while the window is connected over TLS.

``fingerprint_of(conn)`` reads what the connection's TLS wrapper saw on its latest
handshake (``lanchat.tls.ClientWrapper.last_fingerprint``, ``SHA256:AB:CD:...``);
``draw_badge`` draws a small lock (shapes, not a glyph: no font needed) and the
fingerprint, shortened to what fits, right-aligned at ``right``. People compare it
with the one the server printed at start.
"""

from __future__ import annotations

from typing import Optional

import pygame

from ui import theme
from ui.textfonts import FontSet

LOCK_W, LOCK_H = 10, 12


def fingerprint_of(conn) -> Optional[str]:
    """The server certificate's fingerprint if ``conn`` uses TLS (and has shaken hands)."""
    wrapper = getattr(conn, "wrap_socket", None)
    return getattr(wrapper, "last_fingerprint", None) or None


def short_fingerprint(fingerprint: str, pairs: int = 8) -> str:
    """``SHA256:AB:CD:...`` cut to its first ``pairs`` hex pairs, with an ellipsis."""
    head, _, hexes = fingerprint.partition(":")
    parts = hexes.split(":") if hexes else []
    if len(parts) <= pairs:
        return fingerprint
    return f"{head}:" + ":".join(parts[:pairs]) + "\u2026"


def draw_lock(surface: pygame.Surface, colour, x: int, cy: int) -> None:
    """A closed padlock, ``LOCK_W`` wide, its body centred on ``cy``, left edge at ``x``."""
    body = pygame.Rect(x, cy - LOCK_H // 2 + 4, LOCK_W, LOCK_H - 4)
    shackle = pygame.Rect(x + 2, cy - LOCK_H // 2 - 2, LOCK_W - 4, 10)
    pygame.draw.rect(surface, colour, shackle, width=2, border_radius=4)
    pygame.draw.rect(surface, colour, body, border_radius=2)


def badge_text(font: FontSet, fingerprint: str, room: int) -> Optional[str]:
    """The fullest badge text that fits ``room`` pixels with its lock, or None."""
    for text in (f"TLS  {fingerprint}", f"TLS  {short_fingerprint(fingerprint)}", "TLS"):
        if font.width(text) + LOCK_W + 6 <= room:
            return text
    return None


def badge_width(font: FontSet, fingerprint: str, room: int) -> int:
    """Pixels ``draw_badge`` takes in ``room``, the gap to its left included (0: none)."""
    text = badge_text(font, fingerprint, room)
    return 0 if text is None else font.width(text) + LOCK_W + 6 + 16


def draw_badge(surface: pygame.Surface, font: FontSet, fingerprint: str, right: int,
               cy: int, room: int) -> int:
    """Lock + "TLS" + fingerprint ending at ``right``, in at most ``room`` pixels.

    Returns:
        the new right edge for whatever is drawn to its left (``right`` if nothing fit).
    """
    text = badge_text(font, fingerprint, room)
    if text is None:
        return right
    label = font.render(text, theme.OK)
    left = right - (font.width(text) + LOCK_W + 6)
    draw_lock(surface, theme.OK, left, cy)
    surface.blit(label, (left + LOCK_W + 6, cy - label.get_height() // 2))
    return left - 16
