"""The connect screen: host, port and name fields, a Connect button, the last error.

A password field (masked, never remembered) serves servers started with
``--password``. Each field is an ``InputBox`` (same editing keys as the chat input); Tab and
Shift+Tab move between fields, Enter anywhere or the button asks to connect. The
screen validates locally (a port is a number from 1 to 65535, a name has no spaces)
so the obvious mistakes get a message before any network round trip, and it shows
the connection's own explanation when connecting fails.

It hands the request back through ``take_request()``: the app owns the connection.
"""

from __future__ import annotations

from typing import List, Optional, Tuple

import pygame

import protocol

from ui import theme
from ui.inputbox import InputBox
from ui.textfonts import Fonts
from ui.wrapping import wrap_text

CARD_WIDTH = 440
FIELD_HEIGHT = 42


class ConnectScreen:
    """Fields, button and message; ``take_request()`` -> (host, port, name, password)."""

    LABELS = ("Server address", "Port", "Your name", "Password (only if the server has one)")

    def __init__(self, size: Tuple[int, int], fonts: Fonts, host: str = "", port: int = protocol.DEFAULT_PORT,
                 name: str = "", error: str = "", password: str = ""):
        self.fonts = fonts
        self.fields: List[InputBox] = []
        for placeholder, value in zip(("e.g. 192.168.1.20", str(protocol.DEFAULT_PORT), "e.g. alice", ""),
                                      (host, str(port or ""), name, password)):
            field = InputBox(pygame.Rect(0, 0, 10, FIELD_HEIGHT), fonts, placeholder=placeholder,
                             mask=len(self.fields) == 3)
            field.insert(value)
            field.focused = False
            self.fields.append(field)
        self.focus = 0 if not host else (2 if not name else 2)
        self.fields[self.focus].focused = True
        self.error = error
        self.busy = False                 # a connection attempt is running
        self.button = pygame.Rect(0, 0, 10, 44)
        self._request: Optional[Tuple[str, int, str, str]] = None
        self.dirty = True
        self.layout(size)

    def layout(self, size: Tuple[int, int]) -> None:
        """Centre the card in a window of ``size``."""
        w, h = size
        card_w = min(CARD_WIDTH, w - 32)
        self.card = pygame.Rect(0, 0, card_w, 570)
        self.card.center = (w // 2, max(285, h // 2))
        x = self.card.x + 32
        y = self.card.y + 104
        for field in self.fields:
            field.rect = pygame.Rect(x, y + 22, card_w - 64, FIELD_HEIGHT)
            y += 22 + FIELD_HEIGHT + 16
        self.button = pygame.Rect(x, y + 6, card_w - 64, 44)
        self.size = size
        self.dirty = True

    def set_focus(self, index: int) -> None:
        """Move the keyboard focus to field ``index``."""
        for i, field in enumerate(self.fields):
            field.focused = i == index
            field.dirty = True
        self.focus = index
        self.dirty = True

    def values(self) -> Tuple[str, str, str]:
        """What the host, port and name fields hold (the password is not echoed)."""
        return tuple(f.text.strip() for f in self.fields[:3])

    def validate(self) -> Optional[Tuple[str, int, str, str]]:
        """The request if the fields make sense; else sets ``error`` and returns None."""
        host, port_text, name = self.values()
        if not host:
            self.error, focus = "Enter the server's address (ask whoever runs it).", 0
        elif not port_text.isdigit() or not 0 < int(port_text) < 65536:
            self.error, focus = f"The port is a number from 1 to 65535 (the default is {protocol.DEFAULT_PORT}).", 1
        elif not name or any(ch.isspace() for ch in name) or len(name) > 24 \
                or name[0] in "/#*@":
            self.error, focus = ("A name is 1 to 24 characters, without spaces, not starting "
                                 "with / # * or @."), 2
        else:
            return host, int(port_text), name, self.fields[3].text
        self.set_focus(focus)
        self.dirty = True
        return None

    def _connect(self) -> None:
        if self.busy:
            return
        request = self.validate()
        if request:
            self._request = request
            self.error = ""
            self.busy = True
            self.dirty = True

    def take_request(self) -> Optional[Tuple[str, int, str, str]]:
        """The (host, port, name, password) the user asked to connect to, once."""
        request, self._request = self._request, None
        return request

    def failed(self, reason: str) -> None:
        """The attempt failed: show why and let the user edit and retry."""
        self.busy = False
        self.error = reason
        self.dirty = True

    def handle_event(self, event) -> bool:
        """Tab, Enter and clicks here; everything else to the focused field."""
        if event.type == pygame.KEYDOWN and event.key == pygame.K_TAB:
            step = -1 if getattr(event, "mod", 0) & pygame.KMOD_SHIFT else 1
            self.set_focus((self.focus + step) % len(self.fields))
            return True
        if event.type == pygame.KEYDOWN and event.key in (pygame.K_RETURN, pygame.K_KP_ENTER):
            self._connect()
            return True
        if event.type == pygame.MOUSEBUTTONDOWN and event.button == 1:
            if self.button.collidepoint(event.pos):
                self._connect()
                return True
            for i, field in enumerate(self.fields):
                if field.rect.collidepoint(event.pos):
                    self.set_focus(i)
                    return True
            return False
        used = self.fields[self.focus].handle_event(event)
        if used:
            self.dirty = True
        return used

    def update(self, dt: float) -> None:
        """Advance the fields' cursors."""
        for field in self.fields:
            field.update(dt)
            self.dirty = self.dirty or field.dirty

    @property
    def needs_draw(self) -> bool:
        """Whether anything changed since the last draw."""
        return self.dirty or any(f.dirty for f in self.fields)

    def next_wake_in(self) -> float:
        """Seconds until the focused field's cursor blinks."""
        return self.fields[self.focus].next_blink_in()

    def _message_lines(self):
        text = self.error or "Enter to connect \u00b7 Tab to move between fields"
        return wrap_text(text, self.card.width - 64 - (24 if self.error else 0),
                         self.fonts.small.width)

    def draw(self, surface: pygame.Surface) -> None:
        """The card: title, labelled fields, button, and the error or a hint."""
        f = self.fonts
        surface.fill(theme.SIDEBAR_BG)
        lines = self._message_lines()
        line_h = f.small.height + 3
        message_h = len(lines) * line_h + (20 if self.error else 0)
        card = self.card.copy()
        card.height = self.button.bottom + 18 + message_h + 26 - card.y
        pygame.draw.rect(surface, theme.BG, card, border_radius=14)
        pygame.draw.rect(surface, theme.INPUT_BORDER, card, width=1, border_radius=14)
        x = card.x + 32
        title = f.title.render("LAN Chat", theme.TEXT)
        surface.blit(title, (x, card.y + 32))
        sub = f.small.render("Join a chat server on your network", theme.TEXT_MUTED)
        surface.blit(sub, (x, card.y + 32 + title.get_height() + 6))
        for label, field in zip(self.LABELS, self.fields):
            text = f.small_bold.render(label.upper(), theme.TEXT_MUTED)
            surface.blit(text, (x, field.rect.y - 20))
            field.draw(surface)
        colour = theme.TEXT_FAINT if self.busy else theme.ACCENT
        pygame.draw.rect(surface, colour, self.button, border_radius=theme.RADIUS)
        label = f.bold.render("Connecting\u2026" if self.busy else "Connect", (255, 255, 255))
        surface.blit(label, label.get_rect(center=self.button.center))
        y = self.button.bottom + 18
        if self.error:
            band = pygame.Rect(x, y, self.button.width, message_h)
            pygame.draw.rect(surface, theme.ERROR_BG, band, border_radius=theme.RADIUS)
            pygame.draw.rect(surface, theme.ERROR, pygame.Rect(x, y, 3, message_h))
            y += 10
            for line in lines:
                surface.blit(f.small.render(line, (255, 200, 200)), (x + 16, y))
                y += line_h
        else:
            for line in lines:
                surface.blit(f.small.render(line, theme.TEXT_FAINT), (x, y))
                y += line_h
        self.dirty = False
