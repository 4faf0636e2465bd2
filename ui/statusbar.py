"""The status bar: connection state in words, the round-trip time, a retry button.

A coloured dot says the state at a glance (green connected, amber connecting or
reconnecting, red down); the text says where, as whom, and, when something is wrong,
why, in short: the first sentence of the connection's reason (the log's
"Disconnected" notice has the drop in full). The text is fitted to the width by
dropping detail (the reason, then the attempt), never by cutting a word, so at the
default window size nothing is hidden behind an ellipsis. While reconnecting, a
"Reconnect now" button (also Ctrl+R) tries at once instead of waiting out the
backoff; a click is handed up through ``take_reconnect()``. The wait counts down
(one small redraw a second, ``next_wake_in``).
"""

from __future__ import annotations

from typing import List, Optional

import math
import time

import pygame

from ui import theme
from ui.chatlog import ChatLog
from ui.textfonts import Fonts, clean_text
from ui.tlsbadge import badge_width, draw_badge

BUTTON_LABEL = "Reconnect now  \u00b7  Ctrl+R"


def first_sentence(reason: str) -> str:
    """The first sentence of ``reason``, without its full stop."""
    reason = " ".join(reason.split())
    head, dot, _ = reason.partition(". ")
    return (head if dot else reason).rstrip(".")


def seconds_to_retry(log: ChatLog, now: Optional[float] = None) -> Optional[int]:
    """Whole seconds until the next reconnect attempt (counting down), or None."""
    s = log.status
    if s.state != "reconnecting" or s.retry_at is None:
        return None
    left = s.retry_at - (time.monotonic() if now is None else now)
    return max(0, math.ceil(left))


def status_variants(log: ChatLog) -> tuple:
    """(dot colour, texts from the fullest to the shortest) for the connection state."""
    s = log.status
    where = f"{s.host}:{s.port}" if s.host else ""
    why = first_sentence(s.reason)
    if s.state == "connected":
        return theme.OK, [f"Connected to {where} as {log.me}", f"Connected as {log.me}"]
    if s.state == "connecting":
        return theme.WARN, [f"Connecting to {where}\u2026", "Connecting\u2026"]
    if s.state == "reconnecting":
        when = "Offline \u00b7 reconnecting"
        left = seconds_to_retry(log)
        if left is not None:
            when += f" in {left} s" if left else " now\u2026"
        attempt = f" (attempt {s.attempt})" if s.attempt else ""
        return theme.WARN, [f"{when}{attempt} \u00b7 {why}" if why else when + attempt,
                            f"{when} \u00b7 {why}" if why else when, when, "Offline"]
    if s.state == "disconnected":
        return theme.ERROR, [f"Offline \u00b7 {why}" if why else "Offline", "Offline"]
    if s.state == "failed":
        return theme.ERROR, [why or f"Could not connect to {where}", "Could not connect"]
    return theme.TEXT_FAINT, ["Not connected"]


def status_line(log: ChatLog) -> tuple:
    """(dot colour, the fullest text) for the current connection state."""
    colour, texts = status_variants(log)
    return colour, texts[0]


class StatusBar:
    """One line at the bottom of the window.

    Args:
        rect, fonts, log: where, with what, showing which view model.
        can_reconnect: whether a "Reconnect now" is possible (the connection offers it).
    """

    def __init__(self, rect: pygame.Rect, fonts: Fonts, log: ChatLog,
                 can_reconnect: bool = False):
        self.rect = pygame.Rect(rect)
        self.fonts = fonts
        self.log = log
        self.can_reconnect = can_reconnect
        self._drawn_version = -1
        self._drawn_countdown: Optional[int] = None
        self._reconnect = False
        self.fingerprint = None  # the server certificate's, set by the app while on TLS
        self.dirty = True

    @property
    def offers_reconnect(self) -> bool:
        """True while a "Reconnect now" makes sense."""
        return self.can_reconnect and self.log.status.state == "reconnecting"

    @property
    def button_rect(self) -> Optional[pygame.Rect]:
        """Where the "Reconnect now" button is (None when it is not offered)."""
        if not self.offers_reconnect:
            return None
        f = self.fonts.small
        rect = pygame.Rect(0, 0, f.width(BUTTON_LABEL) + 20, self.rect.height - 6)
        rect.midright = (self.rect.right - 8, self.rect.centery)
        return rect

    def handle_event(self, event) -> bool:
        """A click on "Reconnect now"; True if used."""
        button = self.button_rect
        if event.type == pygame.MOUSEBUTTONDOWN and event.button == 1 and button is not None \
                and button.collidepoint(event.pos):
            self._reconnect = True
            return True
        return False

    def take_reconnect(self) -> bool:
        """Whether "Reconnect now" was clicked since the last call."""
        clicked, self._reconnect = self._reconnect, False
        return clicked

    def update(self, dt: float) -> None:
        """Mark for redraw when the connection status changed."""
        if self.log.status_version != self._drawn_version \
                or seconds_to_retry(self.log) != self._drawn_countdown:
            self.dirty = True

    def next_wake_in(self) -> float:
        """Seconds until the countdown shows another number (inf when there is none)."""
        s = self.log.status
        if seconds_to_retry(self.log) in (None, 0):
            return math.inf
        return max(0.01, (s.retry_at - time.monotonic()) % 1.0 + 0.005)

    def _rtt_text(self) -> Optional[str]:
        if self.log.status.rtt is not None and self.log.status.state == "connected":
            return f"{self.log.status.rtt * 1000:.0f} ms"
        return None

    def _shows_badge(self) -> bool:
        return bool(self.fingerprint) and self.log.status.state == "connected"

    def _badge_room(self, right: int) -> int:
        return (right - self.rect.x) // 2  # the badge never takes more than half

    def text_room(self) -> int:
        """Pixels the state sentence may take (between the dot and the right side)."""
        right = self.rect.right - 14
        rtt = self._rtt_text()
        if rtt:
            right -= self.fonts.small.width(rtt) + 16
        if self._shows_badge():
            right -= badge_width(self.fonts.small, self.fingerprint, self._badge_room(right))
        button = self.button_rect
        if button is not None:
            right = button.x - 12
        return right - (self.rect.x + 28)

    def fitted_text(self) -> str:
        """The fullest variant of the state sentence that fits (an ellipsis only if none does)."""
        f = self.fonts.small
        room = self.text_room()
        texts: List[str] = [clean_text(t) for t in status_variants(self.log)[1]]
        for text in texts:
            if f.width(text) <= room:
                return text
        text = texts[-1]
        while text and f.width(text + "\u2026") > room:
            text = text[:-1]
        return text.rstrip() + "\u2026"

    def draw(self, surface: pygame.Surface) -> None:
        """Dot, state sentence, and the round-trip time or the "Reconnect now" button."""
        f = self.fonts.small
        surface.fill(theme.SIDEBAR_BG, self.rect)
        colour = status_variants(self.log)[0]
        cy = self.rect.centery
        pygame.draw.circle(surface, colour, (self.rect.x + 16, cy), 4)
        right = self.rect.right - 14
        rtt = self._rtt_text()
        if rtt:
            label = f.render(rtt, theme.TEXT_FAINT)
            right -= label.get_width()
            surface.blit(label, (right, cy - label.get_height() // 2))
            right -= 16
        if self._shows_badge():
            draw_badge(surface, f, self.fingerprint, right, cy, self._badge_room(right))
        button = self.button_rect
        if button is not None:
            pygame.draw.rect(surface, theme.INPUT_BG, button, border_radius=button.height // 2)
            pygame.draw.rect(surface, theme.ACCENT, button, width=1,
                             border_radius=button.height // 2)
            label = f.render(BUTTON_LABEL, theme.TEXT)
            surface.blit(label, label.get_rect(center=button.center))
        label = f.render(self.fitted_text(), theme.TEXT_MUTED)
        surface.blit(label, (self.rect.x + 28, cy - label.get_height() // 2))
        self._drawn_version = self.log.status_version
        self._drawn_countdown = seconds_to_retry(self.log)
        self.dirty = False
