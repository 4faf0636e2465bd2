"""The terminal mode prints presence changes as one line each and never typing."""

from __future__ import annotations

import io
from types import SimpleNamespace

from lanchat.client.terminal import TerminalPrinter


def printed(*events):
    out, err = io.StringIO(), io.StringIO()
    printer = TerminalPrinter(SimpleNamespace(name="me"), out=out, err=err)
    for event in events:
        printer.show(event)
    return out.getvalue().splitlines(), err.getvalue()


def test_away_and_back_are_one_line_each():
    lines, err = printed({"type": "presence", "name": "alice", "away": "lunch"},
                         {"type": "presence", "name": "alice", "away": None})
    assert lines == ["* alice is away: lunch", "* alice is back"] and err == ""


def test_typing_is_never_printed():
    lines, err = printed({"type": "typing", "name": "alice", "state": "active", "room": "#lobby"},
                         {"type": "typing", "name": "alice", "state": "done", "to": "me"})
    assert lines == [] and err == ""


def test_a_peers_control_characters_in_an_away_message_are_made_harmless():
    lines, _ = printed({"type": "presence", "name": "alice", "away": "gone\x1b[2J"})
    assert lines == ["* alice is away: gone\\x1b[2J"]
