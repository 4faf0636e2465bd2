"""Who is in the room: members, their names and their sessions.

Nothing here locks: the room's one lock (``Room.lock``) guards all of it, so a name
is taken, a member added and its join given a seq in one step. ``Membership`` keeps
the names unique ignoring case (``name_key``), hands out ``guest-<n>`` and
``name_2``, and keeps the two reader sets a batch's common frames go to: the members
who get events (welcomed, not gone), by kind, as ordered sets (dicts), so a broadcast
needs no test per member.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import protocol
from lanchat.errors import MessageError
from lanchat.text import name_key, numbered_name
from lanchat.server.delivery import NameList
from lanchat.ratelimit import TokenBucket


@dataclass(eq=False, slots=True)  # one per connection: no instance dict
class Member:
    """One joined connection. ``transport`` has a non-blocking ``send(bytes)``.

    ``welcomed``, ``gone`` and ``rooms`` change under the room lock; ``reading`` (the
    keys of the rooms whose events it gets) changes in a batch's deliveries.
    """

    name: str
    transport: Any  # the connection's PlainTransport or TLSTransport
    dialect: Any    # how it is written to (lanchat.dialects.writers: STRUCTURED, PLAIN...)
    peer: str
    session: str
    bucket: TokenBucket
    # Closes the connection (the handler's kick(reason, flush=False)).
    kick: Optional[Callable[..., None]] = None
    address: Optional[str] = None  # the peer's IP address
    welcomed: bool = False
    gone: bool = False
    kicked: bool = False  # kicked out: its lines are dropped until it is gone
    admin_tries: Optional[TokenBucket] = None  # /admin attempts, made at the first
    away: Optional[str] = None  # the away message, None while here
    typing_bucket: Optional[TokenBucket] = None  # made at the first typing frame
    rooms: dict = field(default_factory=dict)     # key -> ChatRoom it is in (decided)
    reading: set = field(default_factory=set)     # keys of the rooms it gets events of
    current: str = protocol.LOBBY  # a plain client's room for its lines (/join moves it)
    # Not structured: one of the tutorial dialects (set from dialect, never changed).
    plain: bool = field(init=False, default=False)

    def __post_init__(self):
        self.plain = not self.dialect.structured

    @property
    def key(self) -> str:
        return name_key(self.name)

    def frame(self, message: dict) -> Optional[bytes]:
        """A reply meant for this member only (not a seq'd event), in its dialect;
        None if its dialect has nothing to show for it."""
        return self.dialect.reply(message, self.name)

    def send(self, message: dict) -> None:
        """Send a message to this member at once, past whatever the journal still has
        for it (only for shutting down: replies go through ``Room.reply``)."""
        data = self.frame(message)
        if data is not None:
            self.transport.send(data)



@dataclass
class Session:
    """What outlives a connection: the name it had and the say ids it used."""

    name: str
    ids: dict = field(default_factory=dict)  # say id -> seq
    rooms: list = field(default_factory=list)  # the rooms besides #lobby, for a resume


class Membership:
    """The members by name key, their encoded names, the readers and the sessions.

    Args:
        sessions: the sessions known from the journal, ``{token: Session}``.
    """

    def __init__(self, sessions: dict):
        self.members: dict = {}       # name key -> Member
        self.sessions = sessions      # token -> Session
        self.by_session: dict = {}    # token -> Member, of those connected
        self.names = NameList()       # the members' names, encoded for welcomes
        self._away: dict = {}         # name key -> Member, of those away
        self._guests = 0
        # name key -> groupevents.Remote: the people on the group's other servers
        self.remote: dict = {}

    def add_remote(self, person) -> None:
        """Someone on another server of the group (in ``names``, not ``members``)."""
        self.remote[person.key] = person
        self.names.add(person.key, person.name)

    def drop_remote(self, person) -> None:
        if self.remote.get(person.key) is person:
            del self.remote[person.key]
            self._away.pop(person.key, None)
            if self.members.get(person.key) is None:
                self.names.remove(person.key)

    def _taken(self, key: str) -> bool:
        return key in self.members or key in self.remote

    def session_of(self, token: str, fetch: Callable[[str], Optional[tuple]]) -> Optional[Session]:
        """The session ``token``: known here, or ``fetch(token)``'s ``(name, say ids)``
        (in a group, a session another server made), or None.

        Raises:
            MessageError: ``unavailable``, if ``fetch`` cannot reach the group's store.
        """
        state = self.sessions.get(token)
        if state is None:
            try:
                found = fetch(token)
            except Exception as exc:  # the store's own errors: unreachable now
                raise MessageError(protocol.UNAVAILABLE, f"cannot resume now ({exc}); "
                                   "try again in a moment") from None
            if found is not None:
                state = self.sessions[token] = Session(found[0])
                state.ids.update(found[1])
        return state

    def note_rooms(self, member: Member) -> None:
        """Remember ``member``'s rooms (besides #lobby) in its session, so a resume
        comes back to them."""
        state = self.sessions.get(member.session)
        if state is not None:
            state.rooms = [r.name for r in member.rooms.values() if not r.lobby]

    def get(self, name: str) -> Optional[Member]:
        """The member called ``name`` (any case), or None."""
        return self.members.get(name_key(name))

    def add(self, member: Member) -> None:
        self.members[member.key] = member
        self.names.add(member.key, member.name)
        self.by_session[member.session] = member

    def drop(self, member: Member) -> None:
        """Forget a member (it is gone): out of the names and the sessions' index."""
        if self.members.get(member.key) is member:
            del self.members[member.key]
            self.names.remove(member.key)
            self._away.pop(member.key, None)
        if self.by_session.get(member.session) is member:
            del self.by_session[member.session]
        if member.plain:  # plain clients cannot resume: nothing to keep
            self.sessions.pop(member.session, None)

    def rename(self, member: Member, new: str) -> None:
        del self.members[member.key]
        self.names.remove(member.key)
        self._away.pop(member.key, None)
        member.name = new
        self.add(member)
        if member.away is not None:
            self._away[member.key] = member
        self.sessions[member.session].name = new

    def set_away(self, member: Member, message: Optional[str]) -> None:
        """``member`` is away with ``message``, or back (None)."""
        member.away = message
        if message is None:
            self._away.pop(member.key, None)
        else:
            self._away[member.key] = member

    def away_names(self) -> dict:
        """``{name: away message}`` of the members who are away."""
        return {m.name: m.away for m in self._away.values()}

    def visible_names(self, viewer: Member) -> list:
        """Who is here, as ``viewer`` may be told (the welcomed, and itself)."""
        return [m.name for m in self.members.values() if m.welcomed or m is viewer]

    def guest_name(self) -> str:
        """``guest-<n>`` with the next n nobody holds (someone may have asked for it)."""
        self._guests += 1
        while self._taken(name_key(f"guest-{self._guests}")):
            self._guests += 1
        return f"guest-{self._guests}"

    def free_name(self, wanted: str) -> str:
        """``wanted`` if nobody has it, else ``wanted_2``, ``wanted_3``..."""
        if not self._taken(name_key(wanted)):
            return wanted
        number = 2
        while self._taken(name_key(numbered_name(wanted, number))):
            number += 1
        return numbered_name(wanted, number)
