"""The connect screen's choices from the list of chats found (a mixin of ``ConnectScreen``).

A pick fills the address, port and TLS fields from the server found and connects,
unless something is still missing: no name or no password (the focus goes to that
field, with a sentence, and Enter then connects), or a certificate advertised that
is not the one pinned for the address (the loud warning; Connect still checks the
pin, which refuses any other certificate). Keys: Up from the address field enters the
list at its last row, Up/Down move in it, Down from its last row goes back to the
address field, Enter picks; a click on a row picks it.

The class using it provides ``found`` (a ``FoundPanel``), ``fields``, ``tls``,
``focus``, ``busy``, ``error``, ``note``, ``picked``, ``size`` and the methods
``set_focus``, ``failed``, ``layout`` and ``_connect``.
"""

from __future__ import annotations

import pygame

from ui import windowtext

FOUND_CHANGED = pygame.event.custom_type()  # posted by the search: read the list again
PASSWORD_FIELD = 3    # focus index of the Password field (a password refusal goes there)
LIST = 6              # focus index of the list of chats found (after the CA field)


class FoundChoice:
    """``found_changed``, ``pick`` and ``list_event`` for the connect screen."""

    def found_changed(self) -> None:
        """The search's results changed: read them (redrawn only if the rows differ)."""
        if self.found is not None and self.found.model.refresh():
            self.dirty = True

    def pick(self, index: int) -> None:
        """Use the chat of list row ``index``: fill the address, port and TLS fields,
        then connect, unless a name or a password is still missing (the focus goes
        there, with a sentence) or it advertises a certificate other than the pinned one
        (then the warning, and Connect still checks the pin)."""
        model = self.found.model
        if self.busy or not 0 <= index < len(model.rows):
            return
        model.select(index)
        row = model.rows[index]
        found = self.picked = row.found
        for field, value in ((self.fields[0], found.host), (self.fields[1], str(found.port))):
            field.clear()
            field.insert(value)
        if self.tls.checked != found.tls:
            self.tls.toggle()
        if not found.tls:
            self.fields[4].clear()  # a CA file would mean TLS
        self.error = self.note = ""
        if row.warning:
            self.failed(windowtext.not_pinned_warning(row.name, row.address, row.pinned,
                                                      found.fp), focus=2)
        elif not self.fields[2].text.strip():
            self.note = f"Type your name, then press Enter to join \u201c{row.name}\u201d."
            self.set_focus(2)
        elif found.pw and not self.fields[3].text:
            self.note = (f"\u201c{row.name}\u201d needs a password: type it, then press "
                         f"Enter.")
            self.set_focus(PASSWORD_FIELD)
        else:
            self._connect()
        self.message_scroll = 0
        self.layout(self.size)

    def list_event(self, event) -> bool:
        """Keys and the mouse for the list of chats found; True if used."""
        panel, model = self.found, self.found.model
        if event.type == FOUND_CHANGED:
            self.found_changed()
            return True
        if event.type == pygame.KEYDOWN and event.key in (pygame.K_UP, pygame.K_DOWN):
            step = -1 if event.key == pygame.K_UP else 1
            if self.focus == LIST:
                if step > 0 and model.selected == len(model.rows) - 1:
                    self.set_focus(0)   # down from the last row: the address field
                else:
                    model.move(step)
                return True
            if self.focus == 0 and step < 0 and model.rows:
                model.select(len(model.rows) - 1)
                self.set_focus(LIST)    # up from the address field: the list above it
                return True
            return False
        if event.type == pygame.TEXTINPUT and self.focus == LIST:
            return True                 # nothing to type into
        pos = getattr(event, "pos", None)
        if event.type == pygame.MOUSEMOTION:
            panel.set_hover(pos)
            return False
        if event.type == pygame.MOUSEWHEEL and panel.rect.collidepoint(pygame.mouse.get_pos()):
            return panel.scroll_by(-event.y)
        if event.type == pygame.MOUSEBUTTONDOWN and event.button == 1 and pos is not None \
                and panel.rect.collidepoint(pos):
            index = panel.row_at(pos)
            self.set_focus(LIST)
            if index is not None:
                self.pick(index)
            return True
        return False
