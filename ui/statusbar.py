"""The status bar: connection state in words, and the round-trip time.

A coloured dot says the state at a glance (green connected, amber connecting or
reconnecting, red down); the text says where, as whom, and, when something is wrong,
the reason in the sentence the connection produced (what happened and what to try).
"""

from __future__ import annotations

import pygame

from ui import theme
from ui.chatlog import ChatLog
from ui.textfonts import Fonts, clean_text
from ui.tlsbadge import draw_badge


def status_line(log: ChatLog) -> tuple:
    """(dot colour, text) for the current connection state."""
    s = log.status
    where = f"{s.host}:{s.port}" if s.host else ""
    if s.state == "connected":
        return theme.OK, f"Connected to {where} as {log.me}"
    if s.state == "connecting":
        return theme.WARN, f"Connecting to {where}\u2026"
    if s.state == "reconnecting":
        return theme.WARN, f"Reconnecting to {where} {s.reason}".rstrip()
    if s.state == "disconnected":
        return theme.ERROR, f"Disconnected from {where}: {s.reason}"
    if s.state == "failed":
        return theme.ERROR, s.reason or f"Could not connect to {where}"
    return theme.TEXT_FAINT, "Not connected"


class StatusBar:
    """One line at the bottom of the window."""

    def __init__(self, rect: pygame.Rect, fonts: Fonts, log: ChatLog):
        self.rect = pygame.Rect(rect)
        self.fonts = fonts
        self.log = log
        self._drawn_version = -1
        self.fingerprint = None  # the server certificate's, set by the app while on TLS
        self.dirty = True

    def handle_event(self, event) -> bool:
        """The status bar takes no input."""
        return False

    def update(self, dt: float) -> None:
        """Mark for redraw when the connection status changed."""
        if self.log.status_version != self._drawn_version:
            self.dirty = True

    def draw(self, surface: pygame.Surface) -> None:
        """Dot, state sentence (cut with an ellipsis if too long), round-trip time."""
        f = self.fonts.small
        surface.fill(theme.SIDEBAR_BG, self.rect)
        colour, text = status_line(self.log)
        cy = self.rect.centery
        pygame.draw.circle(surface, colour, (self.rect.x + 16, cy), 4)
        right = self.rect.right - 14
        if self.log.status.rtt is not None and self.log.status.state == "connected":
            rtt = f.render(f"{self.log.status.rtt * 1000:.0f} ms", theme.TEXT_FAINT)
            right -= rtt.get_width()
            surface.blit(rtt, (right, cy - rtt.get_height() // 2))
            right -= 16
        if self.fingerprint and self.log.status.state == "connected":
            right = draw_badge(surface, f, self.fingerprint, right, cy, (right - self.rect.x) // 2)
        text = clean_text(text)
        room = right - (self.rect.x + 28)
        if f.width(text) > room > 0:
            while text and f.width(text + "\u2026") > room:
                text = text[:-1]
            text = text.rstrip() + "\u2026"
        label = f.render(text, theme.TEXT_MUTED)
        surface.blit(label, (self.rect.x + 28, cy - label.get_height() // 2))
        self._drawn_version = self.log.status_version
        self.dirty = False
