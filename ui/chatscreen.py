"""The chat screen: header, message view, user list, input box and status bar.

It lays the widgets out for the window size (everything reflows on resize; the
sidebar folds away in a narrow window), routes each event to the first widget that
wants it, and turns what widgets hand back into actions: a submitted line becomes
``conn.say`` plus a pending entry, a clicked name becomes ``/msg NAME `` in the input.

Key routing, since the scrollback and the input both want Home/End: PageUp/PageDown
always scroll; Ctrl+Home/Ctrl+End always jump to the oldest/newest line; plain
Home/End move the cursor while the input has text and scroll when it is empty.
Ctrl+R (or the status bar's button) asks the connection to reconnect now.

Presence: a strip between the log and the input says who is typing (``typingline``);
every change of the input, key and click goes to ``presencesender``, which sends the
typing frames and does auto-away.

Rooms: the sidebar's room list (``roomlist``, hidden while #lobby is the only room)
switches the current room; the message view shows the current room's entries
(``roomfeed``), the header its name and topic, the member list its members, the input
box its mute or slow mode. Ctrl+K opens the "Join or switch to a room" prompt
(``roomprompt``), Ctrl+PageUp/PageDown move through the list. Lines go to the current
room (``send(text, room=...)``, see ``ui/roomsend.py``), in a private conversation as
``/msg``; ``/part`` alone parts the current room (or closes the conversation).
"""

from __future__ import annotations

import math
from typing import Callable, Optional, Tuple

import pygame

from ui import theme
from ui.chatlog import ChatLog
from ui.inputbox import InputBox
from ui.messageview import MessageView
from ui.presence import PRIVATE
from ui.presencesender import PresenceSender
from ui.roles import LOBBY
from ui.roomfeed import RoomFeed
from ui.roomlist import RoomList
from ui.roomprompt import RoomPrompt
from ui.statusbar import StatusBar
from ui.textfonts import Fonts, clean_text
from ui.typingline import HEIGHT as TYPING_HEIGHT, TypingLine
from ui.userlist import UserList

NARROW = 620  # below this width the sidebar is hidden


class ChatScreen:
    """All widgets of a connected window.

    Args:
        size: window size.
        fonts: the UI's fonts.
        log: the view model the widgets show.
        send: ``send(text) -> id`` (the connection's ``say``).
        clipboard: optional clipboard reader (tests stub it).
        reconnect: optional ``reconnect()``: try to connect again at once (None when
            the connection cannot; then no button is offered).
        typing: optional ``typing(state, room=..., to=...)`` (the connection's);
            without it no typing frames are sent.
    """

    def __init__(self, size: Tuple[int, int], fonts: Fonts, log: ChatLog,
                 send: Callable[[str], str], clipboard: Optional[Callable[[], str]] = None,
                 reconnect: Optional[Callable[[], None]] = None,
                 typing: Optional[Callable[..., None]] = None):
        self.fonts = fonts
        self.log = log
        self.send = send
        self.reconnect = reconnect
        zero = pygame.Rect(0, 0, 10, 10)
        self.feed = RoomFeed(log)
        self.view = MessageView(zero, fonts, self.feed)
        self.room_list = RoomList(zero, fonts, log)
        self.users = UserList(zero, fonts, log)
        self.prompt: Optional[RoomPrompt] = None
        self._room_seen = log.rooms.current
        kwargs = {"clipboard": clipboard} if clipboard else {}
        self.input = InputBox(zero, fonts, placeholder="Message everyone  \u00b7  /help for commands",
                              **kwargs)
        self.status = StatusBar(zero, fonts, log, can_reconnect=reconnect is not None)
        self.typing_line = TypingLine(zero, fonts, log)
        self.presence_sender = PresenceSender(log, send, typing)
        self.quit_reason: Optional[str] = None
        self._header_drawn: Optional[tuple] = None
        self.dirty = True
        self.layout(size)

    @property
    def widgets(self):
        """Every widget, in drawing order."""
        return (self.view, self.room_list, self.users, self.input, self.status, self.typing_line)

    def layout(self, size: Tuple[int, int]) -> None:
        """Place every widget for a window of ``size``."""
        w, h = size
        sidebar = theme.SIDEBAR_WIDTH if w >= NARROW else 0
        main_w = w - sidebar
        input_area = theme.INPUT_MIN_HEIGHT + 24
        self.header = pygame.Rect(0, 0, main_w, theme.HEADER_HEIGHT)
        self.status.rect = pygame.Rect(0, h - theme.STATUS_HEIGHT, w, theme.STATUS_HEIGHT)
        rooms = min(self.room_list.wanted_height(), (h - theme.STATUS_HEIGHT) // 2) if sidebar else 0
        self.room_list.rect = pygame.Rect(main_w, 0, sidebar, rooms)
        self.users.rect = pygame.Rect(main_w, rooms, sidebar, h - theme.STATUS_HEIGHT - rooms)
        self.input_area = pygame.Rect(0, h - theme.STATUS_HEIGHT - input_area, main_w, input_area)
        self.input.rect = pygame.Rect(theme.PAD, self.input_area.y + 8, main_w - 2 * theme.PAD,
                                      theme.INPUT_MIN_HEIGHT)
        typing_top = self.input_area.y - TYPING_HEIGHT
        self.typing_line.rect = pygame.Rect(0, typing_top, main_w, TYPING_HEIGHT)
        self.view.set_rect(pygame.Rect(0, theme.HEADER_HEIGHT, main_w,
                                       typing_top - theme.HEADER_HEIGHT))
        try:  # where an input method shows its candidate window
            pygame.key.set_text_input_rect(self.input.rect)
        except (pygame.error, AttributeError):
            pass
        self.size = size
        self.dirty = True

    # ------------------------------------------------------------------ events

    def handle_event(self, event) -> bool:
        """Route one pygame event; True if a widget used it."""
        before = self.input.text
        if self.prompt is not None and self.prompt.handle_event(event):
            if self.prompt.closed:
                choice, self.prompt, self.dirty = self.prompt.take_choice(), None, True
                if choice:
                    self.go_to(choice)
            return True
        if self._room_key(event):
            return True
        if event.type in (pygame.KEYDOWN, pygame.TEXTINPUT, pygame.MOUSEBUTTONDOWN,
                          pygame.MOUSEWHEEL):
            self.presence_sender.input_activity(key=event.type in (pygame.KEYDOWN,
                                                                   pygame.TEXTINPUT))
        used = self.room_list.handle_event(event) or self.users.handle_event(event) \
            or self.view.handle_event(event) \
            or self.status.handle_event(event)
        if not used and event.type == pygame.KEYDOWN:
            ctrl = bool(getattr(event, "mod", 0) & pygame.KMOD_CTRL)
            if ctrl and event.key == pygame.K_r:
                self._reconnect_now()
                return True
            if event.key in (pygame.K_PAGEUP, pygame.K_PAGEDOWN) or \
                    (ctrl and event.key in (pygame.K_HOME, pygame.K_END)):
                used = self.view.scroll_key(event.key, ctrl)
        if not used:
            used = self.input.handle_event(event)
        if not used and event.type == pygame.KEYDOWN and event.key in (pygame.K_HOME, pygame.K_END):
            used = self.view.scroll_key(event.key, False)
        for line in self.input.take_submitted():
            self.submit(line)
        if self.status.take_reconnect():
            self._reconnect_now()
        clicked = self.users.take_clicked()
        if clicked:
            self.input.clear()
            self.input.insert(f"/msg {clicked} ")
        if self.input.text != before:
            self.presence_sender.edited(self.input.text)
        return used

    def _room_key(self, event) -> bool:
        """Ctrl+K (the room prompt) and Ctrl+PageUp/PageDown (the previous/next room)."""
        if event.type != pygame.KEYDOWN or not getattr(event, "mod", 0) & pygame.KMOD_CTRL:
            return False
        if event.key == pygame.K_k:
            self.prompt = RoomPrompt(self.view.rect, self.fonts)
        elif event.key in (pygame.K_PAGEUP, pygame.K_PAGEDOWN):
            self.log.rooms.move(-1 if event.key == pygame.K_PAGEUP else 1)
        else:
            return False
        return True

    def go_to(self, room: str) -> None:
        """Switch to ``room`` if it is in the list, else ask the server to join it."""
        if not self.log.rooms.switch(room) and not self.log.rooms.has(room) \
                and room.startswith("#"):
            self.submit(f"/join {room}")

    def _reconnect_now(self) -> None:
        if self.reconnect is not None and self.log.status.state != "connected":
            self.reconnect()

    def submit(self, text: str) -> None:
        """Send a line typed by the user (``/quit`` closes the window)."""
        command = text.strip().split(" ", 1)[0].lower()
        if command in ("/quit", "/exit"):
            rest = text.strip()[len(command):].strip()
            self.quit_reason = rest or "bye"
            return
        room = self.log.rooms.current
        rest = text.strip()[len(command):].strip()
        if room.startswith("@"):
            if command == "/part":  # a conversation is closed here; nothing to send
                self.log.rooms.close(room)
                return
            text = text if text.startswith("/") and not text.startswith("//") \
                else f"/msg {room[1:]} {text[text.startswith('//'):]}"
        elif command == "/part" and room != LOBBY and not rest.startswith("#"):
            text = f"/part {room} {rest}".rstrip()
        self.presence_sender.submitted(text)
        if room == LOBBY or room.startswith("@") or not getattr(self.send, "takes_room", True):
            msg_id, room = self.send(text), LOBBY
        else:
            msg_id = self.send(text, room=room)
        self.log.add_own(msg_id, text, room=room)
        self.view.follow()

    def update(self, dt: float) -> None:
        """Sync widget state from the model (limits, users) and advance the cursor."""
        self.input.max_text = self.log.max_text
        self.input.users = self.log.users
        self.input.me = self.log.me
        room = self.log.rooms.current
        if room != self._room_seen:  # switched: the newest of that room, its placeholder
            self._room_seen, self.dirty = room, True
            self.view.follow()
            self.input.placeholder = (f"Message {room}" if room != LOBBY else "Message everyone") \
                + "  \u00b7  /help for commands"
        if self.room_list.wanted_height() != self.room_list.rect.height and self.users.rect.width:
            self.layout(self.size)
        places = {PRIVATE} if room.startswith("@") else {room, PRIVATE} | ({"None"} if room == LOBBY else set())
        self.typing_line.places = places
        hint = "" if room.startswith("@") else \
            self.log.rooms.current_roles().hint(self.log.me, self.log.clock())  # muted, slow mode
        if hint != self.input.hint:
            self.input.hint, self.input.dirty, self.input.blink_only = hint, True, False
        self.presence_sender.update()
        for widget in self.widgets:
            widget.update(dt)

    def next_wake_in(self) -> float:
        """Seconds until something changes by itself (the cursor blink, a countdown, a
        typing name expiring, a typing frame or auto-away falling due, the slow-mode
        countdown's next second)."""
        countdown = self.log.rooms.current_roles().next_change_in(self.log.clock())
        return min(self.input.next_blink_in(), self.status.next_wake_in(),
                   self.typing_line.next_wake_in(), self.presence_sender.next_wake_in(),
                   math.inf if countdown is None else countdown + 0.005)

    @property
    def needs_draw(self) -> bool:
        """Whether anything changed since the last draw."""
        # A hidden widget (the sidebar in a narrow window) is not drawn, so its dirty
        # flag never clears: counting it kept the loop from ever going idle.
        return self.dirty or any(w.dirty and w.rect.width and w.rect.height for w in self.widgets) \
            or (self.prompt is not None and self.prompt.dirty) \
            or self._header_state() != self._header_drawn

    # ------------------------------------------------------------------ drawing

    def draw(self, surface: pygame.Surface) -> None:
        """Draw everything (called only when something changed)."""
        self.view.draw(surface)
        self._draw_header(surface)
        surface.fill(theme.BG, self.input_area)
        self.input.draw(surface)
        if self.users.rect.width:
            self.users.draw(surface)
        self.room_list.draw(surface)  # nothing while hidden, but it is then drawn
        self.status.draw(surface)
        self.typing_line.draw(surface)
        if self.prompt is not None:
            self.prompt.draw(surface)
        self.dirty = False

    def draw_changed(self, surface: pygame.Surface):
        """Redraw only what changed; returns the rects to update, or None for all.

        A blinking cursor or a keystroke then costs one small rect instead of a
        full-window flip (which is what a software X server makes expensive).
        """
        if self.dirty or (self.prompt is not None and self.needs_draw):
            self.draw(surface)
            return None
        rects = []
        if self.view.dirty:
            self.view.draw(surface)
            rects.append(self.view.rect)
        if self._header_state() != self._header_drawn:
            self._draw_header(surface)
            rects.append(self.header)
        cursor = self.input.draw_cursor(surface) if self.input.dirty else None
        if cursor is not None:
            rects.append(cursor)
        elif self.input.dirty:
            surface.fill(theme.BG, self.input_area)
            self.input.draw(surface)
            rects.append(self.input_area)
        for widget in (self.room_list, self.users, self.status, self.typing_line):
            if widget.dirty and widget.rect.width and widget.rect.height:
                widget.draw(surface)
                rects.append(widget.rect)
        if self.room_list.dirty:  # hidden (one room): it draws nothing, but is up to date
            self.room_list.draw(surface)
        return rects

    def header_detail(self) -> str:
        """Beside the room's name: where, and how many are online (only when live)."""
        s = self.log.status
        detail = f"{s.host}:{s.port}  \u00b7  " if s.host else ""
        if s.state == "connected":
            count = len(self.users.members())
            return detail + (f"{count} online" if self.log.rooms.current == LOBBY else f"{count} here")
        if s.state in ("connecting", "idle") and not self.log.entries:
            return detail + "connecting\u2026"
        return detail + "offline"

    def _header_state(self) -> tuple:
        s = self.log.status
        rooms = self.log.rooms
        return (s.host, s.port, s.state, len(self.users.members()), rooms.current,
                rooms.current_roles().topic if rooms.current.startswith("#") else "")

    def _draw_header(self, surface: pygame.Surface) -> None:
        self._header_drawn = self._header_state()
        f = self.fonts
        surface.fill(theme.HEADER_BG, self.header)
        pygame.draw.line(surface, theme.DIVIDER, (self.header.x, self.header.bottom - 1),
                         (self.header.right, self.header.bottom - 1))
        room = self.log.rooms.current
        hash_mark = f.title.render(room[0], theme.TEXT_FAINT)
        surface.blit(hash_mark, (theme.PAD, self.header.centery - hash_mark.get_height() // 2))
        title = f.title.render(clean_text(room[1:]), theme.TEXT)
        x = theme.PAD + hash_mark.get_width() + 8
        surface.blit(title, (x, self.header.centery - title.get_height() // 2))
        sub = f.small.render(clean_text(self.header_detail()), theme.TEXT_MUTED)
        x += title.get_width() + 16
        surface.blit(sub, (x, self.header.centery - sub.get_height() // 2 + 1))
        topic = clean_text(self._header_state()[-1]).replace("\n", " ")
        room = self.header.right - theme.PAD - (x + sub.get_width() + 24)
        if topic and room > 40:
            if f.body.width(topic) > room:  # cut to fit, with an ellipsis
                while topic and f.body.width(topic + "\u2026") > room:
                    topic = topic[:-1]
                topic = topic.rstrip() + "\u2026"
            label = f.body.render(topic, theme.TEXT)
            surface.blit(label, (x + sub.get_width() + 24, self.header.centery - label.get_height() // 2))
