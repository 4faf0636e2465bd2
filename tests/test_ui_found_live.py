"""The connect screen's list with the real search: two real servers, a real Browser.

Two chat servers on 127.0.0.1 (port 0) answer discovery probes as ``server.py`` makes
them (``ServerDiscovery``: on loopback the probe only, no mDNS); the window's Browser
probes both addresses (``probe_hosts``, the UDP probe path), its thread posts
``FOUND_CHANGED`` and the real loop (headless) shows both. A server that stops drops
off the list; a click on the other (a real mouse event through ``App.step``) fills the
fields and connects; the search stops with the connect screen, and the window title
names the server. Other chats on this machine's network may show up too: rows are
found by their names, made unique per run.
"""

from __future__ import annotations

import os
import uuid

os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

import pygame  # noqa: E402
import pytest  # noqa: E402

from lanchat.discovery.announce import ServerDiscovery  # noqa: E402
from lanchat.discovery.browse import Browser, probe_forget  # noqa: E402
from lanchat.discovery.found import PROBE, Found  # noqa: E402
from ui.connectstage import probe_hosts_from_env  # noqa: E402

from test_ui_app import config_home, make_app, run_until  # noqa: E402,F401

FOUND_WAIT = 10.0
PROBE_INTERVAL = 0.5  # probe rounds this often, so a stopped server drops off in ~2.5 s


@pytest.fixture
def findable():
    """Factory: ``findable(running_server)`` answers discovery probes for it, as
    ``server.py`` does (stopped after the test, or by the test)."""
    started = []

    def factory(running):
        config = running.server.config
        found = Found(name=config.server_name, host=running.host, port=running.port)
        discovery = ServerDiscovery(found, running.host, running.server.people)
        sentence, warnings = discovery.start()
        assert discovery.responder is not None, (sentence, warnings)
        started.append(discovery)
        return discovery

    yield factory
    for discovery in started:
        discovery.stop()


def row_names(app):
    screen = app.connect_screen
    return [row.name for row in screen.found.model.rows] if screen and screen.found else []


def test_chats_found_by_the_probe_are_listed_and_one_click_joins(make_server, make_client,
                                                                 make_app, findable):
    tag = uuid.uuid4().hex[:6]
    alpha = make_server(rate=0, server_name=f"Alpha {tag}")
    beta = make_server(rate=0, server_name=f"Beta {tag}")
    alpha_discovery = findable(alpha)
    findable(beta)
    watcher = make_client(beta.address)
    watcher.hello("watcher")
    browsers = []

    def browser_factory(port, on_change):
        browsers.append(Browser(port=port, on_change=on_change, probe_hosts=(
            f"127.0.0.1:{alpha.port}", f"127.0.0.1:{beta.port}"), probe_interval=PROBE_INTERVAL))
        return browsers[-1]

    app = make_app("--name", "gui", browser_factory=browser_factory)
    assert app.connect_screen is not None and len(browsers) == 1
    run_until(app, lambda: {f"Alpha {tag}", f"Beta {tag}"} <= set(row_names(app)),
              "both servers in the list", timeout=FOUND_WAIT)
    rows = {row.name: row for row in app.connect_screen.found.model.rows}
    assert rows[f"Beta {tag}"].address == f"127.0.0.1:{beta.port}"
    assert rows[f"Beta {tag}"].people == "1 person"
    assert PROBE in rows[f"Alpha {tag}"].found.via

    alpha_discovery.stop()   # it goes away: a probe-only server drops off after a while
    alpha.stop()
    run_until(app, lambda: f"Alpha {tag}" not in row_names(app), "Alpha to drop off",
              timeout=probe_forget(PROBE_INTERVAL) + FOUND_WAIT)
    assert f"Beta {tag}" in row_names(app)

    run_until(app, lambda: not app.connect_screen.needs_draw, "the list drawn")
    index = row_names(app).index(f"Beta {tag}")
    where = app.connect_screen.found.row_rect(index).center
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, {"button": 1, "pos": where}))
    run_until(app, lambda: app.log.status.state == "connected", "the click to connect")
    watcher.expect("join", name="gui")
    assert (app.log.status.host, app.log.status.port) == ("127.0.0.1", beta.port)
    assert app.connect_screen is None and app.stage.browser is None  # the search stopped
    assert browsers[0]._stopping.is_set()
    run_until(app, lambda: pygame.display.get_caption()[0]
              == f"LAN Chat \u2014 gui on Beta {tag}", "the server's name in the title")


def test_a_search_that_cannot_start_says_so_and_the_fields_still_work(make_app, chat_server):
    def broken(port, on_change):
        raise OSError("no network interface is up")

    app = make_app("--name", "gui", browser_factory=broken)
    screen = app.connect_screen
    assert "Cannot look for chats on this network (no network interface is up)" \
        in screen.found.model.empty_text()
    screen.fields[0].insert(chat_server.host)
    screen.fields[1].clear()
    screen.fields[1].insert(str(chat_server.port))
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, {"key": pygame.K_RETURN, "mod": 0,
                                                          "unicode": "", "scancode": 0}))
    run_until(app, lambda: app.log.status.state == "connected", "the typed address to connect")


def test_probe_hosts_come_from_the_environment():
    assert probe_hosts_from_env({}) == ()
    assert probe_hosts_from_env({"LANCHAT_PROBE_HOSTS": " 10.0.0.5, 127.0.0.1:6000 ,,"}) == (
        "10.0.0.5", "127.0.0.1:6000")
