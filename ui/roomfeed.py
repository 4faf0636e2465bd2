"""The current room's entries, for the message view; no pygame.

``RoomFeed`` stands in for the ``ChatLog`` the view reads: ``entries`` is the log's
entries filtered to the current room (``Rooms.shows``), the same ``Entry`` objects,
so the view's layout cache and its anchor (an entry) keep working. The filtered list
is rebuilt only when the log's ``version`` or the current room changed; ``version``
changes with either, so the view redraws on a switch.
"""

from __future__ import annotations

from typing import List


class RoomFeed:
    """A ``ChatLog`` seen through the current room."""

    def __init__(self, log):
        self.log = log
        self.colours = log.colours
        self._key: tuple = ()
        self._entries: List = []

    @property
    def version(self) -> tuple:
        """Changes whenever what the current room shows may have changed."""
        return (self.log.version, self.log.rooms.current)

    @property
    def entries(self) -> List:
        """The current room's entries, in the log's order."""
        key = self.version
        if key != self._key:
            shows = self.log.rooms.shows
            self._entries = [e for e in self.log.entries if shows(e.room)]
            self._key = key
        return self._entries

    @property
    def messages_added(self) -> int:
        """Messages from others ever added to the current room (the view's "new
        messages" pill counts them); it changes with the room, and the view follows
        the newest line on a switch, so the jump counts nothing."""
        return self.log.rooms.messages_added()

    @property
    def dropped(self) -> int:
        """Entries the log dropped from its top."""
        return self.log.dropped
