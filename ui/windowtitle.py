"""The window's title: the app's name, your name, the server's, and unread lines.

Connected, it is ``LAN Chat — alice on Lab chat``: the server's name is the
``welcome``'s ``server`` field, which is ``server.py --name`` (by default
``<hostname> chat``), cleaned and cut to ``SERVER_NAME_MAX`` characters (the server
chooses it, so control characters never reach the title).

``title_text`` builds it from the view model; no pygame. A test hook
(tests/test_gui_e2e_rooms.py, docs/gui.md "Testing hooks"): with
``LANCHAT_TITLE_ROOMS=1`` the title also lists the room list, the current room marked
with * and unread counts after a colon (``[*#lobby #games:3]``), so an end-to-end test
can read it with ``xdotool getwindowname`` instead of comparing pixels.
"""

from __future__ import annotations

import os

from lanchat.text import one_line

TITLE = "LAN Chat"
SERVER_NAME_MAX = 60
TITLE_ROOMS = os.environ.get("LANCHAT_TITLE_ROOMS") == "1"


def rooms_summary(rooms) -> str:
    """The room list as text for the ``LANCHAT_TITLE_ROOMS`` hook: ``*#lobby #games:3``."""
    return " ".join(("*" if name == rooms.current else "") + name
                    + (f":{rooms.unread[name]}" if rooms.unread.get(name) else "")
                    for name in rooms.names())


def title_text(log, in_chat: bool, focused: bool, with_rooms: bool = TITLE_ROOMS) -> str:
    """The title for the chat log ``log`` (``in_chat``: the chat screen is up)."""
    title = TITLE
    server = one_line(log.status.server or "", SERVER_NAME_MAX)
    if in_chat and log.me:
        title = f"{TITLE} \u2014 {log.me}" + (f" on {server}" if server else "")
    if log.unread and not focused:
        title = f"({log.unread}) {title}"
    if with_rooms and in_chat:
        title = f"{title} [{rooms_summary(log.rooms)}]"
    return title
