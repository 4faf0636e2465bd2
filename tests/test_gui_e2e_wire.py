"""End to end: the wire inspector in a real window under Xvfb.

F12 typed with xdotool opens the pane (its header cells, with the length field's
colour, appear in a screenshot of the display), typing filters, Enter follows an
ack to its say, F12 closes it again. Needs Xvfb, xdotool and ImageMagick's
``import`` (skipped, saying so, without them; ``.ci/run`` installs them).

``LANCHAT_WIRE_SCREENSHOT=path.png`` also saves the display with the pane open (for
docs/screenshot-wire.png).
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from test_gui_e2e import WAIT, wait_until, xvfb  # noqa: F401 (a fixture)
from test_gui_e2e_rooms import open_window  # noqa: F401 (a fixture)
from ui.wirepane import FIELD_BG

pytestmark = [pytest.mark.live, pytest.mark.skipif(
    not (shutil.which("Xvfb") and shutil.which("xdotool") and shutil.which("import")),
    reason="needs Xvfb, xdotool and ImageMagick (apt-get install xvfb xdotool imagemagick)")]


def screenshot(display: str, path: str):
    """The whole display as a pygame surface (and saved at ``path``)."""
    import pygame  # loading a PNG needs no display
    subprocess.run(["import", "-window", "root", path], env={**os.environ, "DISPLAY": display},
                   check=True, timeout=WAIT)
    return pygame.image.load(path)


def has_colour(surface, colour) -> bool:
    w, h = surface.get_size()
    return any(surface.get_at((x, y))[:3] == colour for x in range(0, w, 2) for y in range(0, h, 2))


def test_f12_shows_the_frames_and_an_ack_leads_to_its_say(open_window, chat_server,  # noqa: F811
                                                           make_client, tmp_path):
    bob = make_client(chat_server.address)
    bob.hello("bob")
    window = open_window("ada")
    bob.expect("join", name="ada", timeout=WAIT)
    window.find()
    window.line("hello bob, look at the wire")
    bob.expect("message", timeout=WAIT, **{"from": "ada"})
    bob.send(type="say", text="hi ada! press F12", id="b1")
    bob.expect("ack", id="b1", timeout=WAIT)
    shot = str(tmp_path / "shot.png")
    assert not has_colour(screenshot(window.display, shot), FIELD_BG)

    window.key("F12")
    wait_until(lambda: has_colour(screenshot(window.display, shot), FIELD_BG),
               "the inspector's header cells")
    window.type("ack")      # the pane has the keyboard: this filters
    window.key("Up", "Return")  # the last ack, then its say
    path = os.environ.get("LANCHAT_WIRE_SCREENSHOT")
    if path:
        wait_until(lambda: has_colour(screenshot(window.display, shot), FIELD_BG), "a frame")
        shutil.copy(shot, path)
    window.key("F12")
    wait_until(lambda: not has_colour(screenshot(window.display, shot), FIELD_BG),
               "the pane to close")
    window.line("still chatting")  # the keyboard is the chat's again
    assert bob.expect("message", timeout=WAIT, **{"from": "ada"})["text"] == "still chatting"
    window.close()
