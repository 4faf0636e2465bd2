"""The message view with entries inserted by seq, a bounded log and the /help table."""

from __future__ import annotations

import gc
import os

os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

import pygame  # noqa: E402

from ui import chatlog, theme  # noqa: E402
from ui.chatlog import ChatLog  # noqa: E402
from ui.messageview import MessageView  # noqa: E402
from headless import fonts  # noqa: E402,F401 (a fixture)

HELP = """commands:
  /nick NEW         change your name
  /me TEXT          an action: * you TEXT
  /msg NAME TEXT    private message (also /w)
  /who              list who is here (also /users, /names)
  /help             this list
  //text            send text starting with /"""


def filled(n, first_seq=100):
    log = ChatLog("me")
    log.apply({"type": "connected", "name": "me", "users": ["me"], "seq": 1})
    for i in range(n):
        log.apply({"type": "message", "seq": first_seq + 2 * i, "ts": 1000.0 + i * 400,
                   "from": f"user{i % 3}", "text": f"line {i} with some words", "kind": "chat"})
    return log


def shown_entries(view):
    return [view.log.entries[i] for i, _ in view.visible_indices()]


def test_scrolled_up_view_stays_put_when_entries_are_inserted_above(fonts):
    log = filled(100)
    view = MessageView(pygame.Rect(0, 0, 500, 300), fonts, log)
    view.scroll_by(900)
    before = [(e, top) for e, (_, top) in zip(shown_entries(view), view.visible_indices())]
    for i in range(5):  # missed lines arrive late: they go up, between older ones
        log.apply({"type": "message", "seq": 101 + 2 * i, "from": "bob", "text": f"late {i}",
                   "kind": "chat", "replay": True})
    view.update(0.0)
    after = [(e, top) for e, (_, top) in zip(shown_entries(view), view.visible_indices())]
    assert after[0] == before[0]  # the bottom entry and its place are the same
    assert view.new_count == 5 and view.dirty


def test_view_redraws_only_when_the_log_changed(fonts):
    log = filled(10)
    view = MessageView(pygame.Rect(0, 0, 500, 300), fonts, log)
    view.draw(pygame.Surface((500, 300)))
    assert not view.dirty
    log.apply({"type": "pong", "id": 1})
    log.apply({"type": "ack", "id": "nobody's", "seq": None})
    view.update(0.0)
    assert not view.dirty
    log.apply({"type": "message", "seq": 5000, "from": "bob", "text": "new", "kind": "chat"})
    view.update(0.0)
    assert view.dirty


def test_trimmed_log_keeps_the_view_consistent(fonts, monkeypatch):
    monkeypatch.setattr(chatlog, "MAX_ENTRIES", 60)
    log = filled(50)
    view = MessageView(pygame.Rect(0, 0, 500, 300), fonts, log)
    surface = pygame.Surface((500, 300))
    view.draw(surface)
    view.home()                     # the oldest line: about to be dropped
    for i in range(40):
        log.apply({"type": "message", "seq": 9000 + i, "from": "bob", "text": f"n{i}",
                   "kind": "chat"})
    view.update(0.0)
    view.draw(surface)
    assert log.dropped and len(log.entries) <= 60
    assert shown_entries(view)      # still shows something: the oldest kept lines
    view.scroll_by(-10_000)
    assert view.following and shown_entries(view)[0].text == "n39"
    gc.collect()
    assert len(view._layouts) <= len(log.entries)  # dropped entries' layouts went too


def test_help_reply_is_a_two_column_table(fonts):
    log = filled(0)
    log.apply({"type": "system", "text": HELP})
    view = MessageView(pygame.Rect(0, 0, 700, 500), fonts, log)
    layout = view.layout_entry(log.entries[-1], view.content_width)
    by_text = {text: x for _, text, _, x, _ in layout.texts}
    commands = ["/nick NEW", "/me TEXT", "/msg NAME TEXT", "/who", "/help", "//text"]
    assert all(c in by_text for c in commands)
    descriptions = ["change your name", "this list", "send text starting with /"]
    assert len({by_text[d] for d in descriptions}) == 1        # one column
    assert by_text["change your name"] > max(by_text[c] + fonts.body.width(c) for c in commands)
    assert "commands:" in by_text


def test_plain_system_text_is_not_a_table(fonts):
    log = filled(0)
    log.apply({"type": "system", "text": "3 online: me, bob, amy"})
    view = MessageView(pygame.Rect(0, 0, 700, 500), fonts, log)
    layout = view.layout_entry(log.entries[-1], view.content_width)
    assert [t[1] for t in layout.texts] == ["3 online: me, bob, amy"]


def test_home_works_when_the_top_entries_fill_the_view_exactly(fonts):
    log = filled(40)
    view = MessageView(pygame.Rect(0, 0, 500, 300), fonts, log)
    exact = sum(view.height_of(i) for i in range(5))
    view.set_rect(pygame.Rect(0, 0, 500, exact + theme.PAD // 2))
    view.home()
    assert not view.following and view.visible_indices()[-1] == (0, 0)
