"""Widget and view-model tests, headless (SDL_VIDEODRIVER=dummy), no network."""

from __future__ import annotations

import os

os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

import pygame  # noqa: E402
import pytest  # noqa: E402

from ui import settings, theme  # noqa: E402
from ui.chatlog import (ACTION, CHAT, DIVIDER, ERROR, FAILED, NOTICE, PENDING, PRIVATE,  # noqa: E402
                        SENT, ChatLog, parse_own_line)
from ui.inputbox import InputBox  # noqa: E402
from ui.messageview import MessageView  # noqa: E402
from ui.textfonts import FontSet, clean_text  # noqa: E402
from ui.wrapping import wrap_text  # noqa: E402
from headless import fonts  # noqa: E402,F401 (a fixture)


def fixed(px_per_char=10):
    return lambda text: px_per_char * len(text)


def key(k, mod=0):
    return pygame.event.Event(pygame.KEYDOWN, {"key": k, "mod": mod, "unicode": "", "scancode": 0})


def text_event(text):
    return pygame.event.Event(pygame.TEXTINPUT, {"text": text})


# ---------------------------------------------------------------- wrapping

def test_wrap_breaks_at_spaces_within_width():
    lines = wrap_text("hello world this is a test", 100, fixed())
    assert lines == ["hello", "world this", "is a test"]
    assert all(len(line) * 10 <= 100 for line in lines)


def test_wrap_breaks_long_words():
    lines = wrap_text("a" * 25 + " bb", 100, fixed())
    assert lines == ["a" * 10, "a" * 10, "a" * 5 + " bb"]


def test_wrap_keeps_newlines_and_empty_lines():
    assert wrap_text("one\n\ntwo", 100, fixed()) == ["one", "", "two"]


def test_wrap_character_wider_than_line_gets_own_line():
    assert wrap_text("abc", 5, fixed()) == ["a", "b", "c"]


def test_wrap_with_real_font_fits_width(fonts):
    text = "Привет мир, 你好世界, héllo wörld " * 8 + "x" * 300
    for width in (120, 333, 700):
        for line in wrap_text(text, width, fonts.body.width):
            assert fonts.body.width(line) <= width


# ---------------------------------------------------------------- fonts

def test_clean_text_removes_controls_and_surrogates():
    assert clean_text("a\x00b\x1bc\td\ud800") == "a\ufffdb\ufffdc    d\ufffd"
    assert clean_text("line\nbreak") == "line\nbreak"


def test_render_never_raises_on_odd_text(fonts):
    for text in ["", "\x00", "\ud800", "😀", "你好", "Привет", "\u202e evil", "x" * 500]:
        surface = fonts.body.render(text, (255, 255, 255))
        assert surface.get_height() > 0


def test_runs_pick_a_font_per_script(fonts):
    runs = fonts.body.runs("hi 你好")
    if len(fonts.body.fonts) > 2:  # a CJK face is installed
        assert len(runs) == 2
    assert "".join(run for _, run in runs) == "hi 你好"


def test_default_font_only_still_renders():
    only_default = FontSet(16, families=[])
    assert len(only_default.fonts) == 1
    assert only_default.render("你好 héllo", (255, 255, 255)).get_width() > 0


# ---------------------------------------------------------------- view model

def welcome(log, users=("me", "bob")):
    log.apply({"type": "connected", "name": "me", "users": list(users), "max_text": 100,
               "seq": 1, "host": "h", "port": 1})


def test_own_line_pending_then_acked():
    log = ChatLog("me")
    welcome(log)
    entry = log.add_own("id1", "hello")
    assert entry.state == PENDING and entry.mine
    assert log.apply({"type": "ack", "id": "id1", "seq": 7, "text": "hello"})
    assert entry.state == SENT and entry.seq == 7
    # the same seq replayed later is dropped
    assert not log.apply({"type": "message", "seq": 7, "from": "me", "text": "hello",
                          "kind": "chat", "replay": True})


def test_own_line_failed_with_reason():
    log = ChatLog("me")
    welcome(log)
    entry = log.add_own("id1", "spam")
    log.apply({"type": "error", "id": "id1", "code": "rate_limited",
               "message": "slow down", "text": "spam"})
    assert entry.state == FAILED and entry.reason == "slow down"


def test_own_commands_parse():
    assert parse_own_line("/me waves") == (ACTION, "waves", None)
    assert parse_own_line("/msg bob hi there") == (PRIVATE, "hi there", "bob")
    assert parse_own_line("//x") == (CHAT, "/x", None)
    assert parse_own_line("/nick zed") is None
    log = ChatLog("me")
    assert log.add_own("c1", "/help") is None
    log.apply({"type": "error", "id": "c1", "code": "unknown_command", "message": "no such"})
    assert log.entries[-1].kind == ERROR and log.entries[-1].text == "no such"


def test_replay_divider_dedupe_and_grouping():
    log = ChatLog("me")
    welcome(log)
    log.apply({"type": "message", "seq": 2, "ts": 100.0, "from": "bob", "text": "a",
               "kind": "chat", "replay": True})
    log.apply({"type": "message", "seq": 3, "ts": 101.0, "from": "bob", "text": "b",
               "kind": "chat", "replay": True})
    log.apply({"type": "message", "seq": 3, "ts": 101.0, "from": "bob", "text": "b",
               "kind": "chat"})
    log.apply({"type": "message", "seq": 4, "ts": 102.0, "from": "bob", "text": "c",
               "kind": "chat"})
    kinds = [(e.kind, e.text) for e in log.entries]
    assert kinds == [(DIVIDER, "earlier messages"), (CHAT, "a"), (CHAT, "b"),
                     (DIVIDER, "now"), (CHAT, "c")]
    assert log.entries[2].grouped and not log.entries[1].grouped
    assert log.unread == 1  # replayed lines are not unread


def test_users_follow_join_leave_nick():
    log = ChatLog("me")
    welcome(log, ("me", "zed", "amy"))
    assert log.users == ["me", "amy", "zed"]
    log.apply({"type": "join", "seq": 5, "name": "bob"})
    log.apply({"type": "leave", "seq": 6, "name": "zed", "reason": "bye"})
    log.apply({"type": "nick", "seq": 7, "old": "me", "new": "mo"})
    assert log.users == ["mo", "amy", "bob"] and log.me == "mo"
    assert [e.kind for e in log.entries] == [NOTICE] * 3


# ---------------------------------------------------------------- input box

@pytest.fixture
def box(fonts):
    b = InputBox(pygame.Rect(0, 0, 400, 40), fonts, clipboard=lambda: "")
    return b


def test_typing_comes_from_textinput_only(box):
    box.handle_event(text_event("hé"))
    box.handle_event(key(pygame.K_a))  # a KEYDOWN for a letter types nothing
    box.handle_event(text_event("你"))
    assert box.text == "hé你" and box.cursor == 3


def test_cursor_moves_and_deletes(box):
    box.insert("hello big world")
    box.handle_event(key(pygame.K_LEFT, pygame.KMOD_CTRL))
    assert box.cursor == len("hello big ")
    box.handle_event(key(pygame.K_LEFT, pygame.KMOD_CTRL))
    assert box.cursor == len("hello ")
    box.handle_event(key(pygame.K_RIGHT, pygame.KMOD_CTRL))
    assert box.cursor == len("hello big")
    box.handle_event(key(pygame.K_BACKSPACE, pygame.KMOD_CTRL))
    assert box.text == "hello  world" and box.cursor == len("hello ")
    box.handle_event(key(pygame.K_DELETE, pygame.KMOD_CTRL))
    assert box.text == "hello "
    box.handle_event(key(pygame.K_HOME))
    assert box.cursor == 0
    box.handle_event(key(pygame.K_DELETE))
    assert box.text == "ello "
    box.handle_event(key(pygame.K_END))
    box.handle_event(key(pygame.K_BACKSPACE))
    assert box.text == "ello" and box.cursor == 4
    box.handle_event(key(pygame.K_a, pygame.KMOD_CTRL))
    assert box.cursor == 0
    box.handle_event(key(pygame.K_e, pygame.KMOD_CTRL))
    assert box.cursor == 4
    box.handle_event(key(pygame.K_u, pygame.KMOD_CTRL))
    assert box.text == "" and box.cursor == 0


def test_enter_submits_once_despite_repeat(box):
    box.insert("hi")
    box.handle_event(key(pygame.K_RETURN))
    box.insert("again")
    box.handle_event(key(pygame.K_RETURN))  # key repeat: still held
    assert box.take_submitted() == ["hi"]
    box.handle_event(pygame.event.Event(pygame.KEYUP, {"key": pygame.K_RETURN, "mod": 0}))
    box.handle_event(key(pygame.K_RETURN))
    assert box.take_submitted() == ["again"]


def test_blank_and_too_long_lines_are_not_sent(box):
    box.max_text = 5
    box.insert("   ")
    assert box.submit() is None
    box.clear()
    box.insert("123456")
    assert box.submit() is None
    assert "1 character too long" in box.notice and box.text == "123456"
    assert box.counter_text() == "6 / 5"
    box.backspace()
    assert box.submit() == "12345"


def test_history_recall_keeps_draft(box):
    for line in ("one", "two"):
        box.insert(line)
        box.submit()
    box.insert("draft")
    box.handle_event(key(pygame.K_UP))
    assert box.text == "two"
    box.handle_event(key(pygame.K_UP))
    assert box.text == "one"
    box.handle_event(key(pygame.K_UP))
    assert box.text == "one"
    box.handle_event(key(pygame.K_DOWN))
    box.handle_event(key(pygame.K_DOWN))
    assert box.text == "draft" and box.cursor == 5


def test_paste_with_stubbed_clipboard_keeps_newlines(fonts):
    b = InputBox(pygame.Rect(0, 0, 400, 40), fonts, clipboard=lambda: "line one\r\nline two\x00")
    b.insert("> ")
    b.handle_event(key(pygame.K_v, pygame.KMOD_CTRL))
    assert b.text == "> line one\nline two\ufffd"
    assert b.submit() == "> line one\nline two\ufffd"


def test_tab_completes_and_cycles(box):
    box.users = ["me", "bob", "bobby", "carol"]
    box.me = "me"
    box.insert("bo")
    box.handle_event(key(pygame.K_TAB))
    assert box.text == "bob: "
    box.handle_event(key(pygame.K_TAB))
    assert box.text == "bobby: "
    box.clear()
    box.insert("/msg CA")
    box.handle_event(key(pygame.K_TAB))
    assert box.text == "/msg carol "


def test_input_draws_without_error(box, fonts):
    surface = pygame.Surface((400, 60))
    box.insert("x" * 300 + "\nmore")
    box.draw(surface)
    box.max_text = 100
    box.draw(surface)


# ---------------------------------------------------------------- message view

def filled_log(n, text="message number {i} with a few words to wrap around"):
    log = ChatLog("me")
    welcome(log)
    for i in range(n):
        log.apply({"type": "message", "seq": 10 + i, "ts": 1000.0 + i * 400, "from": f"user{i % 3}",
                   "text": text.format(i=i), "kind": "chat"})
    return log


def test_view_follows_and_draws_only_visible(fonts):
    log = filled_log(2000)
    view = MessageView(pygame.Rect(0, 0, 500, 300), fonts, log)
    shown = view.visible_indices()
    assert shown[0][0] == 1999 and len(shown) < 20
    assert len(view._layouts) < 25  # nothing off screen was wrapped


def test_scroll_maths_round_trip(fonts):
    log = filled_log(200)
    view = MessageView(pygame.Rect(0, 0, 500, 300), fonts, log)
    view.scroll_by(250)
    assert not view.following
    bottom_index = view.visible_indices()[0][0]
    assert bottom_index < 199
    view.scroll_by(-100)
    view.scroll_by(100)
    assert view.visible_indices()[0][0] == bottom_index
    view.scroll_by(-10_000)
    assert view.following
    view.home()
    shown = view.visible_indices()
    assert shown[-1] == (0, view.rect.top)  # the first entry's top at the view's top
    view.scroll_by(10_000)  # cannot scroll past the top
    assert view.visible_indices()[-1] == (0, view.rect.top)
    view.page(-1)
    assert view.visible_indices()[-1][1] < view.rect.top


def test_short_log_cannot_scroll(fonts):
    log = filled_log(2)
    view = MessageView(pygame.Rect(0, 0, 500, 600), fonts, log)
    view.scroll_by(200)
    assert view.following


def test_scrolled_up_counts_new_messages_and_keeps_position(fonts):
    log = filled_log(100)
    view = MessageView(pygame.Rect(0, 0, 500, 300), fonts, log)
    view.scroll_by(400)
    before = view.visible_indices()
    for i in range(3):
        log.apply({"type": "message", "seq": 5000 + i, "from": "bob", "text": "new",
                   "kind": "chat"})
    view.update(0.0)
    assert view.new_count == 3
    assert view.visible_indices() == before
    surface = pygame.Surface((500, 300))
    view.draw(surface)
    assert view._pill_rect is not None
    click = pygame.event.Event(pygame.MOUSEBUTTONDOWN, {"button": 1, "pos": view._pill_rect.center})
    assert view.handle_event(click)
    assert view.following and view.new_count == 0


def test_resize_rewraps(fonts):
    log = filled_log(5, text="word " * 60)
    view = MessageView(pygame.Rect(0, 0, 800, 400), fonts, log)
    wide = view.height_of(4)
    view.set_rect(pygame.Rect(0, 0, 300, 400))
    assert view.height_of(4) > wide


def test_every_entry_kind_renders(fonts):
    log = ChatLog("me")
    welcome(log)
    log.apply({"type": "message", "seq": 2, "from": "bob", "text": "hi", "kind": "chat",
               "replay": True})
    log.apply({"type": "message", "seq": 3, "from": "bob", "text": "waves", "kind": "action"})
    log.apply({"type": "message", "seq": 4, "from": "bob", "to": "me", "text": "psst",
               "kind": "private"})
    log.apply({"type": "join", "seq": 5, "name": "amy"})
    log.apply({"type": "system", "text": "/help\n/me"})
    log.apply({"type": "error", "code": "x", "message": "bad"})
    log.add_own("p", "pending one")
    log.add_own("f", "/me fails")
    log.apply({"type": "error", "id": "f", "code": "rate_limited", "message": "slow"})
    view = MessageView(pygame.Rect(0, 0, 600, 800), fonts, log)
    surface = pygame.Surface((600, 800))
    view.draw(surface)
    assert len(view.visible_indices()) == len(log.entries)


# ---------------------------------------------------------------- settings

def test_settings_round_trip_in_xdg_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert settings.load() == {}
    assert settings.save("10.0.0.5", 6000, "zoe")
    assert settings.config_path().startswith(str(tmp_path))
    assert settings.load() == {"host": "10.0.0.5", "port": 6000, "name": "zoe"}
    with open(settings.config_path(), "w") as fh:
        fh.write("{not json")
    assert settings.load() == {}


def test_name_colour_is_stable_and_case_blind():
    assert theme.name_colour("Alice") == theme.name_colour("alice")
    assert theme.name_colour("bob") in theme.NAME_COLOURS


def test_drop_and_reconnect_are_announced_once():
    log = ChatLog("me")
    welcome(log)
    log.apply({"type": "disconnected", "reason": "the server closed the connection",
               "will_retry": True})
    log.apply({"type": "reconnecting", "attempt": 1, "delay": 0.6, "reason": "refused"})
    log.apply({"type": "reconnecting", "attempt": 2, "delay": 1.2, "reason": "refused"})
    assert log.status.state == "reconnecting" and log.status.reason == "refused"
    assert log.status.attempt == 2 and log.status.retry_in == 1.2
    welcome(log)
    texts = [e.text for e in log.entries]
    assert texts == ["Disconnected: the server closed the connection. Reconnecting\u2026",
                     "Reconnected as me"]


def test_live_system_line_closes_the_replay_section():
    log = ChatLog("me")
    welcome(log)
    log.apply({"type": "message", "seq": 2, "from": "bob", "text": "old", "kind": "chat",
               "replay": True})
    log.apply({"type": "system", "text": "help"})
    assert [e.kind for e in log.entries] == [DIVIDER, CHAT, DIVIDER, "system"]


def test_hover_highlights_and_shows_time_of_grouped_line(fonts):
    log = ChatLog("me")
    welcome(log)
    for i in range(3):
        log.apply({"type": "message", "seq": 10 + i, "ts": 1000.0 + i, "from": "bob",
                   "text": f"line {i}", "kind": "chat"})
    view = MessageView(pygame.Rect(0, 0, 500, 400), fonts, log)
    surface = pygame.Surface((500, 400))
    view.draw(surface)
    index, top = view.visible_indices()[0]
    assert log.entries[index].grouped
    view.handle_event(pygame.event.Event(pygame.MOUSEMOTION, {"pos": (200, top + 5), "rel": (0, 0),
                                                              "buttons": (0, 0, 0)}))
    assert view.hover is log.entries[index] and view.dirty
    before = pygame.image.tobytes(surface.subsurface((0, top, 60, 20)), "RGB")
    view.draw(surface)
    assert pygame.image.tobytes(surface.subsurface((0, top, 60, 20)), "RGB") != before


def test_ime_composition_is_shown_then_replaced_by_the_result(box):
    box.insert("ni ")
    box.handle_event(pygame.event.Event(pygame.TEXTEDITING, {"text": "hao", "start": 3,
                                                             "length": 0}))
    assert box.text == "ni " and box._display() == ("ni hao", 6)
    box.draw(pygame.Surface((400, 60)))
    box.handle_event(text_event("好"))
    assert box.text == "ni 好" and box.composition == ""


def test_blink_wake_lands_after_the_cursor_flips(box, monkeypatch):
    # The loop sleeps next_blink_in() and then updates: woken at that time, the
    # cursor must have flipped (a wake a hair early used to spin until it did).
    from types import SimpleNamespace
    from ui import inputbox
    now = [1000.0]
    monkeypatch.setattr(inputbox, "time", SimpleNamespace(monotonic=lambda: now[0]))
    box.focused = True
    box.wake_cursor()
    for _ in range(4):
        before = box._blink_on
        wait = box.next_blink_in()
        assert wait > 0.001
        now[0] += wait
        box.update(wait)
        assert box._blink_on != before and box.dirty
        box.dirty = box.blink_only = False
    now[0] += inputbox.BLINK_TIMEOUT
    box.update(0.0)
    assert box._blink_on and box.next_blink_in() >= 1.0  # idle: solid, no more wakes
