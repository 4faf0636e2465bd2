"""The connect screen's list of chats found: the view model, the keys, the clicks.

The model (``ui/foundlist.py``) is tested without pygame against ``Listed``, a small
source whose ``servers()`` returns what the test put there (the real Browser has the
same method; ``test_ui_found_live.py`` uses it). The screen tests build events
directly and run headless (SDL_VIDEODRIVER=dummy).
"""

from __future__ import annotations

import os

os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

import pygame  # noqa: E402
import pytest  # noqa: E402

from lanchat.discovery.found import MDNS, PROBE, Found  # noqa: E402
from lanchat.tls.pins import fingerprint_hex, pin_form, same_fingerprint  # noqa: E402
from ui.app import WINDOW_SIZE  # noqa: E402
from ui.connectscreen import ConnectScreen  # noqa: E402
from ui.foundchoice import FOUND_CHANGED, LIST, PASSWORD_FIELD  # noqa: E402
from ui.foundlist import SEARCH_SECONDS, FoundList, empty_sentence  # noqa: E402

from headless import fonts  # noqa: E402,F401 (a fixture)

FP_A = "a1" * 32
FP_B = "b2" * 32


class Listed:
    """A source of servers: ``servers()`` returns what the test set, like a Browser's."""

    def __init__(self, *servers):
        self.list = list(servers)
        self.calls = 0

    def servers(self):
        self.calls += 1
        return list(self.list)


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


LAB = Found("Lab chat", "192.168.1.20", 5050, users=3, via=frozenset({MDNS}))
LIBRARY = Found("Library", "192.168.1.31", 5050, users=1, tls=True, fp=FP_A,
                via=frozenset({MDNS, PROBE}))
STAFF = Found("Staff", "192.168.1.40", 5051, tls=True, pw=True, fp=FP_B)
SECRET = Found("Study group", "192.168.1.50", 5050, users=2, pw=True)


def key(k, mod=0):
    return pygame.event.Event(pygame.KEYDOWN, {"key": k, "mod": mod, "unicode": "", "scancode": 0})


def click(pos):
    return pygame.event.Event(pygame.MOUSEBUTTONDOWN, {"button": 1, "pos": pos})


def type_text(screen, text):
    screen.handle_event(pygame.event.Event(pygame.TEXTINPUT, {"text": text}))


# ---------------------------------------------------------------- fingerprints

def test_fingerprints_compare_in_either_spelling():
    pinned = "SHA256:" + ":".join(["A1"] * 32)
    assert fingerprint_hex(pinned) == FP_A and fingerprint_hex(FP_A.upper()) == FP_A
    assert same_fingerprint(pinned, FP_A) and same_fingerprint(FP_A, pinned)
    assert not same_fingerprint(pinned, FP_B)
    assert pin_form(FP_A) == pinned
    for not_one in (None, "", "SHA256:", "a1" * 31, "zz" * 32, "a1" * 33):
        assert fingerprint_hex(not_one) is None
        assert not same_fingerprint(not_one, not_one)


# ---------------------------------------------------------------- the model

def test_rows_follow_the_source_with_their_sentences():
    v6 = Found("Six", "fe80::1", 5050, users=12)
    model = FoundList(Listed(LAB, LIBRARY, STAFF, v6))
    assert [row.name for row in model.rows] == ["Lab chat", "Library", "Staff", "Six"]
    assert [row.address for row in model.rows] == [
        "192.168.1.20:5050", "192.168.1.31:5050", "192.168.1.40:5051", "[fe80::1]:5050"]
    assert [row.people for row in model.rows] == ["3 people", "1 person", "empty",
                                                  "12 people"]
    assert not any(row.warning for row in model.rows)
    assert model.empty_text() == ""


def test_a_name_the_server_chose_is_cleaned_for_drawing():
    model = FoundList(Listed(Found("evil\x00\x1b[2Jname\n", "10.0.0.1", 5050)))
    assert model.rows[0].name == "evil[2Jname"


def test_refresh_says_whether_anything_changed():
    source = Listed(LAB)
    model = FoundList(source)
    version = model.version
    assert model.refresh() is False and model.version == version
    source.list.append(LIBRARY)
    assert model.refresh() is True and model.version > version
    assert len(model.rows) == 2


def test_the_selection_stays_on_its_server_as_others_come_and_go():
    source = Listed(LIBRARY, STAFF)
    model = FoundList(source)
    model.select(1)
    assert model.selected_found is STAFF
    source.list = [LAB, LIBRARY, STAFF]          # a new one sorted before it
    model.refresh()
    assert model.selected == 2 and model.selected_found is STAFF
    source.list = [LAB, LIBRARY]                 # it went away: the row in its place
    model.refresh()
    assert model.selected == 1 and model.selected_found is LIBRARY
    source.list = []
    model.refresh()
    assert model.selected is None and model.selected_found is None


def test_moving_stops_at_both_ends():
    model = FoundList(Listed(LAB, LIBRARY))
    assert model.move(-1) and model.selected == 1   # from nothing, up: the last row
    assert model.move(-1) and model.selected == 0
    assert not model.move(-1) and model.selected == 0
    assert model.move(1) and not model.move(1) and model.selected == 1
    assert not FoundList(Listed()).move(1)


def test_an_advertised_certificate_other_than_the_pinned_one_is_a_warning():
    pins = {("192.168.1.31", 5050): pin_form(FP_A),   # the same one, other spelling
            ("192.168.1.40", 5051): pin_form(FP_A)}   # Staff advertises FP_B
    model = FoundList(Listed(LAB, LIBRARY, STAFF), pinned=lambda h, p: pins.get((h, p)))
    assert [row.warning for row in model.rows] == [False, False, True]
    assert model.rows[2].pinned == pin_form(FP_A)


def test_a_damaged_pin_file_is_no_warning_in_the_list():
    def damaged(host, port):
        raise ValueError("the pinned-certificate file is damaged")
    assert not FoundList(Listed(STAFF), pinned=damaged).rows[0].warning


def test_the_sentence_while_nothing_is_found():
    clock = Clock()
    model = FoundList(Listed(), port=5077, clock=clock)
    assert model.searching and model.empty_text().startswith("Looking for chats")
    assert model.next_change_in() == pytest.approx(SEARCH_SECONDS)
    clock.now += SEARCH_SECONDS
    assert not model.searching
    text = model.empty_text()
    assert text == empty_sentence(5077)
    for what in ("same network", "firewall", "TCP and UDP 5077", "UDP 5353", "type its address"):
        assert what in text
    assert model.next_change_in() > 60
    broken = FoundList(None, problem="no network interface")
    assert "Cannot look for chats" in broken.empty_text()
    assert "no network interface" in broken.empty_text() and not broken.searching


# ---------------------------------------------------------------- on the connect screen

def settle(screen, surface):
    """Draw the screen as the loop does, so that only later changes need a redraw."""
    screen.update(0.0)
    screen.draw(surface)
    screen.update(0.0)


def screen_with(fonts, *servers, name="zoe", pins=None, **kwargs):
    pins = pins or {}
    model = FoundList(Listed(*servers), pinned=lambda h, p: pins.get((h, p)))
    return ConnectScreen(WINDOW_SIZE, fonts, "", 5050, name, found=model, **kwargs)


def test_a_click_on_a_chat_fills_the_fields_and_connects(fonts):
    screen = screen_with(fonts, LAB, LIBRARY)
    screen.draw(pygame.Surface(WINDOW_SIZE))
    assert screen.handle_event(click(screen.found.row_rect(1).center))
    request = screen.take_request()
    assert request[:5] == ("192.168.1.31", 5050, "zoe", "", True)
    assert request.fingerprint == FP_A          # a first use pins only what it advertised
    assert [f.text for f in screen.fields[:2]] == ["192.168.1.31", "5050"]
    assert screen.busy and screen.tls.checked


def test_a_plain_chat_unticks_tls_and_drops_the_ca_file(fonts):
    screen = screen_with(fonts, LAB, tls=True, cafile="/etc/ca.pem")
    screen.handle_event(click(screen.found.row_rect(0).center))
    request = screen.take_request()
    assert request[:6] == ("192.168.1.20", 5050, "zoe", "", False, "")
    assert request.fingerprint is None


def test_keys_alone_pick_a_chat(fonts):
    screen = screen_with(fonts, LAB, LIBRARY, STAFF)
    assert screen.focus == 0                       # the address field, as before
    screen.handle_event(key(pygame.K_UP))          # up from it: the list, its last row
    assert screen.focus == LIST and screen.found.focused
    assert screen.found.model.selected == 2
    screen.handle_event(key(pygame.K_UP))
    screen.handle_event(key(pygame.K_UP))
    screen.handle_event(key(pygame.K_UP))          # stays on the first
    screen.handle_event(key(pygame.K_DOWN))
    assert screen.found.model.selected_found is LIBRARY
    type_text(screen, "x")                         # nothing to type into
    assert screen.fields[0].text == ""
    screen.handle_event(key(pygame.K_RETURN))
    assert screen.take_request()[:2] == ("192.168.1.31", 5050)


def test_down_from_the_last_row_goes_back_to_the_address_field(fonts):
    screen = screen_with(fonts, LAB, LIBRARY)
    screen.handle_event(key(pygame.K_UP))
    screen.handle_event(key(pygame.K_DOWN))
    assert screen.focus == 0
    type_text(screen, "10.1.2.3")                  # the manual fields work as before
    screen.handle_event(key(pygame.K_RETURN))
    request = screen.take_request()
    assert request[:3] == ("10.1.2.3", 5050, "zoe") and request.fingerprint is None


def test_tab_reaches_the_list_only_when_it_has_chats(fonts):
    empty = screen_with(fonts)
    for _ in range(6):
        empty.handle_event(key(pygame.K_TAB))
    assert empty.focus == 0                        # CA file -> (empty list skipped) -> address
    screen = screen_with(fonts, LAB)
    screen.handle_event(key(pygame.K_TAB, pygame.KMOD_SHIFT))
    assert screen.focus == LIST and screen.found.model.selected == 0


def test_a_chat_with_a_password_asks_for_it_first(fonts):
    screen = screen_with(fonts, SECRET)
    screen.handle_event(click(screen.found.row_rect(0).center))
    assert screen.take_request() is None
    assert screen.focus == PASSWORD_FIELD
    assert "needs a password" in " ".join(screen.message_lines())
    type_text(screen, "s3cret")
    screen.handle_event(key(pygame.K_RETURN))
    request = screen.take_request()
    assert request[:4] == ("192.168.1.50", 5050, "zoe", "s3cret")


def test_without_a_name_it_asks_for_one(fonts):
    screen = screen_with(fonts, LAB, name="")
    screen.handle_event(click(screen.found.row_rect(0).center))
    assert screen.take_request() is None and screen.focus == 2
    assert "Type your name" in " ".join(screen.message_lines())
    type_text(screen, "mo")
    screen.handle_event(key(pygame.K_RETURN))
    assert screen.take_request()[:3] == ("192.168.1.20", 5050, "mo")


def test_a_changed_certificate_is_a_loud_warning_not_a_connection(fonts):
    pins = {("192.168.1.40", 5051): pin_form(FP_A)}
    screen = screen_with(fonts, LAB, STAFF, pins=pins, password="pw")
    assert screen.found.model.rows[1].warning
    screen.handle_event(click(screen.found.row_rect(1).center))
    assert screen.take_request() is None and not screen.busy
    assert screen.error.startswith("WARNING:")
    for what in ("NOT THE ONE PINNED", pin_form(FP_A), pin_form(FP_B),
                 "python -m lanchat.tls --forget 192.168.1.40:5051"):
        assert what in screen.error
    assert screen.focus == 2
    screen.handle_event(key(pygame.K_RETURN))      # connecting anyway: the pin still decides
    request = screen.take_request()
    assert request[:2] == ("192.168.1.40", 5051) and request.fingerprint == FP_B


def test_the_advertised_fingerprint_goes_only_with_its_own_address(fonts):
    screen = screen_with(fonts, LIBRARY)
    screen.handle_event(key(pygame.K_UP))          # select it without connecting: Up only
    screen.set_focus(0)
    screen.fields[0].clear()
    type_text(screen, "192.168.1.31")
    screen.tls.toggle()
    screen.handle_event(key(pygame.K_RETURN))
    assert screen.take_request().fingerprint is None  # never picked: nothing advertised
    screen.busy = False
    screen.pick(0)
    screen.busy = False
    assert screen.take_request().fingerprint == FP_A
    screen.set_focus(1)
    screen.fields[1].clear()
    type_text(screen, "6000")                      # edited to another port: not its fp
    screen.handle_event(key(pygame.K_RETURN))
    assert screen.take_request().fingerprint is None


def test_the_list_is_read_again_only_when_the_search_says_so(fonts):
    source = Listed(LAB)
    model = FoundList(source, pinned=lambda h, p: None)
    screen = ConnectScreen(WINDOW_SIZE, fonts, "", 5050, "zoe", found=model)
    surface = pygame.Surface(WINDOW_SIZE)
    settle(screen, surface)
    assert not screen.needs_draw
    calls = source.calls
    screen.update(0.5)
    assert source.calls == calls                   # no polling
    assert screen.handle_event(pygame.event.Event(FOUND_CHANGED))
    assert source.calls == calls + 1 and not screen.needs_draw  # same list: no redraw
    before = pygame.image.tobytes(surface, "RGB")
    source.list.append(LIBRARY)
    screen.handle_event(pygame.event.Event(FOUND_CHANGED))
    assert screen.needs_draw
    screen.draw(surface)
    assert pygame.image.tobytes(surface, "RGB") != before
    assert not screen.needs_draw


def test_the_empty_list_wakes_the_loop_once_for_its_sentence(fonts):
    clock = Clock()
    model = FoundList(Listed(), clock=clock)
    screen = ConnectScreen(WINDOW_SIZE, fonts, "h", 5050, "zoe", found=model)
    settle(screen, pygame.Surface(WINDOW_SIZE))
    assert not screen.needs_draw
    assert screen.next_wake_in() <= SEARCH_SECONDS
    clock.now += SEARCH_SECONDS
    screen.update(0.0)
    assert screen.needs_draw                       # "Looking..." becomes the why-sentence


def test_more_chats_than_rows_scroll_to_the_selection(fonts):
    many = [Found(f"chat {i:02}", f"10.0.0.{i}", 5050) for i in range(1, 10)]
    screen = screen_with(fonts, *many)
    panel = screen.found
    assert panel.visible_rows < len(many)
    screen.handle_event(key(pygame.K_UP))          # the last row: scrolled into view
    screen.draw(pygame.Surface(WINDOW_SIZE))
    assert panel.scroll == len(many) - panel.visible_rows
    assert panel.row_at(panel.row_rect(8).center) == 8
    assert panel.row_at(panel.row_rect(0).center) is None  # scrolled away


def test_a_small_window_still_shows_a_row_and_the_fields(fonts):
    model = FoundList(Listed(LAB, LIBRARY))
    screen = ConnectScreen((420, 360), fonts, "", 5050, "zoe", found=model)
    assert screen.found.visible_rows == 1
    screen.draw(pygame.Surface((420, 360)))


# ---------------------------------------------------------------- the window title

def test_the_title_names_the_server_cleaned_and_cut():
    from ui.chatlog import ChatLog
    from ui.windowtitle import SERVER_NAME_MAX, title_text
    log = ChatLog(me="alice")
    log.apply({"type": "connected", "name": "alice", "users": ["alice"], "seq": 1,
               "server": "Lab\x1b[31m\x00 chat\n", "host": "h", "port": 1})
    assert title_text(log, True, True, False) == "LAN Chat \u2014 alice on Lab[31m chat"
    assert title_text(log, False, True, False) == "LAN Chat"   # on the connect screen
    log.apply({"type": "connected", "name": "alice", "users": ["alice"], "seq": 2,
               "server": "x" * 500, "host": "h", "port": 1})
    assert title_text(log, True, True, False) == "LAN Chat \u2014 alice on " + "x" * SERVER_NAME_MAX
    log.apply({"type": "connected", "name": "alice", "users": ["alice"], "seq": 3,
               "host": "h", "port": 1})                    # a server that names nothing
    assert title_text(log, True, True, False) == "LAN Chat \u2014 alice"


# ---------------------------------------------------------------- the search's wake-ups

def test_a_burst_of_changes_wakes_the_loop_once(fonts):
    from ui.connectstage import Search
    search = Search(lambda port, on_change: Listed(LAB), 5050)
    pygame.event.clear()
    for _ in range(5):
        search.changed()                       # as the browser's thread would
    assert len(pygame.event.get(FOUND_CHANGED)) == 1
    search.changed()
    assert pygame.event.get(FOUND_CHANGED) == []  # not read yet: no second event
    assert search.servers() == [LAB]
    search.changed()
    assert len(pygame.event.get(FOUND_CHANGED)) == 1


def test_a_wake_up_that_could_not_be_posted_does_not_stop_the_next_ones(fonts):
    # pygame.event.post returns False (blocked type) or raises (a full queue): nobody
    # will read the list for that wake-up, so the next change must post again, or the
    # list on the connect screen stands still for good.
    from ui.connectstage import Search
    search = Search(lambda port, on_change: Listed(LAB), 5050)
    pygame.event.clear()
    pygame.event.set_blocked(FOUND_CHANGED)
    try:
        search.changed()
    finally:
        pygame.event.set_allowed(FOUND_CHANGED)
    assert pygame.event.get(FOUND_CHANGED) == []
    search.changed()
    assert len(pygame.event.get(FOUND_CHANGED)) == 1
