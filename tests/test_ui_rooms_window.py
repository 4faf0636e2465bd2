"""Rooms in the window, headless (SDL_VIDEODRIVER=dummy), no network: the room list
(hidden with one room; unread pills, a click switches), the header's name and topic,
the member list and typing line of the current room, Ctrl+K, Ctrl+PageUp/PageDown,
lines sent to the current room, and the adapter over ``say``."""

from __future__ import annotations

from headless import fonts  # noqa: F401 (a fixture; sets the dummy video driver first)

import pygame  # noqa: E402

from ui.chatlog import ChatLog  # noqa: E402
from ui.chatscreen import ChatScreen  # noqa: E402
from ui.presencesender import typing_target  # noqa: E402
from ui.roomlist import MENTION_BG  # noqa: E402
from ui.roomsend import room_sender  # noqa: E402

from test_ui_presence_window import Clock, enter, frame, typed  # noqa: E402


def room(name, users=("me", "bob"), ops=(), topic="", slow=0, muted=False):
    return {"room": name, "topic": topic, "users": list(users), "ops": list(ops),
            "slow": slow, "muted": muted}


class RoomWire:
    """A connection's ``say`` with rooms: (text, room) pairs."""

    def __init__(self):
        self.lines = []

    def say(self, text, room="#lobby"):
        self.lines.append((text, room))
        return f"id{len(self.lines)}"


def make_screen(fonts, *rooms, size=(900, 600)):  # noqa: F811
    clock, wire = Clock(), RoomWire()
    log = ChatLog("me", clock=clock)
    log.apply({"type": "connected", "name": "me", "users": ["me", "bob", "carol"], "seq": 1,
               "host": "h", "port": 1, "rooms": [room("#lobby", ["me", "bob", "carol"])] + list(rooms)})
    screen = ChatScreen(size, fonts, log, room_sender(wire.say))
    surface = pygame.Surface(size)
    screen.update(0.0)
    screen.draw(surface)
    return screen, surface, clock, wire


def key(screen, k, ctrl=False):
    screen.handle_event(pygame.event.Event(pygame.KEYDOWN, {
        "key": k, "mod": pygame.KMOD_CTRL if ctrl else 0, "unicode": "", "scancode": 0}))


def click(screen, pos):
    screen.handle_event(pygame.event.Event(pygame.MOUSEBUTTONDOWN, {"pos": pos, "button": 1}))


def colour_pixels(surface, rect, colour):
    sub = surface.subsurface(rect)
    return sum(1 for x in range(sub.get_width()) for y in range(sub.get_height())
               if sub.get_at((x, y))[:3] == colour)


def test_with_only_the_lobby_the_room_list_takes_no_space(fonts):  # noqa: F811
    screen, surface, _, _ = make_screen(fonts)
    assert screen.room_list.rect.height == 0 and screen.users.rect.y == 0
    assert screen.users.title_lines() == ["ONLINE \u2014 3"]


def test_the_room_list_shows_rooms_and_a_click_switches(fonts):  # noqa: F811
    screen, surface, _, _ = make_screen(fonts, room("#dev", ["me", "bob"], ops=["bob"], topic="Ship it"))
    assert screen.room_list.rect.height > 0
    assert screen.users.rect.y == screen.room_list.rect.bottom
    rows = screen.room_list.row_rects()
    assert len(rows) == 2
    click(screen, rows[1].center)
    frame(screen, surface)
    assert screen.log.rooms.current == "#dev"
    assert screen.users.members() == ["me", "bob"] and screen.users.is_op("bob")
    assert screen.users.title_lines() == ["MEMBERS \u2014 2"]
    assert screen._header_drawn[-2:] == ("#dev", "Ship it")


def test_unread_and_mention_pills_in_the_list(fonts):  # noqa: F811
    screen, surface, _, _ = make_screen(fonts, room("#dev"))
    screen.log.apply({"type": "message", "seq": 5, "ts": 1.0, "from": "bob", "text": "me: look",
                      "kind": "chat", "room": "#dev"})
    frame(screen, surface)
    dev = screen.room_list.row_rects()[1]
    assert screen.log.rooms.unread == {"#dev": 1}
    assert colour_pixels(surface, dev, MENTION_BG) > 30
    click(screen, dev.center)
    frame(screen, surface)
    assert colour_pixels(surface, dev, MENTION_BG) == 0


def test_ctrl_page_keys_move_between_rooms_and_the_view_follows(fonts):  # noqa: F811
    screen, surface, _, _ = make_screen(fonts, room("#a"), room("#b"))
    key(screen, pygame.K_PAGEDOWN, ctrl=True)
    frame(screen, surface)
    assert screen.log.rooms.current == "#a" and screen.view.following
    key(screen, pygame.K_PAGEUP, ctrl=True)
    key(screen, pygame.K_PAGEUP, ctrl=True)
    assert screen.log.rooms.current == "#b"


def test_ctrl_k_switches_to_a_room_you_are_in_or_joins_another(fonts):  # noqa: F811
    screen, surface, _, wire = make_screen(fonts, room("#dev"))
    key(screen, pygame.K_k, ctrl=True)
    assert screen.prompt is not None
    typed(screen, "dev")
    frame(screen, surface)
    enter(screen)
    assert screen.prompt is None and screen.log.rooms.current == "#dev" and wire.lines == []
    key(screen, pygame.K_k, ctrl=True)
    typed(screen, "games")
    enter(screen)
    assert wire.lines == [("/join #games", "#dev")]
    key(screen, pygame.K_k, ctrl=True)
    key(screen, pygame.K_ESCAPE)
    assert screen.prompt is None and screen.input.text == ""


def test_lines_go_to_the_current_room_and_part_parts_it(fonts):  # noqa: F811
    screen, surface, _, wire = make_screen(fonts, room("#dev"))
    typed(screen, "hello lobby")
    enter(screen)
    screen.log.rooms.switch("#dev")
    frame(screen, surface)
    typed(screen, "hello dev")
    enter(screen)
    typed(screen, "/part")
    enter(screen)
    assert wire.lines == [("hello lobby", "#lobby"), ("hello dev", "#dev"), ("/part #dev", "#dev")]
    assert [e.text for e in screen.feed.entries if e.mine] == ["hello dev"]


def test_a_private_conversation_sends_msg_lines(fonts):  # noqa: F811
    screen, surface, _, wire = make_screen(fonts)
    screen.log.apply({"type": "message", "seq": 5, "ts": 1.0, "from": "bob", "text": "psst",
                      "kind": "private", "to": "me"})
    frame(screen, surface)
    assert screen.room_list.rect.height > 0
    screen.log.rooms.switch("@bob")
    frame(screen, surface)
    typed(screen, "hi bob")
    enter(screen)
    assert wire.lines == [("/msg bob hi bob", "#lobby")]


def test_the_typing_line_and_the_input_hint_follow_the_current_room(fonts):  # noqa: F811
    screen, surface, clock, _ = make_screen(fonts, room("#dev", muted=True))
    screen.log.apply({"type": "typing", "name": "bob", "state": "active", "room": "#dev"})
    frame(screen, surface)
    assert screen.typing_line.text == "" and screen.input.hint == ""
    screen.log.rooms.switch("#dev")
    frame(screen, surface)
    assert screen.typing_line.text == "bob is typing\u2026"
    assert screen.input.hint == "You are muted in #dev"


def test_the_adapter_passes_the_room_only_to_a_say_that_takes_it():
    old = []
    send = room_sender(lambda text: old.append(text) or "id")
    assert send("hi", room="#dev") == "id" and old == ["hi"] and not send.takes_room
    wire = RoomWire()
    send = room_sender(wire.say)
    send("hi", room="#dev")
    send("there")
    assert send.takes_room and wire.lines == [("hi", "#dev"), ("there", "#lobby")]


def test_typing_goes_to_the_current_room_or_the_conversation():
    assert typing_target("hi", "#dev") == ("room", "#dev")
    assert typing_target("hi", "@bob") == ("to", "bob")
    assert typing_target("/msg carol hi", "#dev") == ("to", "carol")
    assert typing_target("hi") == ("room", "#lobby")


def test_the_prompt_takes_a_typed_hash_or_at_without_doubling_it(fonts):  # noqa: F811
    screen, surface, _, wire = make_screen(fonts, room("#dev"))
    key(screen, pygame.K_k, ctrl=True)
    typed(screen, "#games")
    enter(screen)
    assert wire.lines == [("/join #games", "#lobby")]
    screen.log.apply({"type": "message", "seq": 5, "ts": 1.0, "from": "bob", "text": "psst",
                      "kind": "private", "to": "me"})
    key(screen, pygame.K_k, ctrl=True)
    typed(screen, "@bob")
    enter(screen)
    assert screen.log.rooms.current == "@bob"
