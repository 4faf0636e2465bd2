"""Typing and away in the window, headless (SDL_VIDEODRIVER=dummy), no network: the
typing line under the log, the typing frames the input box drives, auto-away, and
away members dimmed in the user list. The clock is the test's."""

from __future__ import annotations

import math

from headless import fonts  # noqa: F401 (a fixture; sets the dummy video driver first)

import pygame  # noqa: E402

from ui import theme  # noqa: E402
from ui.chatlog import ChatLog  # noqa: E402
from ui.chatscreen import ChatScreen  # noqa: E402
from ui.presencesender import AUTO_AWAY_AFTER, typing_target  # noqa: E402


class Clock:
    def __init__(self, now=1000.0):
        self.now = now

    def __call__(self):
        return self.now


class Wire:
    """What the screen sent: lines (``send``) and typing frames (``typing``)."""

    def __init__(self):
        self.lines, self.typing_frames = [], []

    def send(self, text):
        self.lines.append(text)
        return f"id{len(self.lines)}"

    def typing(self, state, room="#lobby", to=None):
        self.typing_frames.append((state, to) if to else (state, room))


def make_screen(fonts, away=None, size=(900, 600)):
    clock, wire = Clock(), Wire()
    log = ChatLog("me", clock=clock)
    welcome = {"type": "connected", "name": "me", "users": ["me", "bob", "carol"], "seq": 1,
               "host": "h", "port": 1}
    if away is not None:
        welcome["away"] = away
    log.apply(welcome)
    screen = ChatScreen(size, fonts, log, wire.send, typing=wire.typing)
    surface = pygame.Surface(size)
    screen.update(0.0)
    screen.draw(surface)
    return screen, surface, clock, wire


def frame(screen, surface):
    """One loop turn's worth: update, then redraw what changed."""
    screen.update(0.0)
    if screen.needs_draw:
        screen.draw_changed(surface)


def typed(screen, text):
    screen.handle_event(pygame.event.Event(pygame.TEXTINPUT, {"text": text}))


def enter(screen):
    screen.handle_event(pygame.event.Event(pygame.KEYDOWN, {"key": pygame.K_RETURN, "mod": 0,
                                                            "unicode": "\r", "scancode": 0}))
    screen.handle_event(pygame.event.Event(pygame.KEYUP, {"key": pygame.K_RETURN, "mod": 0,
                                                          "unicode": "\r", "scancode": 0}))


def ink(surface, rect, colour_floor=90):
    """How many pixels in ``rect`` are brighter than the background (drawn text)."""
    sub = surface.subsurface(rect)
    bg = sum(theme.BG)
    return sum(1 for x in range(sub.get_width()) for y in range(sub.get_height())
               if sum(sub.get_at((x, y))[:3]) > bg + colour_floor)


def test_the_typing_line_shows_under_the_log_and_expires(fonts):
    screen, surface, clock, _ = make_screen(fonts)
    line = screen.typing_line
    assert line.rect.bottom <= screen.input_area.top and line.rect.top >= screen.view.rect.bottom
    assert ink(surface, line.rect) == 0
    screen.log.apply({"type": "typing", "name": "bob", "state": "active", "room": "#lobby"})
    frame(screen, surface)
    assert line.text == "bob is typing\u2026" and ink(surface, line.rect) > 20
    screen.log.apply({"type": "typing", "name": "carol", "state": "active", "to": "me"})
    frame(screen, surface)
    assert line.text == "bob and carol are typing\u2026"
    assert screen.next_wake_in() <= 6.0          # the loop wakes for the expiry
    clock.now += 6.0
    frame(screen, surface)
    assert line.text == "" and ink(surface, line.rect) == 0


def test_the_typing_line_redraws_only_when_it_changes(fonts):
    screen, surface, clock, _ = make_screen(fonts)
    screen.log.apply({"type": "typing", "name": "bob", "state": "active", "room": "#lobby"})
    frame(screen, surface)
    draws = screen.typing_line.draws
    for _ in range(5):
        clock.now += 0.5
        screen.log.apply({"type": "typing", "name": "bob", "state": "active", "room": "#lobby"})
        frame(screen, surface)
    assert screen.typing_line.draws == draws and not screen.needs_draw


def test_typing_in_the_box_sends_active_then_done_when_sent(fonts):
    screen, surface, clock, wire = make_screen(fonts)
    typed(screen, "h")
    clock.now += 1
    typed(screen, "i")
    assert wire.typing_frames == [("active", "#lobby")]
    enter(screen)
    assert wire.lines == ["hi"] and wire.typing_frames[-1] == ("done", "#lobby")


def test_paused_after_5_seconds_and_the_loop_wakes_for_it(fonts):
    screen, surface, clock, wire = make_screen(fonts)
    typed(screen, "h")
    assert screen.next_wake_in() <= 5.0
    clock.now += 5.0
    frame(screen, surface)
    assert wire.typing_frames == [("active", "#lobby"), ("paused", "#lobby")]


def test_private_lines_type_to_their_peer_and_commands_announce_nothing(fonts):
    assert typing_target("/msg bob hi") == ("to", "bob")
    assert typing_target("/me waves") == ("room", "#lobby")
    assert typing_target("//slash") == ("room", "#lobby")
    assert typing_target("/nick bo") is None and typing_target("   ") is None
    screen, surface, clock, wire = make_screen(fonts)
    typed(screen, "/nick b")
    assert wire.typing_frames == []


def test_auto_away_after_10_minutes_idle_and_back_on_the_next_key(fonts):
    screen, surface, clock, wire = make_screen(fonts)
    assert screen.next_wake_in() <= AUTO_AWAY_AFTER
    clock.now += AUTO_AWAY_AFTER - 1
    frame(screen, surface)
    assert wire.lines == []
    clock.now += 1
    frame(screen, surface)
    assert wire.lines == ["/away idle"]
    screen.log.apply({"type": "presence", "name": "me", "away": "idle"})
    frame(screen, surface)
    assert wire.lines == ["/away idle"]          # once
    typed(screen, "x")
    assert wire.lines == ["/away idle", "/back"]
    # an old server refusing the window's own command shows no error
    screen.log.apply({"type": "error", "code": "unknown_command", "id": "id2",
                      "message": "unknown command /back"})
    assert not [e for e in screen.log.entries if e.kind == "error"]


def test_an_away_the_user_set_is_not_ended_by_a_key(fonts):
    screen, surface, clock, wire = make_screen(fonts)
    typed(screen, "/away lunch")
    enter(screen)
    screen.log.apply({"type": "presence", "name": "me", "away": "lunch"})
    clock.now += AUTO_AWAY_AFTER * 2
    frame(screen, surface)
    assert math.isinf(screen.presence_sender.next_wake_in())  # nothing due while away
    typed(screen, "x")
    assert wire.lines == ["/away lunch"]


def test_away_members_are_dimmed_with_their_message(fonts):
    screen, surface, clock, _ = make_screen(fonts, away={"bob": "lunch"})
    users = screen.users
    rows = dict(zip(screen.log.users, users.row_rects()))
    assert users.away_label("bob") == "lunch" and users.away_label("carol") is None

    def brightest(rect):
        sub = surface.subsurface(rect)
        return max(sum(sub.get_at((x, y))[:3]) for x in range(sub.get_width())
                   for y in range(sub.get_height()))

    assert brightest(rows["bob"]) < sum(theme.TEXT) - 60 <= brightest(rows["carol"])
    screen.log.apply({"type": "presence", "name": "bob", "away": None})
    frame(screen, surface)
    assert brightest(rows["bob"]) >= sum(theme.TEXT) - 60


def test_a_long_away_message_is_cut_with_an_ellipsis_beside_the_name():
    from ui.userlist import fit_text
    ten_each = lambda text: 10 * len(text)  # noqa: E731
    assert fit_text("lunch", 50, ten_each) == "lunch"
    assert fit_text("in a meeting until 3", 50, ten_each) == "in a\u2026"


def test_hovering_an_away_member_shows_the_whole_message(fonts):
    screen, surface, clock, _ = make_screen(fonts, away={"bob": "in a meeting until 3, then lunch"})
    rows = dict(zip(screen.log.users, screen.users.row_rects()))
    below = rows["carol"]                      # the tooltip opens over the next row
    before = pygame.image.tobytes(surface.subsurface(below), "RGB")
    screen.handle_event(pygame.event.Event(pygame.MOUSEMOTION, {"pos": rows["bob"].center,
                                                                "rel": (0, 0), "buttons": (0, 0, 0)}))
    frame(screen, surface)
    assert pygame.image.tobytes(surface.subsurface(below), "RGB") != before
    screen.handle_event(pygame.event.Event(pygame.MOUSEMOTION, {"pos": (1, 1), "rel": (0, 0),
                                                                "buttons": (0, 0, 0)}))
    frame(screen, surface)
    assert pygame.image.tobytes(surface.subsurface(below), "RGB") == before
