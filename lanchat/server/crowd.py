"""Crowd notices: the joins and leaves of a crowded room, one frame per run.

A join is sent to everyone already in the room, so N people joining a room make
N(N-1)/2 ``join`` frames: 12.5 million (1.8 GB) for 5,000, which costs the server
little (a journal batch's frames are joined once and sent in one call per member)
but every client a gigabyte to read, and no person reads "x joined" 5,000 times.
So a room with more than ``--announce-limit`` members (``crowd_size``) stops sending
each ``join`` and ``leave``: the events are still stored with their seq (history,
``since``), but a batch's run of them goes out as one ``crowd`` notice
(docs/protocol.md, "Crowded rooms"):

    {"type": "crowd", "room": "#lobby", "seq": 7421, "users": 5000, "left": [names],
     "joined": [names]}

A client removes ``left``, then adds ``joined`` (names it has stay, names it lacks
go): the notice is the net change of the run, so applying it is idempotent, and a
member who joined during the run (its welcome lists who was there before it) may
safely get the whole run. ``users`` is how many are in the room after the run's last
event (what the list then holds), ``seq`` that event's seq: the notice comes after
everything before it, so a client that resumes may ask ``since`` it. Tutorial clients
get nothing for it (no line).
"""

from __future__ import annotations

from typing import Optional

from lanchat.text import name_key

CROWD = "crowd"  # the notice's type: unknown to v2 clients, which ignore it


def crowd_size(members: int, limit: int) -> Optional[int]:
    """``members`` (in a room just after a join or leave) if that is too many to
    announce each join and leave, else None; ``limit`` 0 announces every one."""
    return members if 0 < limit < members else None


class CrowdNotice:
    """The net joins and leaves of one run in one room (``room``: as shown)."""

    __slots__ = ("room", "key", "users", "seq", "_joined", "_left")

    def __init__(self, room: str):
        self.room = room
        self.key = room.casefold()
        self.users = 0  # the room's size after the last join or leave so far
        self.seq = 0    # and that join's or leave's seq
        self._joined: dict = {}  # name key -> name, present at the end of the run
        self._left: dict = {}    # name -> None: removed (exact names, applied first)

    def join(self, name: str) -> None:
        self._joined[name_key(name)] = name

    def leave(self, name: str) -> None:
        joined = self._joined.pop(name_key(name), None)
        if joined is not None:
            self._left[joined] = None
        self._left[name] = None

    def event(self) -> dict:
        """The ``crowd`` notice."""
        return {"type": CROWD, "room": self.room, "seq": self.seq, "users": self.users,
                "left": list(self._left), "joined": list(self._joined.values())}
