"""The connect screen: where to connect, as whom, with what security; the last error.

A card of labelled fields: server address and port, name and password (masked,
never remembered), a "Use TLS" checkbox and an optional CA file (without one the
server's first certificate is pinned, like ``client.py --tls``; a CA file alone
means TLS too, like ``--cafile``). Each field is an ``InputBox`` (the chat input's
editing keys); Tab and Shift+Tab move through fields and the checkbox, Space ticks the
checkbox, Enter anywhere or the button asks to connect. The screen validates locally
(a port is a number from 1 to 65535, a name passes ``lanchat.text.name_problem``, the
server's rule) so obvious mistakes get a message before any network round trip, and
shows the connection's explanation when connecting fails (a password refusal puts
the focus in the Password field).

Errors can be long (a changed TLS certificate is a paragraph with two fingerprints
and the command that fixes it), so the message is wrapped inside the card, the card
moves up to make room, and what still does not fit scrolls (mouse wheel over it,
PageUp/PageDown) with a scrollbar showing there is more.

Above the fields, when the app looks for chats on the network, the list of chats found
(``ui.foundpanel`` draws ``ui.foundlist.FoundList``): a click on one, or Up/Down and
Enter with the list focused (Up from the address field, or Tab), fills the address,
port and TLS fields and connects, unless it still needs a name or a password (the
focus goes there, with a sentence) or it advertises a certificate other than the
pinned one (a loud warning instead; Connect then still checks the pin). A TLS server
picked from the list passes its advertised fingerprint on, so the first connection
pins only that certificate.

It hands the request back through ``take_request()``: the app owns the connection.
"""

from __future__ import annotations

from typing import List, NamedTuple, Optional, Tuple

import pygame

import protocol
from lanchat.text import name_problem

from ui import theme, windowtext
from ui.checkbox import Checkbox
from ui.foundchoice import LIST, PASSWORD_FIELD, FoundChoice
from ui.foundlist import FoundList
from ui.foundpanel import FoundPanel
from ui.inputbox import InputBox
from ui.textfonts import Fonts
from ui.wrapping import wrap_text

CARD_WIDTH = 520
LIST_CARD_WIDTH = 640  # ... wider with the list of chats found (a row says a lot)
WIDE_CARD = 780       # the card widens up to this for an error that would not fit
FIELD_HEIGHT = 42
LABEL = 20            # label above a field
ROW = LABEL + FIELD_HEIGHT + 14
HEADER = 86           # title and subtitle
PORT_WIDTH = 110
TLS_WIDTH = 150       # the checkbox column beside the CA file field
MARGIN = 16           # between the card and the window edge
HINT = "Enter connects \u00b7 Tab moves between fields \u00b7 Space ticks \u201cUse TLS\u201d"
LIST_HINT = ("Click a chat (or Up/Down, Enter), or type its address \u00b7 Tab moves "
             "between fields")
LIST_LABEL = "Chats on this network"
CHECKBOX = 4          # focus index of the checkbox: fields 0-3, checkbox, CA field
LIST_ROWS = 4         # rows the list shows when the window has room (it scrolls)


class ConnectRequest(NamedTuple):
    """What the user asked to connect to."""

    host: str
    port: int
    name: str
    password: str
    tls: bool
    cafile: str
    fingerprint: Optional[str] = None  # the fp the chat picked advertised, else --fingerprint


class ConnectScreen(FoundChoice):
    """Fields, checkbox, button and message; ``take_request()`` -> ``ConnectRequest``."""

    LABELS = ("Server address", "Port", "Your name", "Password (if it has one)",
              "CA file (optional)")

    def __init__(self, size: Tuple[int, int], fonts: Fonts, host: str = "",
                 port: int = protocol.DEFAULT_PORT, name: str = "", error: str = "",
                 password: str = "", tls: bool = False, cafile: str = "",
                 found: Optional[FoundList] = None, fingerprint: Optional[str] = None):
        self.fonts = fonts
        self.fingerprint = fingerprint    # --fingerprint: for an address typed by hand
        self.fields: List[InputBox] = []
        placeholders = ("e.g. 192.168.1.20", str(protocol.DEFAULT_PORT), "e.g. alice", "",
                        "path to a .pem (else: pinned)")
        for i, (placeholder, value) in enumerate(zip(placeholders, (
                host, str(port or ""), name, password, cafile or ""))):
            field = InputBox(pygame.Rect(0, 0, 10, FIELD_HEIGHT), fonts, placeholder=placeholder,
                             mask=i == 3)
            field.insert(value)
            field.focused = False
            self.fields.append(field)
        self.tls = Checkbox(pygame.Rect(0, 0, TLS_WIDTH, FIELD_HEIGHT), fonts, "Use TLS",
                            checked=bool(tls or cafile))
        self.found = FoundPanel(fonts, found) if found is not None else None
        self.focusable = self.fields[:4] + [self.tls, self.fields[4]] + (
            [self.found] if self.found else [])
        self.focus = 0
        self.error = error
        self.note = ""                    # a prompt shown instead of the hint
        self.picked = None                # the Found the fields were last filled from
        self.busy = False                 # a connection attempt is running
        self.button = pygame.Rect(0, 0, 10, 44)
        self.message_scroll = 0           # first message line shown
        self._request: Optional[ConnectRequest] = None
        self.dirty = True
        self.layout(size)
        self.set_focus(0 if not host else 2)

    # ------------------------------------------------------------------ geometry

    def layout(self, size: Tuple[int, int]) -> None:
        """Place the card for a window of ``size`` (and the current message)."""
        self.size = size
        w, h = size
        fixed = HEADER + 3 * ROW + 44 + 18   # header, three rows, button and its gap
        list_rows = 0
        if self.found:  # as many rows as leave room for the message (up to 5 lines)
            lines = len(self._wrap(min(LIST_CARD_WIDTH, w - 2 * MARGIN) - 64))
            message = max(2, min(5, lines)) * self._line_h + (20 if self.error else 0)
            spare = h - 2 * MARGIN - fixed - 28 - message - LABEL - 16
            list_rows = max(1, min(LIST_ROWS, FoundPanel.rows_for(spare)))
            fixed += LABEL + FoundPanel.height_for(list_rows) + 16
        room = h - 2 * MARGIN - fixed - 28
        narrow = LIST_CARD_WIDTH if self.found else CARD_WIDTH
        for card_w in (min(narrow, w - 2 * MARGIN), min(WIDE_CARD, w - 2 * MARGIN)):
            inner = card_w - 64
            lines = self._wrap(inner)
            if self._message_height(lines, 1 << 20) <= room:
                break
        message_h = self._message_height(lines, room)
        card_h = fixed + message_h + 26
        top = max(MARGIN, (h - card_h) // 2)
        self.card = pygame.Rect((w - card_w) // 2, top, card_w, card_h)
        x, y = self.card.x + 32, self.card.y + HEADER + LABEL
        if self.found:
            self.found.rect = pygame.Rect(x, y, inner, FoundPanel.height_for(list_rows))
            y = self.found.rect.bottom + 16 + LABEL
        host, port, name, password, cafile = self.fields
        host.rect = pygame.Rect(x, y, inner - PORT_WIDTH - 12, FIELD_HEIGHT)
        port.rect = pygame.Rect(x + inner - PORT_WIDTH, y, PORT_WIDTH, FIELD_HEIGHT)
        y += ROW
        half = (inner - 12) // 2
        name.rect = pygame.Rect(x, y, half, FIELD_HEIGHT)
        password.rect = pygame.Rect(x + inner - half, y, half, FIELD_HEIGHT)
        y += ROW
        self.tls.rect = pygame.Rect(x, y, TLS_WIDTH, FIELD_HEIGHT)
        cafile.rect = pygame.Rect(x + TLS_WIDTH + 12, y, inner - TLS_WIDTH - 12, FIELD_HEIGHT)
        y += FIELD_HEIGHT + 14
        self.button = pygame.Rect(x, y + 4, inner, 44)
        self.message_rect = pygame.Rect(x, self.button.bottom + 18, inner, message_h)
        self.message_scroll = min(self.message_scroll, self._max_scroll())
        self.dirty = True

    @property
    def _line_h(self) -> int:
        return self.fonts.small.height + 3

    def _wrap(self, inner: int) -> List[str]:
        text = self.error or self.note or (LIST_HINT if self.found and self.found.model.rows
                                           else HINT)
        return wrap_text(text, inner - (32 if self.error else 0), self.fonts.small.width)

    def _message_height(self, lines: List[str], room: int) -> int:
        pad = 20 if self.error else 0
        wanted = len(lines) * self._line_h + pad
        least = min(len(lines), 2) * self._line_h + pad
        return max(least, min(wanted, room))

    def message_lines(self) -> List[str]:
        """The error (or the hint) wrapped to the card's width."""
        return self._wrap(self.message_rect.width)

    def visible_rows(self) -> int:
        """How many message lines the card has room for."""
        pad = 20 if self.error else 0
        return max(1, (self.message_rect.height - pad) // self._line_h)

    def _max_scroll(self) -> int:
        return max(0, len(self.message_lines()) - self.visible_rows())

    def scroll_message(self, lines: int) -> bool:
        """Scroll the message by ``lines`` (positive: further down); True if it moved."""
        target = max(0, min(self._max_scroll(), self.message_scroll + lines))
        moved = target != self.message_scroll
        self.message_scroll = target
        self.dirty = self.dirty or moved
        return moved

    # ------------------------------------------------------------------ state

    def set_focus(self, index: int) -> None:
        """Move the keyboard focus: 0-3 the fields, 4 the TLS checkbox, 5 the CA file,
        6 the list of chats found (its first row gets the selection if none has it)."""
        for i, widget in enumerate(self.focusable):
            widget.focused = i == index
            widget.dirty = True
        self.focus = index
        if index == LIST and self.found.model.selected is None:
            self.found.model.move(1)
        self.dirty = True

    def values(self) -> Tuple[str, str, str]:
        """What the host, port and name fields hold (the password is not echoed)."""
        return tuple(f.text.strip() for f in self.fields[:3])

    def validate(self) -> Optional[ConnectRequest]:
        """The request if the fields make sense; else sets ``error`` and returns None."""
        host, port_text, name = self.values()
        if not host:
            self.error, focus = "Enter the server's address (ask whoever runs it).", 0
        elif not port_text.isdigit() or not 0 < int(port_text) < 65536:
            self.error, focus = (f"The port is a number from 1 to 65535 (the default is "
                                 f"{protocol.DEFAULT_PORT})."), 1
        elif name_problem(name):
            self.error, focus = windowtext.name_error(name_problem(name)), 2
        else:
            cafile = self.fields[4].text.strip()
            picked = self.picked
            advertised = picked.fp if picked and picked.key == (host, int(port_text)) \
                else self.fingerprint
            return ConnectRequest(host, int(port_text), name, self.fields[3].text,
                                  self.tls.checked or bool(cafile), cafile, advertised)
        self.set_focus(focus)
        self.message_scroll = 0
        self.layout(self.size)
        return None

    def _connect(self) -> None:
        if self.busy:
            return
        request = self.validate()
        if request:
            self._request = request
            self.error = self.note = ""
            self.busy = True
            self.layout(self.size)

    def take_request(self) -> Optional[ConnectRequest]:
        """The request the user made, once (then None until the next)."""
        request, self._request = self._request, None
        return request

    def failed(self, reason: str, focus: Optional[int] = None) -> None:
        """The attempt failed: show why and let the user edit and retry.

        Args:
            reason: the window's sentence(s) saying why.
            focus: the field that fixes it (``PASSWORD_FIELD`` after a password
                refusal), or None to leave the focus where it is.
        """
        self.busy = False
        if focus is not None:
            self.set_focus(focus)
        self.error = reason
        self.message_scroll = 0
        self.layout(self.size)

    # ------------------------------------------------------------------ events

    def handle_event(self, event) -> bool:
        """Tab, Enter, PageUp/PageDown, the wheel and clicks here; the rest to the focus."""
        if event.type == pygame.KEYDOWN and event.key == pygame.K_TAB:
            step = -1 if getattr(event, "mod", 0) & pygame.KMOD_SHIFT else 1
            target = (self.focus + step) % len(self.focusable)
            if target == LIST and not self.found.model.rows:  # an empty list: skip it
                target = (target + step) % len(self.focusable)
            self.set_focus(target)
            return True
        if event.type == pygame.KEYDOWN and event.key in (pygame.K_RETURN, pygame.K_KP_ENTER):
            if self.focus == LIST and self.found.model.selected is not None:
                self.pick(self.found.model.selected)
            else:
                self._connect()
            return True
        if self.found and self.list_event(event):
            return True
        if event.type == pygame.KEYDOWN and event.key in (pygame.K_PAGEUP, pygame.K_PAGEDOWN):
            page = max(1, self.visible_rows() - 1)
            self.scroll_message(page if event.key == pygame.K_PAGEDOWN else -page)
            return True
        if event.type == pygame.MOUSEWHEEL:
            return self.scroll_message(-3 * event.y)
        if event.type == pygame.MOUSEBUTTONDOWN and event.button == 1:
            if self.button.collidepoint(event.pos):
                self._connect()
                return True
            for i, widget in enumerate(self.focusable):
                if widget.rect.collidepoint(event.pos):
                    self.set_focus(i)
                    if widget is self.tls:
                        widget.handle_event(event)
                    return True
            return False
        used = self.focusable[self.focus].handle_event(event)
        if used:
            self.dirty = True
        return used

    def update(self, dt: float) -> None:
        """Advance the fields' cursors."""
        for widget in self.focusable:
            widget.update(dt)
            self.dirty = self.dirty or widget.dirty

    @property
    def needs_draw(self) -> bool:
        """Whether anything changed since the last draw."""
        return self.dirty or any(w.dirty for w in self.focusable)

    def next_wake_in(self) -> float:
        """Seconds until the focused field's cursor blinks (or the list's sentence changes)."""
        wake = self.focusable[self.focus].next_blink_in()
        return min(wake, self.found.model.next_change_in()) if self.found else wake

    # ------------------------------------------------------------------ drawing

    def draw(self, surface: pygame.Surface) -> None:
        """The card: title, labelled fields, checkbox, button, and the error or a hint."""
        f = self.fonts
        surface.fill(theme.SIDEBAR_BG)
        card = self.card
        pygame.draw.rect(surface, theme.BG, card, border_radius=14)
        pygame.draw.rect(surface, theme.INPUT_BORDER, card, width=1, border_radius=14)
        x = card.x + 32
        title = f.title.render("LAN Chat", theme.TEXT)
        surface.blit(title, (x, card.y + 28))
        sub = f.small.render("Join a chat server on your network", theme.TEXT_MUTED)
        surface.blit(sub, (x, card.y + 28 + title.get_height() + 4))
        if self.found:
            text = f.small_bold.render(LIST_LABEL.upper(), theme.TEXT_MUTED)
            surface.blit(text, (self.found.rect.x, self.found.rect.y - LABEL))
            self.found.draw(surface)
        for label, field in zip(self.LABELS, self.fields):
            faint = field is self.fields[4] and not self.tls.checked
            text = f.small_bold.render(label.upper(), theme.TEXT_FAINT if faint else theme.TEXT_MUTED)
            surface.blit(text, (field.rect.x, field.rect.y - LABEL))
            field.draw(surface)
        self.tls.draw(surface)
        colour = theme.TEXT_FAINT if self.busy else theme.ACCENT
        pygame.draw.rect(surface, colour, self.button, border_radius=theme.RADIUS)
        label = f.bold.render("Connecting\u2026" if self.busy else "Connect", (255, 255, 255))
        surface.blit(label, label.get_rect(center=self.button.center))
        self._draw_message(surface)
        self.dirty = False

    def _draw_message(self, surface: pygame.Surface) -> None:
        f, rect = self.fonts, self.message_rect
        lines = self.message_lines()
        if not self.error:
            y = rect.y
            colour = theme.WARN if self.note else theme.TEXT_FAINT  # a prompt, or the hint
            for line in lines[:self.visible_rows()]:
                surface.blit(f.small.render(line, colour), (rect.x, y))
                y += self._line_h
            return
        pygame.draw.rect(surface, theme.ERROR_BG, rect, border_radius=theme.RADIUS)
        pygame.draw.rect(surface, theme.ERROR, pygame.Rect(rect.x, rect.y, 3, rect.height))
        rows = self.visible_rows()
        y = rect.y + 10
        for line in lines[self.message_scroll:self.message_scroll + rows]:
            surface.blit(f.small.render(line, (255, 200, 200)), (rect.x + 16, y))
            y += self._line_h
        if len(lines) > rows:  # a scrollbar: there is more, and where we are
            track = pygame.Rect(rect.right - 8, rect.y + 8, 4, rect.height - 16)
            pygame.draw.rect(surface, theme.dim(theme.ERROR, 0.35), track, border_radius=2)
            thumb_h = max(12, track.height * rows // len(lines))
            span = max(1, len(lines) - rows)
            thumb_y = track.y + (track.height - thumb_h) * self.message_scroll // span
            pygame.draw.rect(surface, theme.ERROR, pygame.Rect(track.x, thumb_y, 4, thumb_h),
                             border_radius=2)
