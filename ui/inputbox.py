"""The message input: editing, history, paste, tab completion, length counter.

Characters come only from ``TEXTINPUT`` events (any keyboard layout, IME text);
``KEYDOWN`` handles control keys only, so nothing is typed twice. The editing model
(text plus cursor) is plain methods that tests call directly, and ``handle_event``
maps keys onto them. Enter is guarded against key repeat: holding it sends once.

A newline can only come from a paste; the line then becomes one multi-line message.
In the box it shows as a return symbol so the box stays one line high.

The box never touches the network: ``take_submitted()`` hands the screen the lines
the user sent, and the screen decides what to do with them.
"""

from __future__ import annotations

import time
from typing import Callable, List, Optional

import pygame

from ui import theme
from ui.clipboard import get_clipboard_text
from ui.textfonts import Fonts, clean_text

NEWLINE_SHOWN = " \u23ce "     # how a pasted newline appears in the box
COUNTER_FROM = 0.8             # show the length counter from 80 % of max_text
BLINK = 0.53                   # seconds per cursor phase
BLINK_TIMEOUT = 10.0           # then the cursor stays solid, as GTK does: idle is idle
HISTORY_SIZE = 200
RENDER_WINDOW = 400            # characters rendered either side of the cursor


def _is_word(ch: str) -> bool:
    return not ch.isspace()


class InputBox:
    """A one-line (visually) text field with chat-client keys.

    Args:
        rect: where it is drawn.
        fonts: the UI's fonts.
        clipboard: ``() -> str``; stubbed in tests.
        placeholder: hint shown while empty.
        mask: show dots instead of the text (a password field).
    """

    def __init__(self, rect: pygame.Rect, fonts: Fonts,
                 clipboard: Callable[[], str] = get_clipboard_text,
                 placeholder: str = "Message", mask: bool = False):
        self.rect = pygame.Rect(rect)
        self.fonts = fonts
        self.clipboard = clipboard
        self.placeholder = placeholder
        self.mask = mask
        self.text = ""
        self.cursor = 0
        self.max_text: Optional[int] = None
        self.users: List[str] = []            # for tab completion
        self.me = ""
        self.history: List[str] = []
        self._history_pos: Optional[int] = None
        self._draft = ""
        self._submitted: List[str] = []
        self._enter_down = False
        self._completion = None               # (start, matches, index) while tabbing
        self._last_edit = time.monotonic()
        self._blink_on = True
        self.focused = True
        self.notice = ""                      # e.g. "too long", shown in the box
        self.hint = ""                        # "You are muted…": instead of the placeholder
        self.composition = ""                 # IME text being composed (TEXTEDITING)
        self.cursor_rect: Optional[pygame.Rect] = None
        self.blink_only = False
        self.dirty = True

    # ------------------------------------------------------------------ editing

    def _changed(self, keep_completion: bool = False) -> None:
        self.blink_only = False
        self._last_edit = time.monotonic()
        self._blink_on = True
        self.dirty = True
        self.notice = ""
        if not keep_completion:
            self._completion = None

    def insert(self, text: str) -> None:
        """Insert text at the cursor (newlines kept: a multi-line message)."""
        text = clean_text(text.replace("\r\n", "\n").replace("\r", "\n"))
        self.text = self.text[:self.cursor] + text + self.text[self.cursor:]
        self.cursor += len(text)
        self._history_pos = None
        self._changed()

    def backspace(self, word: bool = False) -> None:
        """Delete the character (or word, with ``word``) left of the cursor."""
        start = self._word_left() if word else max(0, self.cursor - 1)
        self.text = self.text[:start] + self.text[self.cursor:]
        self.cursor = start
        self._changed()

    def delete(self, word: bool = False) -> None:
        """Delete the character (or word) right of the cursor."""
        end = self._word_right() if word else min(len(self.text), self.cursor + 1)
        self.text = self.text[:self.cursor] + self.text[end:]
        self._changed()

    def _word_left(self) -> int:
        pos = self.cursor
        while pos > 0 and not _is_word(self.text[pos - 1]):
            pos -= 1
        while pos > 0 and _is_word(self.text[pos - 1]):
            pos -= 1
        return pos

    def _word_right(self) -> int:
        pos, end = self.cursor, len(self.text)
        while pos < end and not _is_word(self.text[pos]):
            pos += 1
        while pos < end and _is_word(self.text[pos]):
            pos += 1
        return pos

    def move(self, delta: int, word: bool = False) -> None:
        """Move the cursor by one character or word (``delta`` -1 or +1)."""
        if word:
            self.cursor = self._word_left() if delta < 0 else self._word_right()
        else:
            self.cursor = min(len(self.text), max(0, self.cursor + delta))
        self._changed()

    def home(self) -> None:
        """Cursor to the start of the line."""
        self.cursor = 0
        self._changed()

    def end(self) -> None:
        """Cursor to the end of the line."""
        self.cursor = len(self.text)
        self._changed()

    def clear(self) -> None:
        """Empty the box (Ctrl+U)."""
        self.text, self.cursor = "", 0
        self._history_pos = None
        self._changed()

    def paste(self) -> None:
        """Insert the clipboard's text at the cursor."""
        text = self.clipboard() or ""
        if text:
            self.insert(text)

    def recall(self, direction: int) -> None:
        """Walk the sent-line history: -1 older (Up), +1 newer (Down)."""
        if not self.history:
            return
        if self._history_pos is None:
            if direction > 0:
                return
            self._draft = self.text
            self._history_pos = len(self.history)
        pos = self._history_pos + direction
        if pos < 0:
            return
        if pos >= len(self.history):
            self._history_pos = None
            self.text = self._draft
        else:
            self._history_pos = pos
            self.text = self.history[pos]
        self.cursor = len(self.text)
        self._last_edit = time.monotonic()
        self.dirty = True

    def complete(self) -> None:
        """Complete the name at the cursor from ``users``; Tab again cycles."""
        if self._completion is not None:
            start, matches, index = self._completion
            index = (index + 1) % len(matches)
        else:
            start = self.cursor
            while start > 0 and _is_word(self.text[start - 1]):
                start -= 1
            prefix = self.text[start:self.cursor].casefold()
            if prefix.startswith("@"):
                start, prefix = start + 1, prefix[1:]
            if not prefix:
                return
            matches = [u for u in self.users if u.casefold().startswith(prefix) and u != self.me]
            matches += [u for u in self.users if u == self.me and u.casefold().startswith(prefix)]
            if not matches:
                return
            index = 0
        name = matches[index]
        suffix = ": " if start == 0 else " "
        # Replace from start up to the cursor (which sits after the previous completion).
        self.text = self.text[:start] + name + suffix + self.text[self.cursor:]
        self.cursor = start + len(name) + len(suffix)
        self._changed(keep_completion=True)
        self._completion = (start, matches, index)

    def submit(self) -> Optional[str]:
        """Send the text if it is sendable; returns it (or None if refused/empty)."""
        text = self.text
        if not text.strip():
            return None
        if self.max_text is not None and len(text) > self.max_text:
            over = len(text) - self.max_text
            self.notice = f"{over} character{'s' if over != 1 else ''} too long"
            self.dirty = True
            return None
        if not self.history or self.history[-1] != text:
            self.history.append(text)
            del self.history[:-HISTORY_SIZE]
        self.clear()
        self._submitted.append(text)
        return text

    def take_submitted(self) -> List[str]:
        """The lines submitted since the last call (oldest first)."""
        lines, self._submitted = self._submitted, []
        return lines

    # ------------------------------------------------------------------ widget

    def handle_event(self, event) -> bool:
        """Editing keys and text input; True if the event was used."""
        if event.type == pygame.TEXTINPUT:
            self.composition = ""
            self.insert(event.text)
            return True
        if event.type == pygame.TEXTEDITING:
            # An input method is composing: show it at the cursor, underlined; the
            # result arrives as TEXTINPUT.
            self.composition = clean_text(event.text).replace("\n", " ")
            self.dirty = True
            self.blink_only = False
            return True
        if event.type == pygame.KEYUP and event.key in (pygame.K_RETURN, pygame.K_KP_ENTER):
            self._enter_down = False
            return True
        if event.type != pygame.KEYDOWN:
            return False
        key = event.key
        mods = getattr(event, "mod", 0)
        ctrl = bool(mods & pygame.KMOD_CTRL)
        if key in (pygame.K_RETURN, pygame.K_KP_ENTER):
            if not self._enter_down:
                self._enter_down = True
                self.submit()
            return True
        if key == pygame.K_TAB:
            self.complete()
            return True
        if ctrl and key == pygame.K_v:
            self.paste()
        elif ctrl and key == pygame.K_u:
            self.clear()
        elif ctrl and key == pygame.K_a:
            self.home()  # as in a shell; there is no selection to extend
        elif ctrl and key == pygame.K_e:
            self.end()
        elif key == pygame.K_BACKSPACE:
            self.backspace(word=ctrl)
        elif key == pygame.K_DELETE:
            self.delete(word=ctrl)
        elif key == pygame.K_LEFT:
            self.move(-1, word=ctrl)
        elif key == pygame.K_RIGHT:
            self.move(1, word=ctrl)
        elif key == pygame.K_HOME and not ctrl and self.text:
            self.home()
        elif key == pygame.K_END and not ctrl and self.text:
            self.end()
        elif key == pygame.K_UP:
            self.recall(-1)
        elif key == pygame.K_DOWN:
            self.recall(1)
        else:
            return False
        return True

    def wake_cursor(self) -> None:
        """Restart the blink (the window got focus back)."""
        self._last_edit = time.monotonic()
        self._blink_on = True
        self.dirty = True

    def focus_lost(self) -> None:
        """The window lost focus: forget a held Enter (its KEYUP goes elsewhere)."""
        self._enter_down = False

    def update(self, dt: float) -> None:
        """Blink the cursor (only while the window has focus)."""
        if not self.focused:
            if self._blink_on:
                self._blink_on = False
                self.dirty = True
            return
        elapsed = time.monotonic() - self._last_edit
        phase = elapsed > BLINK_TIMEOUT or int(elapsed / BLINK) % 2 == 0
        if phase != self._blink_on:
            self._blink_on = phase
            if not self.dirty:
                self.blink_only = True  # nothing but the cursor changed
            self.dirty = True

    def next_blink_in(self) -> float:
        """Seconds until the cursor's next blink change (the loop may sleep that long)."""
        elapsed = time.monotonic() - self._last_edit
        if not self.focused or elapsed > BLINK_TIMEOUT:
            return 10.0
        # A millisecond past the change: woken a hair early, the loop would find the
        # phase unchanged and a wait under a millisecond, and spin until it flips.
        return BLINK - (elapsed % BLINK) + 0.001

    def _display(self):
        """The shown text and the cursor's index in it."""
        if self.mask:
            return "\u2022" * len(self.text), self.cursor
        before = self.text[:self.cursor].replace("\n", NEWLINE_SHOWN)
        after = self.text[self.cursor:].replace("\n", NEWLINE_SHOWN)
        return before + self.composition + after, len(before) + len(self.composition)

    def counter_text(self) -> Optional[str]:
        """``"3,950 / 4,000"`` near the limit, else None."""
        if self.max_text is None or len(self.text) < COUNTER_FROM * self.max_text:
            return None
        return f"{len(self.text):,} / {self.max_text:,}"

    def draw(self, surface: pygame.Surface) -> None:
        """Draw the rounded field, text (scrolled to keep the cursor visible), cursor."""
        f = self.fonts.body
        box = self.rect
        pygame.draw.rect(surface, theme.INPUT_BG, box, border_radius=theme.RADIUS)
        border = theme.INPUT_BORDER_FOCUS if self.focused else theme.INPUT_BORDER
        pygame.draw.rect(surface, border, box, width=1, border_radius=theme.RADIUS)
        right_parts = []
        counter = self.counter_text()
        if counter:
            over = self.max_text is not None and len(self.text) > self.max_text
            right_parts.append(self.fonts.small.render(counter, theme.ERROR if over
                                                       else theme.TEXT_MUTED))
        if self.notice or (self.hint and (self.text or self.composition)):
            right_parts.insert(0, self.fonts.small.render(self.notice or self.hint,
                                                          theme.ERROR if self.notice else theme.WARN))
        if "\n" in self.text:
            lines = self.text.count("\n") + 1
            right_parts.insert(0, self.fonts.small.render(f"{lines} lines", theme.TEXT_MUTED))
        right = box.right - 14
        for part in reversed(right_parts):
            right -= part.get_width()
            surface.blit(part, (right, box.centery - part.get_height() // 2))
            right -= 12
        inner = pygame.Rect(box.x + 14, box.y, max(10, right - box.x - 18), box.height)
        text_y = box.centery - f.height // 2
        clip = surface.get_clip()
        surface.set_clip(inner.clip(clip) if clip else inner)
        if not self.text and not self.composition:
            hint = f.render(self.hint or self.placeholder, theme.WARN if self.hint else theme.TEXT_FAINT)
            surface.blit(hint, (inner.x, text_y))
            cursor_x = inner.x
        else:
            shown, cursor_index = self._display()
            # Render only a window of text around the cursor: a 4,000-character line
            # would otherwise be a 30,000-pixel surface on every keystroke.
            start = max(0, cursor_index - RENDER_WINDOW)
            before_px = f.width(shown[start:cursor_index])
            if start == 0 and before_px <= inner.width - 4:
                x0 = inner.x
            else:
                x0 = inner.right - 40 - before_px
            visible = shown[start:cursor_index + RENDER_WINDOW]
            surface.blit(f.render(visible, theme.TEXT), (x0, text_y))
            cursor_x = x0 + before_px
            if self.composition:
                comp_w = f.width(self.composition)
                pygame.draw.line(surface, theme.ACCENT, (cursor_x - comp_w, text_y + f.height),
                                 (cursor_x, text_y + f.height), 2)
        self.cursor_rect = pygame.Rect(cursor_x, text_y + 1, 2, f.height - 2).clip(inner)
        if self._blink_on and self.focused:
            pygame.draw.rect(surface, theme.TEXT, self.cursor_rect)
        surface.set_clip(clip)
        self.dirty = self.blink_only = False

    def draw_cursor(self, surface: pygame.Surface) -> Optional[pygame.Rect]:
        """Redraw just the cursor after a blink; returns its rect (None: draw it all)."""
        if not self.blink_only or self.cursor_rect is None:
            return None
        colour = theme.TEXT if (self._blink_on and self.focused) else theme.INPUT_BG
        surface.fill(colour, self.cursor_rect)
        self.dirty = self.blink_only = False
        return self.cursor_rect
