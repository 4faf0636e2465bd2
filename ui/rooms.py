"""The rooms you are in and your private conversations, for the view model; no pygame.

``ChatLog`` owns one ``Rooms`` and feeds it every event after its own handling, with
whether the event was live (PROTOCOL.md sections 4 and 8). The rules:

* the welcome's ``rooms`` (a room object each) and each ``joined`` are the truth at
  that moment: members, ops, topic, slow mode, whether you are muted. Only live
  ``join``, ``part``, ``kick``, ``leave``, ``nick`` and ``mode`` change them; a
  replayed one never does;
* ``#lobby`` is the log's own ``users`` and ``roles`` (one room looks as it always
  did); every other room has its own member list and ``Roles``;
* a ``joined`` makes that room current; your own live ``part`` or a ``kick`` of you
  removes a room (back to ``#lobby`` if it was current);
* a private message opens a conversation ``@peer`` (an entry in the room list); a
  ``nick`` renames it;
* a live message from someone else in a room that is not current counts as unread
  there, and sets the room's mention flag when your name is in it; switching to the
  room clears both.

Entries carry their ``room`` (``None``: a local notice, shown in every room).
"""

from __future__ import annotations

import re
from typing import Dict, List, Optional

from ui.roles import LOBBY, Roles

SEQUENCED = ("message", "join", "part", "leave", "nick", "topic", "mode", "kick")


def event_room(event: dict, me: str) -> Optional[str]:
    """The room (or ``@peer`` conversation) an event's entry belongs to; None for
    events shown in every room (a ``nick``, local notices, errors without a room)."""
    kind = event.get("type")
    if kind == "message" and event.get("kind") == "private":
        peer = event.get("to") if event.get("from") == me else event.get("from")
        return f"@{peer}"
    if kind in ("part", "kick") and event.get("name") == me:
        return None  # you left or were put out: said wherever you look next
    if kind in ("message", "join", "part", "topic", "mode", "kick"):
        return str(event.get("room") or LOBBY)
    if kind == "leave":
        return LOBBY
    if kind in ("system", "error", "users") and isinstance(event.get("room"), str):
        return event["room"]
    return None


def sorted_members(users, me: str) -> List[str]:
    """You first, then the others by name, ignoring case."""
    names = [u for u in users if isinstance(u, str)]
    others = sorted((u for u in names if u != me), key=str.casefold)
    return ([me] if me in names else []) + others


def mentions(text: str, me: str) -> bool:
    """Whether ``me`` appears in ``text`` as a word (any case)."""
    return bool(me) and re.search(r"(?<![\w-])" + re.escape(me) + r"(?![\w-])", text,
                                  re.IGNORECASE) is not None


class Rooms:
    """Rooms you are in (beside #lobby), private conversations, unread and current."""

    def __init__(self, lobby_roles: Roles):
        self.lobby_roles = lobby_roles
        self.members: Dict[str, List[str]] = {}     # room -> member names (not #lobby)
        self.roles: Dict[str, Roles] = {}           # room -> its Roles (not #lobby)
        self.private: List[str] = []                # "@peer" conversations, in order opened
        self.unread: Dict[str, int] = {}
        self.mention: Dict[str, bool] = {}
        self.added: Dict[Optional[str], int] = {}   # room -> messages from others ever added
        self.current = LOBBY
        self.version = 0                            # bumped on any change the list shows

    # ------------------------------------------------------------------ queries

    def names(self) -> List[str]:
        """The room list: #lobby, your other rooms by name, then conversations."""
        return [LOBBY] + sorted(self.members, key=str.casefold) + self.private

    def only_lobby(self) -> bool:
        """True while #lobby is all there is (the room list is then hidden)."""
        return not self.members and not self.private

    def roles_of(self, room: str) -> Roles:
        """The ``Roles`` of ``room`` (#lobby's for conversations and unknown rooms)."""
        return self.roles.get(room, self.lobby_roles)

    def current_roles(self) -> Roles:
        """The current room's ops, topic, slow mode and your mute."""
        return self.roles_of(self.current)

    def members_of(self, room: str, lobby_users: List[str], me: str) -> List[str]:
        """Who is in ``room`` (#lobby: everyone connected; ``@peer``: the two of you)."""
        if room.startswith("@"):
            return sorted_members([me, room[1:]], me)
        return self.members.get(room, lobby_users)

    def has(self, room: str) -> bool:
        """Whether ``room`` is in the list (any case for rooms)."""
        return self.find(room) is not None

    def find(self, room: str) -> Optional[str]:
        """The list's spelling of ``room`` (rooms compare ignoring case), or None."""
        return next((r for r in self.names() if r.casefold() == room.casefold()), None)

    def messages_added(self) -> int:
        """Messages from others ever added where the current room's view shows them."""
        return sum(count for room, count in self.added.items() if self.shows(room))

    def shows(self, entry_room: Optional[str]) -> bool:
        """Whether an entry of ``entry_room`` belongs in the current room's view:
        its room's, the notices of every room, and private lines also in #lobby (as
        with one room, where they always showed inline)."""
        return entry_room is None or entry_room == self.current \
            or (self.current == LOBBY and entry_room.startswith("@"))

    # ------------------------------------------------------------------ changes

    def switch(self, room: str) -> bool:
        """Make ``room`` current (if listed); clears its unread and mention."""
        found = self.find(room)
        if found is None:
            return False
        changed = found != self.current or self.unread.get(found) or self.mention.get(found)
        self.current = found
        self.unread.pop(found, None)
        self.mention.pop(found, None)
        if changed:
            self.version += 1
        return bool(changed)

    def move(self, step: int) -> bool:
        """Switch to the next (``step`` 1) or previous (-1) entry of the list, wrapping."""
        names = self.names()
        index = names.index(self.current) if self.current in names else 0
        return self.switch(names[(index + step) % len(names)])

    def close(self, room: str) -> None:
        """Forget a room or conversation (back to #lobby if it was current)."""
        self.members.pop(room, None)
        self.roles.pop(room, None)
        if room in self.private:
            self.private.remove(room)
        self.unread.pop(room, None)
        self.mention.pop(room, None)
        if self.current == room:
            self.current = LOBBY
        self.version += 1

    def _room_object(self, obj: dict, me: str, admin: bool) -> None:
        name = obj.get("room")
        if not isinstance(name, str) or name == LOBBY:
            return
        roles = self.roles.get(name) or Roles(room=name)
        roles.welcome({"name": me, "admin": admin, "rooms": [obj]})
        self.roles[name] = roles
        self.members[name] = sorted_members(obj.get("users") or [], me)

    def apply(self, event: dict, live: bool, me: str, now: float, entries=()) -> bool:
        """Apply one event (``live``: not replayed, not a duplicate); True if the room
        list, a member list or the current room changed. ``entries`` (the log's) are
        relabelled when a conversation's peer is renamed."""
        kind = event.get("type")
        before = self.version
        if kind == "connected":
            objs = [o for o in event.get("rooms") or [] if isinstance(o, dict)]
            for name in [r for r in self.members if r not in {o.get("room") for o in objs}]:
                self.close(name)
            for obj in objs:
                self._room_object(obj, me, event.get("admin") is True)
            self.version += 1
        elif kind == "joined" and isinstance(event.get("room"), dict):
            self._room_object(event["room"], me, self.lobby_roles.admin)
            self.switch(str(event["room"].get("room")))
            self.version += 1
        elif kind == "users" and event.get("room") in self.members:
            self.members[event["room"]] = sorted_members(event.get("users") or [], me)
            self.version += 1
        elif kind == "error" and event.get("room") in self.roles:
            self.roles[event["room"]].slowed(event, now)
        elif kind in SEQUENCED and live:
            self._live(event, me, entries)
        return self.version != before

    def _live(self, event: dict, me: str, entries) -> None:
        kind, room = event.get("type"), event_room(event, me)
        room = event.get("room") if kind in ("part", "kick") else room
        name = event.get("name")
        if kind == "message":
            if room.startswith("@") and room not in self.private:
                self.private.append(room)
                self.version += 1
            if event.get("from") != me and room != self.current:
                self.unread[room] = self.unread.get(room, 0) + 1
                if room.startswith("@") or mentions(str(event.get("text", "")), me):
                    self.mention[room] = True
                self.version += 1
        elif kind == "join" and room in self.members and name not in self.members[room]:
            self.members[room] = sorted_members(self.members[room] + [name], me)
            self.version += 1
        elif kind in ("part", "kick") and room in self.members:
            if name == me:
                self.close(room)
            else:
                self.members[room] = [u for u in self.members[room] if u != name]
                self.roles[room].gone(name)
                self.version += 1
        elif kind == "leave":
            for members in self.members.values():
                if name in members:
                    members.remove(name)
            for roles in self.roles.values():
                roles.gone(name)
            self.version += 1
        elif kind == "nick":
            self._renamed(str(event.get("old")), str(event.get("new")), me, entries)
        elif kind in ("mode", "topic") and room in self.roles:
            self.roles[room].apply(event)
            self.version += 1

    def _renamed(self, old: str, new: str, me: str, entries) -> None:
        for room, members in self.members.items():
            self.members[room] = sorted_members([new if u == old else u for u in members], me)
        for roles in self.roles.values():
            roles.renamed(old, new)
        key = f"@{old}"
        if key in self.private:
            self.private[self.private.index(key)] = f"@{new}"
            for table in (self.unread, self.mention):
                if key in table:
                    table[f"@{new}"] = table.pop(key)
            if self.current == key:
                self.current = f"@{new}"
            for entry in entries:
                if entry.room == key:
                    entry.room = f"@{new}"
        self.version += 1
