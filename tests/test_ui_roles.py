"""Ops and moderation in the window, headless and without a network: who is an op
(from the welcome and live ``mode`` events, never replayed ones), the badge in the
user list, and what the input box says while you are muted or slowed.
The clock is the test's."""

from __future__ import annotations

from headless import fonts  # noqa: F401 (a fixture; sets the dummy video driver first)

import pygame  # noqa: E402

from ui import theme  # noqa: E402
from ui.chatlog import ChatLog  # noqa: E402
from ui.chatscreen import ChatScreen  # noqa: E402
from ui.userlist import OP_BADGE_BG  # noqa: E402

from test_ui_presence_window import Clock, Wire, frame  # noqa: E402


def welcomed(ops=("bob",), slow=0, muted=False, admin=False, rooms=True):
    clock = Clock()
    log = ChatLog("me", clock=clock)
    welcome = {"type": "connected", "name": "me", "users": ["me", "bob", "carol"], "seq": 10,
               "host": "h", "port": 1, "admin": admin}
    if rooms:
        welcome["rooms"] = [{"room": "#lobby", "topic": "", "users": ["me", "bob", "carol"],
                             "ops": list(ops), "slow": slow, "muted": muted}]
    log.apply(welcome)
    return log, clock


def mode(seq, change, target=None, by="bob", replay=False, **extra):
    event = {"type": "mode", "seq": seq, "ts": 1.0, "room": "#lobby", "by": by,
             "change": change, **extra}
    if target is not None:
        event["target"] = target
    if replay:
        event["replay"] = True
    return event


# ---------------------------------------------------------------- who is an op

def test_the_welcome_says_who_the_ops_are():
    log, _ = welcomed(ops=["bob"])
    assert log.roles.is_op("bob") and not log.roles.is_op("carol")
    assert not log.roles.is_op(log.me)


def test_an_old_welcome_without_rooms_means_no_ops():
    log, _ = welcomed(rooms=False)
    assert log.roles.ops == set() and log.roles.hint(log.me, 0.0) == ""


def test_live_op_and_deop_change_the_list_and_its_version():
    log, _ = welcomed(ops=["bob"])
    before = log.users_version
    assert log.apply(mode(11, "+op", "carol"))
    assert log.roles.is_op("carol") and log.users_version > before
    log.apply(mode(12, "-op", "bob", by="carol"))
    assert not log.roles.is_op("bob")


def test_replayed_mode_events_never_change_the_ops():
    log, _ = welcomed(ops=["bob"])
    log.apply(mode(5, "-op", "bob", replay=True))
    log.apply(mode(7, "+op", "carol"))          # at or below the welcome's seq: history
    log.apply(mode(9, "+mute", "me", replay=True))
    assert log.roles.ops == {"bob"} and not log.roles.muted
    assert any("carol" in e.text for e in log.entries)  # still shown as notices


def test_a_leave_or_a_nick_updates_the_ops():
    log, _ = welcomed(ops=["bob", "carol"])
    log.apply({"type": "nick", "seq": 11, "ts": 1.0, "old": "bob", "new": "robert"})
    assert log.roles.is_op("robert") and not log.roles.is_op("bob")
    log.apply({"type": "leave", "seq": 12, "ts": 1.0, "name": "carol", "reason": "bye"})
    assert not log.roles.is_op("carol")


def test_an_admin_is_an_op_and_your_own_op_follows_your_rename():
    log, _ = welcomed(ops=[], admin=True)
    assert log.roles.is_op("me")
    log2, _ = welcomed(ops=["me"])
    log2.apply({"type": "nick", "seq": 11, "ts": 1.0, "old": "me", "new": "me2"})
    assert log2.me == "me2" and log2.roles.is_op(log2.me)


# ---------------------------------------------------------------- muted, slow

def test_muted_from_the_welcome_and_live():
    log, clock = welcomed(muted=True)
    assert log.roles.hint(log.me, clock()) == "You are muted in #lobby"
    log.apply(mode(11, "-mute", "me"))
    assert log.roles.hint(log.me, clock()) == ""
    log.apply(mode(12, "+mute", "carol"))        # someone else's mute is not yours
    assert log.roles.hint(log.me, clock()) == ""
    log.apply(mode(13, "+mute", "me", seconds=600))
    assert log.roles.muted


def test_slow_mode_with_the_wait_after_a_refusal():
    log, clock = welcomed(slow=30)
    assert log.roles.hint(log.me, clock()) == "Slow mode: one line every 30 s"
    log.apply({"type": "error", "code": "slow_mode", "id": "x", "room": "#lobby",
               "retry_after": 11.2, "message": "slow mode"})
    assert log.roles.hint(log.me, clock()) == "Slow mode: one line every 30 s (next in 12 s)"
    clock.now += 5
    assert log.roles.hint(log.me, clock()) == "Slow mode: one line every 30 s (next in 7 s)"
    assert 0 < log.roles.next_change_in(clock()) <= 1.0
    clock.now += 7
    assert log.roles.hint(log.me, clock()) == "Slow mode: one line every 30 s"
    assert log.roles.next_change_in(clock()) is None


def test_live_slow_changes_and_ops_are_never_slowed():
    log, clock = welcomed(ops=["bob"])
    log.apply(mode(11, "+slow", seconds=10))
    assert log.roles.hint(log.me, clock()) == "Slow mode: one line every 10 s"
    log.apply(mode(12, "+op", "me"))
    assert log.roles.hint(log.me, clock()) == ""
    log.apply(mode(13, "-op", "me"))
    log.apply(mode(14, "-slow"))
    assert log.roles.hint(log.me, clock()) == ""


# ---------------------------------------------------------------- the window

def make_screen(fonts, **welcome):  # noqa: F811
    log, clock = welcomed(**welcome)
    size = (900, 600)
    screen = ChatScreen(size, fonts, log, Wire().send)
    surface = pygame.Surface(size)
    screen.update(0.0)
    screen.draw(surface)
    return screen, surface, clock


def badge_pixels(surface, rect):
    sub = surface.subsurface(rect)
    return sum(1 for x in range(sub.get_width()) for y in range(sub.get_height())
               if sub.get_at((x, y))[:3] == OP_BADGE_BG)


def test_the_user_list_marks_ops_with_a_badge(fonts):  # noqa: F811
    screen, surface, _ = make_screen(fonts, ops=["bob"])
    rows = dict(zip(screen.log.users, screen.users.row_rects()))
    assert badge_pixels(surface, rows["bob"]) > 20
    assert badge_pixels(surface, rows["carol"]) == 0
    screen.log.apply(mode(11, "+op", "carol"))
    frame(screen, surface)
    assert badge_pixels(surface, rows["carol"]) > 20


def test_the_input_box_says_you_are_muted(fonts):  # noqa: F811
    screen, surface, clock = make_screen(fonts, muted=True)
    assert screen.input.hint == "You are muted in #lobby"
    frame(screen, surface)
    assert not screen.needs_draw            # nothing changes by itself ...
    assert screen.log.roles.next_change_in(clock()) is None  # ... nor will
    screen.log.apply(mode(11, "-mute", "me"))
    screen.update(0.0)
    assert screen.input.hint == "" and screen.input.dirty


def test_the_slow_mode_countdown_redraws_once_a_second(fonts):  # noqa: F811
    screen, surface, clock = make_screen(fonts, slow=30)
    screen.log.apply({"type": "error", "code": "slow_mode", "id": "x", "room": "#lobby",
                      "retry_after": 3.0, "message": "slow mode"})
    frame(screen, surface)
    assert screen.input.hint == "Slow mode: one line every 30 s (next in 3 s)"
    assert screen.next_wake_in() <= 1.0
    clock.now += 0.5
    screen.update(0.0)
    assert not screen.input.dirty            # the same text: no redraw
    clock.now += 0.6
    screen.update(0.0)
    assert screen.input.hint.endswith("(next in 2 s)") and screen.input.dirty
    before = pygame.image.tobytes(surface.subsurface(screen.input_area), "RGB")
    frame(screen, surface)
    assert pygame.image.tobytes(surface.subsurface(screen.input_area), "RGB") != before
