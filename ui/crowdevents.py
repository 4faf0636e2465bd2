"""The ``crowd`` notice in the view model: a crowded #lobby's joins and leaves.

Over the server's ``--announce-limit`` people, #lobby's joins and leaves come as one
notice per batch (docs/protocol.md, "Crowded rooms"): ``left`` and ``joined`` names
and ``users``, the room's size after them. The user list follows it (left names out,
joined names in: a name the list has already stays once, so a notice that repeats
what the welcome said changes nothing); the conversation gets no "x joined" lines,
as big team chats show none. No pygame here.
"""

from __future__ import annotations

from ui.roles import LOBBY


def crowd_names(event: dict, key: str) -> list:
    """The names under ``key`` (``left`` or ``joined``) of a crowd notice; anything
    that is not a name is skipped."""
    names = event.get(key)
    return [name for name in names if isinstance(name, str)] if isinstance(names, list) else []


class CrowdEvents:
    """``_on_crowd`` for ``ui.chatlog.ChatLog`` (a mixin, like ``StatusEvents``): it
    uses the log's ``users``, ``presence``, ``roles`` and ``_set_users``."""

    def _on_crowd(self, event) -> bool:
        room = event.get("room", LOBBY)
        if not isinstance(room, str) or room.casefold() != LOBBY:
            return False  # only #lobby is ever crowded (and its list is kept here)
        left = set(crowd_names(event, "left"))
        for name in left:
            self.presence.gone(name)
            self.roles.gone(name)
        users = [name for name in self.users if name not in left]
        have = set(users)
        for name in crowd_names(event, "joined"):
            if name not in have:
                have.add(name)
                users.append(name)
        if users == self.users:
            return False
        self._set_users(users)
        return True
