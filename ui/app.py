"""The application loop: one thread, never blocking, drawing only on change.

``App.step()`` is one turn of the loop, so tests and benchmarks drive the real loop
frame by frame:

1. sleep a few milliseconds (``ui/looppace.py``: 8 ms right after input or network
   activity, 40 ms when idle, never past the cursor's next blink), then take the
   pygame events; no sleep at all while inbound events are queued or something is
   waiting to be drawn. Not ``pygame.event.wait(timeout)``: in pygame 2.6 that is a
   1 ms polling loop, which costs several per cent of a core in an idle window.
   Idle, a turn in which nothing came in stops there;
2. hand each pygame event to the current screen;
3. drain at most ``EVENTS_PER_FRAME`` connection events (``get_nowait``) into the view
   model: a burst of a thousand messages is shown over a few frames, not one frozen;
4. redraw only what changed: each widget compares the view model's versions (entries,
   users, status) with what it drew: a ``pong`` repaints the round-trip time only.

The connection's receive thread never calls pygame; this thread never blocks on the
network. The app owns the connection (its ``say`` wrapped once by ``ui/roomsend.py``
to reach rooms) and switches between the connect screen and the chat screen: a drop
is shown in the status bar while the connection retries; a connection that gives up
(a first attempt, a changed certificate, a refused password) goes back to the connect
screen with the reason.
"""

from __future__ import annotations

import argparse
import logging
import os
import queue
import time
from typing import Callable, Optional, Tuple

import pygame

import protocol
from lanchat.client.options import make_connection
from lanchat.client.wiretap import WireTap
from lanchat.errors import ConnectError

from ui import settings, windowtext, windowtitle
from ui.chatlog import ChatLog
from ui.chatscreen import ChatScreen
from ui.connectscreen import PASSWORD_FIELD, ConnectScreen
from ui.connectstage import ConnectStage, default_browser
from ui.displaycheck import NoWindow, driver_problem
from ui.looppace import Pace
from ui.appquit import QuitFlow
from ui.quitdialog import QuitDialog
from ui.roomsend import room_sender
from ui.textfonts import Fonts
from ui.tlsbadge import fingerprint_of
from ui.windowtitle import TITLE, title_text
from ui.wirepane import WirePane
from ui.wireview import WireView

log = logging.getLogger("chat.ui.app")

WINDOW_SIZE = (1000, 660)
MIN_SIZE = (420, 360)
EVENTS_PER_FRAME = 100     # connection events applied per frame (bursts spread out)
PING_EVERY = 15.0          # seconds between round-trip measurements
KEY_REPEAT = (400, 35)     # ms before repeat, ms between repeats


class App(QuitFlow):
    """The window: screens, the connection, the wire inspector (F12), and the loop.

    Args:
        args: parsed command line (``host``, ``port``, ``name``, ...).
        connection_factory: ``(host, port, name) -> ChatConnection`` (not started).
        size: initial window size.
        clipboard: optional clipboard reader for the chat input (tests stub it).
        browser_factory: ``(port, on_change) -> Browser`` for the connect screen's list, or None.
    """

    def __init__(self, args: argparse.Namespace,
                 connection_factory: Optional[Callable] = None,
                 size: Tuple[int, int] = WINDOW_SIZE, clipboard=None,
                 browser_factory: Optional[Callable] = default_browser):
        self.args = args
        self.wiretap = WireTap()  # records always (cheap); the pane reads it only when open
        if connection_factory is None:
            connection_factory = lambda h, p, n: make_connection(  # noqa: E731
                args, h, p, n, wiretap=self.wiretap)
        self.connection_factory = connection_factory
        self.clipboard = clipboard
        pygame.display.init()
        # Checked again here, not only in client.py: SDL picks its driver anew on each
        # init, and may fall back to offscreen this time (an Xvfb resetting after the
        # check's connection closed did), which would leave an invisible user in the room.
        problem = driver_problem(pygame.display.get_driver(), os.environ)
        if problem:
            pygame.display.quit()
            raise NoWindow(problem)
        pygame.font.init()
        self.surface = pygame.display.set_mode(size, pygame.RESIZABLE)
        pygame.display.set_caption(TITLE)
        pygame.key.set_repeat(*KEY_REPEAT)
        try:
            pygame.key.start_text_input()
        except pygame.error:
            pass
        self.fonts = Fonts()
        self.size = self.surface.get_size()
        self.inspector = WirePane(self.fonts, WireView(self.wiretap))
        if getattr(args, "wire", False):  # --wire: open at start, the keyboard in the chat
            self.inspector.toggle()
            self.inspector.focused = False
        self.conn = None
        self.log = ChatLog()
        self.chat: Optional[ChatScreen] = None
        self.connect_screen: Optional[ConnectScreen] = None
        self.stage = ConnectStage(browser_factory, args.port, args.fingerprint)  # + search
        self.quit_dialog: Optional[QuitDialog] = None
        self._quit_reason = "bye"
        self.running = True
        self.focused = True
        self.frames_drawn = 0
        self._title = ""
        self._last_ping = 0.0
        self._ever_connected = False
        self._remember: Optional[tuple] = None
        self._last_step = time.monotonic()
        self.pace = Pace(self._last_step)
        remembered = settings.load()
        host = args.host or remembered.get("host", "")
        port = args.port or remembered.get("port", protocol.DEFAULT_PORT)
        name = args.name or remembered.get("name", "")
        if args.host and args.name:
            self.start_connection(host, port, name)
        else:
            self.connect_screen = self.stage.open(
                self.inspector.split(self.size), self.fonts, host, port, name,
                tls=args.tls or remembered.get("tls", False),
                cafile=args.cafile or remembered.get("cafile", ""))

    @property
    def screen(self):
        """The screen being shown: the connect screen until its attempt succeeds."""
        return self.connect_screen if self.connect_screen is not None else self.chat

    # ------------------------------------------------------------------ connection

    def start_connection(self, host: str, port: int, name: str) -> None:
        """Open the chat screen and start connecting in the background."""
        self.log = ChatLog(me=name)
        self.log.status.host, self.log.status.port = host, port
        try:
            self.conn = self.connection_factory(host, port, name)
        except ConnectError as exc:  # a CA file that cannot be used: say so, no window
            self._connection_failed(str(exc))
            return
        can_retry = callable(getattr(self.conn, "reconnect_now", None))
        self.chat = ChatScreen(self.inspector.split(self.size), self.fonts, self.log,
                               room_sender(self.conn.say),
                               clipboard=self.clipboard,
                               reconnect=self.reconnect_now if can_retry else None,
                               typing=getattr(self.conn, "typing", None))
        self._ever_connected, self._refusal = False, None
        self.conn.start()

    def reconnect_now(self) -> None:
        """Cut the connection's backoff wait short: try again at once."""
        if self.conn is not None:
            self.conn.reconnect_now()

    def _gave_up(self, event: dict) -> bool:
        """Whether ``event`` ends the connection for good (a failed attempt, a refused
        reconnect, a drop not retried): back to the connect screen, not a dead chat."""
        kind = event.get("type")
        return kind == "connect_failed" or (kind == "disconnected" and self._ever_connected
                                            and not event.get("will_retry"))

    def _connection_failed(self, reason: str, focus: Optional[int] = None) -> None:
        host, port, name = self.log.status.host, self.log.status.port, self.log.me
        self._close_connection()
        self.chat = None
        if self.connect_screen is None:
            self.connect_screen = self.stage.open(self.inspector.split(self.size), self.fonts,
                                                  host, port, name,
                                                  password=self.args.password or "",
                                                  tls=self.args.tls, cafile=self.args.cafile or "")
        self.connect_screen.failed(reason, focus)

    def _close_connection(self, reason: str = "bye") -> None:
        if self.conn is not None:
            self.conn.close(reason)
            self.conn = None

    def drain_network(self, limit: int = EVENTS_PER_FRAME) -> int:
        """Apply up to ``limit`` queued connection events; returns how many."""
        if self.conn is None:
            return 0
        conn, handled = self.conn, 0
        while handled < limit:
            try:
                event = conn.events.get_nowait()
            except queue.Empty:
                break
            handled += 1
            self.pace.active(time.monotonic())
            kind = event.get("type")
            if kind in ("connecting", "connected"):  # a refusal explains only its attempt
                self._refusal = None
            if kind == "error" and (event.get("ends_session") or not self._ever_connected):
                self._refusal = event.get("code")
            if kind == "error":  # the window's sentence, not the terminal's
                event = {**event, "message": windowtext.chat_error(event)}
            if self._gave_up(event):
                self._connection_failed(windowtext.refusal(
                    self._refusal, event.get("reason") or "",
                    password_sent=bool(getattr(conn, "password", None))),
                    focus=PASSWORD_FIELD if self._refusal == protocol.AUTH_FAILED else None)
                return handled
            self.log.apply(event)  # the widgets see what changed through its versions
            if kind == "connected":
                self._ever_connected = True
                if self.connect_screen is not None:
                    self.connect_screen = None
                    self.stage.close()
                    self.chat.dirty = True
                self.chat.status.fingerprint = fingerprint_of(conn)
                if self._remember:
                    settings.save(*self._remember)
                    self._remember = None
                self._last_ping = 0.0
        return handled

    def _maybe_ping(self) -> None:
        now = time.monotonic()
        if self.conn is not None and self.conn.connected and now - self._last_ping > PING_EVERY:
            self._last_ping = now
            self.conn.ping()

    # ------------------------------------------------------------------ loop

    def _backlog(self) -> bool:
        return self.conn is not None and not self.conn.events.empty()

    def _quiet(self, now: float) -> bool:
        """In the chat (the connect screen's list changes by itself), idle, nothing due."""
        return self.chat is not None and self.connect_screen is None and self.pace.idle(now) \
            and self.quit_dialog is None and not self.inspector.open and not self.screen.needs_draw

    def step(self, max_wait: Optional[float] = None) -> bool:
        """Run one frame (``max_wait`` caps the idle wait: tests pass 0); False once the
        app should exit."""
        wait = 0.0 if (self._backlog() or self.screen.needs_draw) else \
            self.pace.poll(time.monotonic())
        if max_wait is not None:
            wait = min(wait, max_wait)
        if wait > 0.001:
            # Not pygame.event.wait: pygame 2.6 implements it as a 1 ms polling loop
            # (SDL_Delay(1) between pumps), which costs several % CPU when idle.
            time.sleep(wait)
        events = pygame.event.get()
        if events:
            self.pace.active(time.monotonic())
        for event in events:
            self.handle_event(event)
            if not self.running:
                return False
        if not self.drain_network() and not events and self._quiet(time.monotonic()):
            return self.running
        request = self.connect_screen.take_request() if self.connect_screen else None
        if request:
            host, port, name, password = request[:4]
            self._remember = (host, port, name, request.tls, request.cafile)  # saved on success
            if password:
                self.args.password = password  # make_connection reads it from args
            self.args.tls, self.args.cafile = request.tls, request.cafile or None
            self.args.fingerprint = request.fingerprint  # a first use pins only that one
            self.start_connection(host, port, name)
        if self.chat is not None and self.chat.quit_reason:
            reason, self.chat.quit_reason = self.chat.quit_reason, None
            self.request_quit(reason)
        if self.quit_dialog is not None:
            self._settle_quit()
        if not self.running:
            return False
        self._maybe_ping()
        now = time.monotonic()
        self.screen.update(now - self._last_step)
        self.inspector.update(now - self._last_step)
        self._last_step = now
        pinging = self.conn is not None and self.conn.connected
        ping_in = PING_EVERY + self._last_ping - now if pinging else PING_EVERY
        self.pace.plan(now, min(self.screen.next_wake_in(), ping_in))
        self._update_title()
        if self.screen.needs_draw or self.inspector.needs_draw or \
                (self.quit_dialog is not None and self.quit_dialog.dirty):
            self.draw()
        return self.running

    def draw(self) -> None:
        """Draw what changed on the current screen and show it."""
        if self.quit_dialog is not None:  # the whole window, dimmed, under the question
            self.chat.draw(self.surface)
            rects = None
        elif self.chat is not None:
            rects = self.chat.draw_changed(self.surface)
        else:
            self.screen.draw(self.surface)
            rects = None
        if self.inspector.open and (rects is None or self.inspector.needs_draw):
            self.inspector.draw(self.surface)
            if rects is not None:
                rects.append(self.inspector.rect)
        if self.quit_dialog is not None:
            self.quit_dialog.draw(self.surface)
        if rects is None:
            pygame.display.flip()
        elif rects:
            pygame.display.update(rects)
        self.frames_drawn += 1

    def handle_event(self, event) -> None:
        """App-level events (quit, resize, focus), then the screen's."""
        if event.type == pygame.QUIT:
            if self.quit_dialog is not None:  # closed again while asked: that is a yes
                self.quit(self._quit_reason)
            else:
                self.request_quit()
            return
        if event.type == pygame.KEYDOWN and event.key == pygame.K_q \
                and getattr(event, "mod", 0) & pygame.KMOD_CTRL and self.quit_dialog is None:
            self.request_quit()
            return
        if event.type == pygame.VIDEORESIZE:
            self.resize((max(MIN_SIZE[0], event.w), max(MIN_SIZE[1], event.h)))
            return
        if self.quit_dialog is not None and self.quit_dialog.handle_event(event):
            return
        was_open, had_keys = self.inspector.open, self.inspector.focused
        used = self.inspector.handle_event(event)
        if self.inspector.focused != had_keys:  # the keyboard moved: one cursor, not two
            self.set_focused(self.focused)
        if used:
            if self.inspector.open != was_open:  # F12: the chat gets the rest of the width
                self.resize(self.size)
            return
        if event.type == pygame.WINDOWFOCUSGAINED:
            self.set_focused(True)
        elif event.type == pygame.WINDOWFOCUSLOST:
            self.set_focused(False)
        elif event.type in (pygame.WINDOWEXPOSED, pygame.WINDOWRESTORED):
            if self.chat:
                self.chat.dirty = True
            elif self.connect_screen:
                self.connect_screen.dirty = True
        self.screen.handle_event(event)

    def set_focused(self, focused: bool) -> None:
        """Window focus changed: reset unread when it comes back; stop the blink."""
        self.focused = focused
        if focused:
            self.log.reset_unread()
        if self.chat is not None:
            self.chat.input.focused = focused and not self.inspector.focused
            self.chat.input.wake_cursor()
            if not focused:
                self.chat.input.focus_lost()

    def resize(self, size: Tuple[int, int]) -> None:
        """Reflow everything for a new window size."""
        if pygame.display.get_surface() is None or self.surface.get_size() != size:
            try:
                self.surface = pygame.display.set_mode(size, pygame.RESIZABLE)
            except pygame.error as exc:
                log.debug("resize failed: %s", exc)
        self.size = self.surface.get_size()
        rest = self.inspector.split(self.size)
        if self.chat:
            self.chat.layout(rest)
        if self.quit_dialog:
            self.quit_dialog.layout(self.size)
        if self.connect_screen:
            self.connect_screen.layout(rest)

    def _update_title(self) -> None:
        if self.focused:
            self.log.reset_unread()
        title = title_text(self.log, self.chat is not None, self.focused, windowtitle.TITLE_ROOMS)
        if title != self._title:
            self._title = title
            pygame.display.set_caption(title)

    def run(self) -> int:
        """Loop until the window closes; returns the exit code."""
        try:
            while self.step():
                pass
        except KeyboardInterrupt:
            self.quit("interrupted")
        finally:
            self.quit()  # stops the search and closes the connection, if not done yet
            pygame.quit()
        return 0
