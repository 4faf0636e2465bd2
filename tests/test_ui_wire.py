"""The wire inspector: its view model (no pygame), the pane drawn headless, and the
real window's F12 against a real server."""

import time

import pytest

from headless import fonts, start_display  # noqa: F401  (sets the dummy driver first)
import pygame

import protocol
from lanchat.client import options
from lanchat.client.wiretap import RECEIVED, SENT, WireTap
from ui import app as ui_app
from ui.wirepane import FIELD_BG, WirePane
from ui.wireview import WireView, length_field, pretty_lines

WAIT = 5.0


def sent(tap, **message):
    tap.record_sent(protocol.message_frame(message))


def received(tap, **message):
    body = protocol.encode_message(message)
    tap.record(RECEIVED, protocol.frame_header(len(body)), body)


def session(tap):
    """hello, welcome, two says, a message from bob, the two acks."""
    sent(tap, type="hello", name="alice")
    received(tap, type="welcome", name="alice", users=["alice", "bob"], seq=1)
    sent(tap, type="say", text="first", id="a-1")
    sent(tap, type="say", text="second", id="a-2")
    received(tap, type="message", seq=2, ts=1.0, **{"from": "bob"}, text="hi", kind="chat")
    received(tap, type="ack", id="a-1", seq=3)
    received(tap, type="ack", id="a-2", seq=4)


def opened(tap):
    view = WireView(tap)
    view.toggle()
    return view


def kinds(frames, view):
    return [view.message(f)["type"] for f in frames]


# ------------------------------------------------------------------ the view model

def test_closed_it_takes_nothing_and_opening_shows_what_the_tap_kept():
    tap = WireTap()
    view = WireView(tap)
    session(tap)
    assert not view.refresh() and view.frames == []
    view.toggle()
    assert kinds(view.frames, view) == ["hello", "welcome", "say", "say", "message", "ack", "ack"]


def test_pause_keeps_the_list_still_while_recording_goes_on():
    tap = WireTap()
    view = opened(tap)
    session(tap)
    view.refresh()
    view.set_paused(True)
    before = list(view.shown())
    sent(tap, type="say", text="while paused", id="a-3")
    received(tap, type="ack", id="a-3", seq=5)
    assert not view.refresh() and view.shown() == before
    assert view.waiting == 2 and tap.count == 9
    view.set_paused(False)
    assert kinds(view.shown()[-2:], view) == ["say", "ack"] and view.waiting == 0


def test_frames_lost_from_the_ring_while_paused_are_counted():
    tap = WireTap(max_frames=4)
    view = opened(tap)
    view.set_paused(True)
    session(tap)  # 7 frames into a ring of 4
    view.set_paused(False)
    assert len(view.frames) == 4 and view.lost == 3


def test_the_bound_holds_when_the_view_keeps_up():
    tap = WireTap(max_frames=5)
    view = opened(tap)
    for i in range(40):
        sent(tap, type="say", text=f"line {i}", id=f"a-{i}")
        view.refresh()
        assert len(view.frames) <= 5 and len(view._ids) <= 10  # the id links are bounded too
    assert [view.message(f)["text"] for f in view.frames] == [f"line {i}" for i in range(35, 40)]
    assert view.lost == 0


def test_typing_filters_on_direction_type_and_body_ignoring_case():
    tap = WireTap()
    view = opened(tap)
    session(tap)
    view.refresh()
    view.set_query("ACK")
    assert kinds(view.shown(), view) == ["ack", "ack"]
    view.set_query("second")
    assert kinds(view.shown(), view) == ["say"]
    view.set_query("sent say")
    assert [view.message(f)["text"] for f in view.shown()] == ["first", "second"]
    view.set_query("nothing like it")
    assert view.shown() == []
    view.set_query("")
    assert len(view.shown()) == 7


def test_an_ack_links_to_its_say_and_the_say_to_its_ack():
    tap = WireTap()
    view = opened(tap)
    session(tap)
    view.refresh()
    by_kind = {(view.message(f)["type"], view.message(f).get("id")): f for f in view.frames}
    ack2, say2 = by_kind[("ack", "a-2")], by_kind[("say", "a-2")]
    assert view.linked(ack2) == say2.index and view.linked(say2) == ack2.index
    assert view.linked(by_kind[("welcome", None)]) is None
    view.select(ack2.index)
    assert view.follow_link() and view.selected == say2.index


def test_following_a_link_the_filter_hides_clears_the_filter_and_scrolls_to_it():
    tap = WireTap()
    view = opened(tap)
    session(tap)
    for i in range(50):
        received(tap, type="message", seq=10 + i, ts=1.0, **{"from": "bob"}, text=f"m{i}", kind="chat")
    received(tap, type="ack", id="a-1", seq=99)  # an ack far below its say
    view.refresh()
    view.set_query("ack")
    view.select(view.shown()[0].index)
    assert view.follow_link()
    assert view.query == "" and view.message(view.selected_frame())["id"] == "a-1"
    rows = view.visible(10)
    assert view.selected in [f.index for f in rows]
    assert rows[0].index != view.frames[-10].index  # not simply the newest ten


def test_visible_follows_the_newest_until_scrolled_up():
    tap = WireTap()
    view = opened(tap)
    for i in range(30):
        sent(tap, type="ping", id=i)
    view.refresh()
    assert [f.index for f in view.visible(10)] == list(range(20, 30))
    view.scroll(-5, 10)
    assert [f.index for f in view.visible(10)] == list(range(15, 25)) and not view.follow
    sent(tap, type="ping", id=99)
    view.refresh()
    assert [f.index for f in view.visible(10)] == list(range(15, 25))
    view.scroll(100, 10)
    assert view.follow and view.visible(10)[-1].index == 30


def test_the_detail_helpers():
    assert length_field(b"12".ljust(64)) == (0, 2)
    assert length_field(b"  7".ljust(64)) == (2, 3)
    tap = WireTap(max_body=20)
    sent(tap, type="say", text="a long line that will be cut", id="x")
    (frame,) = tap.since(0)
    assert pretty_lines(frame, None)[-1] == f"... {frame.size - 20} more bytes"
    tap = WireTap()
    received(tap, type="ack", id="x", seq=1)
    (frame,) = tap.since(0)
    assert pretty_lines(frame, frame.message()) == ["{", '  "type": "ack",', '  "id": "x",',
                                                   '  "seq": 1', "}"]


# ------------------------------------------------------------------ the pane, drawn

def pane_with_session(fonts, size=(1000, 600)):
    start_display(size)
    tap = WireTap()
    session(tap)
    pane = WirePane(fonts, WireView(tap))
    return pane, tap


def key(k, mod=0):
    return pygame.event.Event(pygame.KEYDOWN, {"key": k, "mod": mod, "unicode": "", "scancode": 0})


def test_f12_toggles_and_closed_the_pane_takes_no_space_and_draws_nothing(fonts):  # noqa: F811
    pane, tap = pane_with_session(fonts)
    assert pane.split((1000, 600)) == (1000, 600) and not pane.needs_draw
    surface = pygame.Surface((1000, 600))
    surface.fill((1, 2, 3))
    pane.update(0.0)
    pane.draw(surface)
    assert pygame.transform.average_color(surface)[:3] == (1, 2, 3)
    assert pane._mono is None  # not even its font is loaded while closed
    assert not pane.handle_event(pygame.event.Event(pygame.TEXTINPUT, {"text": "a"}))

    assert pane.handle_event(key(pygame.K_F12)) and pane.open and pane.focused
    chat_w, _ = pane.split((1000, 600))
    assert chat_w + pane.rect.width == 1000 and pane.rect.width >= 400
    pane.update(0.0)
    assert pane.needs_draw
    pane.draw(surface)
    assert not pane.needs_draw
    assert surface.get_at((pane.rect.x + 50, 20))[:3] != (1, 2, 3)
    assert surface.get_at((10, 10))[:3] == (1, 2, 3)  # the chat's part is not touched
    assert pane.handle_event(key(pygame.K_F12)) and not pane.open
    assert pane.split((1000, 600)) == (1000, 600)


def test_the_length_field_is_highlighted_in_the_header(fonts):  # noqa: F811
    pane, tap = pane_with_session(fonts)
    pane.toggle()
    pane.split((1000, 600))
    surface = pygame.Surface((1000, 600))
    pane.update(0.0)
    pane.draw(surface)
    colours = {surface.get_at((x, y))[:3] for x in range(pane.rect.x, pane.rect.right, 2)
               for y in range(pane._detail_rect.y, pane._detail_rect.bottom, 2)}
    assert FIELD_BG in colours


def test_typing_filters_and_clicking_an_ack_twice_selects_its_say(fonts):  # noqa: F811
    pane, tap = pane_with_session(fonts)
    pane.toggle()
    pane.split((1000, 600))
    surface = pygame.Surface((1000, 600))
    for ch in "ack":
        pane.handle_event(pygame.event.Event(pygame.TEXTINPUT, {"text": ch}))
    pane.update(0.0)
    pane.draw(surface)
    view = pane.view
    assert view.query == "ack" and len(pane._rows) == 2
    first_ack = pane._rows[0]
    click = pygame.event.Event(pygame.MOUSEBUTTONDOWN, {"button": 1, "pos": first_ack[0].center})
    assert pane.handle_event(click) and view.selected == first_ack[1]
    pane.update(0.0)
    pane.draw(surface)
    assert pane.handle_event(click)  # again: follow the link
    assert view.message(view.selected_frame()) == {"type": "say", "text": "first", "id": "a-1"}
    assert view.query == ""  # the filter hid the say
    assert pane.handle_event(key(pygame.K_p, pygame.KMOD_CTRL)) and view.paused


def test_enter_and_the_link_line_follow_the_frame_shown_when_none_is_selected(fonts):  # noqa: F811
    # The detail shows the newest frame the filter lets through, with "(Enter or
    # click)" under its header: both must work before any row is selected.
    pane, tap = pane_with_session(fonts)
    pane.toggle()
    pane.split((1000, 600))
    surface = pygame.Surface((1000, 600))
    for ch in "first":
        pane.handle_event(pygame.event.Event(pygame.TEXTINPUT, {"text": ch}))
    view = pane.view
    assert view.selected is None and view.message(view.shown()[-1])["type"] == "say"
    assert pane.handle_event(key(pygame.K_RETURN))
    assert view.message(view.selected_frame()) == {"type": "ack", "id": "a-1", "seq": 3}
    view.select(None)
    view.set_query("first")
    pane.update(0.0)
    pane.draw(surface)
    assert pane._link_rect.width > 0
    click = pygame.event.Event(pygame.MOUSEBUTTONDOWN, {"button": 1, "pos": pane._link_rect.center})
    assert pane.handle_event(click)
    assert view.message(view.selected_frame())["type"] == "ack"


def test_the_link_line_fits_the_pane_with_its_hint(fonts):  # noqa: F811
    pane, tap = pane_with_session(fonts)
    sent(tap, type="say", text="is the physics lab open this afternoon, or only after four?",
         id="5d30deb4-1")
    received(tap, type="ack", id="5d30deb4-1", seq=5)
    pane.toggle()
    pane.split((1000, 600))
    surface = pygame.Surface((1000, 600))
    pane.update(0.0)
    pane.draw(surface)  # the newest frame, the ack, answers the long say
    assert 0 < pane._link_rect.width and pane._link_rect.right <= pane.rect.right - 10


def test_escape_gives_the_keyboard_back_and_a_click_outside_too(fonts):  # noqa: F811
    pane, tap = pane_with_session(fonts)
    pane.toggle()
    pane.split((1000, 600))
    pane.handle_event(pygame.event.Event(pygame.TEXTINPUT, {"text": "x"}))
    pane.handle_event(key(pygame.K_ESCAPE))
    assert pane.view.query == "" and pane.focused      # first Escape clears the filter
    pane.handle_event(key(pygame.K_ESCAPE))
    assert not pane.focused                             # the second gives the keyboard back
    assert not pane.handle_event(pygame.event.Event(pygame.TEXTINPUT, {"text": "y"}))
    pane.handle_event(pygame.event.Event(pygame.MOUSEBUTTONDOWN,
                                         {"button": 1, "pos": (pane.rect.x + 30, 300)}))
    assert pane.focused
    outside = pygame.event.Event(pygame.MOUSEBUTTONDOWN, {"button": 1, "pos": (10, 300)})
    assert not pane.handle_event(outside) and not pane.focused


# ------------------------------------------------------------------ in the real window

@pytest.fixture
def make_app():
    apps = []

    def factory(*argv, size=(1000, 600)):
        args = options.build_parser().parse_args(list(argv))
        app = ui_app.App(args, size=size, clipboard=lambda: "")
        apps.append(app)
        return app

    yield factory
    for app in apps:
        app.quit()
    pygame.display.quit()


def has_colour(surface, colour, rect) -> bool:
    return any(surface.get_at((x, y))[:3] == colour for x in range(rect.x, rect.right, 2)
               for y in range(rect.y, rect.bottom, 2))


def run_until(app, condition, what):
    deadline = time.monotonic() + WAIT
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        app.step(max_wait=0.01)


def test_the_window_records_while_closed_and_f12_shows_the_session(chat_server, make_app):
    app = make_app("--host", chat_server.host, "--port", str(chat_server.port), "--name", "ann")
    run_until(app, lambda: app.log.status.state == "connected", "the app to connect")
    run_until(app, lambda: not app.screen.needs_draw, "the first frames")
    for ch in "hi":
        pygame.event.post(pygame.event.Event(pygame.TEXTINPUT, {"text": ch}))
    pygame.event.post(key(pygame.K_RETURN))
    run_until(app, lambda: app.log.pending_count == 0 and app.log.entries, "the ack")
    assert app.inspector.view.frames == [] and app.inspector.rect.width == 0
    assert not has_colour(app.surface, FIELD_BG, app.surface.get_rect())
    recorded = [f.message()["type"] for f in app.wiretap.since(0)]
    assert recorded[:2] == ["hello", "welcome"] and "say" in recorded and "ack" in recorded

    drawn = app.frames_drawn
    pygame.event.post(key(pygame.K_F12))
    run_until(app, lambda: app.frames_drawn > drawn, "a frame with the pane")
    assert app.inspector.open and app.chat.view.rect.right <= app.inspector.rect.x
    assert app.inspector.focused and not app.chat.input.focused  # one cursor: the filter's
    pygame.event.post(key(pygame.K_ESCAPE))
    run_until(app, lambda: app.chat.input.focused, "the keyboard back in the chat")
    assert app.inspector.open and not app.inspector.focused
    assert [app.inspector.view.message(f)["type"] for f in app.inspector.view.frames][:2] == \
        ["hello", "welcome"]
    assert has_colour(app.surface, FIELD_BG, app.inspector.rect)  # the header's length cells
    pygame.event.post(key(pygame.K_F12))
    run_until(app, lambda: not app.inspector.open, "the pane to close")
    run_until(app, lambda: not app.screen.needs_draw, "the chat redrawn")
    assert app.chat.status.rect.width == app.size[0]


def test_with_the_pane_open_the_narrowed_chat_still_goes_idle(chat_server, make_client, make_app):
    """The pane leaves the chat too narrow for its sidebar; the hidden member list,
    changed by a join, must not keep the loop drawing (and spinning) forever."""
    app = make_app("--host", chat_server.host, "--port", str(chat_server.port), "--name", "ann")
    run_until(app, lambda: app.log.status.state == "connected", "the app to connect")
    pygame.event.post(key(pygame.K_F12))
    run_until(app, lambda: app.inspector.open and app.chat.users.rect.width == 0, "the pane")
    joiner = make_client(chat_server.address)
    joiner.hello("zed")
    run_until(app, lambda: "zed" in app.log.users, "zed to join")
    run_until(app, lambda: not app.screen.needs_draw and not app.inspector.needs_draw,
              "the loop to have nothing left to draw")
    drawn = app.frames_drawn
    for _ in range(5):
        app.step(max_wait=0)
    assert app.frames_drawn == drawn
