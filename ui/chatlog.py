"""The chat window's view model: what to show, with no pygame in it.

Every connection event goes through ``ChatLog.apply``, which turns it into entries,
keeps the user list and the connection status, and says whether anything visible
changed. The rules of what a user sees, unit-tested without a window:

* the conversation is shown in ``seq`` order, the server's one order: an event that
  arrives late (missed while offline, replayed on resume) goes to its place, not to
  the end. Local notices stay where they were added; "Reconnected" sits at your new
  join's seq (after what you missed, before your resent lines). Your own line shows
  at once as *pending* at the end (``add_own``); its ``ack`` moves it to its seq, an
  ``error`` with its id marks it *failed* with the reason;
* an event replayed from history (``replay: true``, or a seq at or below the welcome's)
  never changes the user list, the ops or your name: the welcome's are the truth;
* replayed events on first connect come under an "earlier messages" divider, live ones
  after "now"; a seq already shown is dropped; a sender's lines within minutes group;
* who is typing or away live in ``presence`` (``ui/presence.py``), #lobby's ops and
  your mute or slow mode in ``roles`` (``ui/roles.py``), the other rooms, private
  conversations, unread counts and the current room in ``rooms`` (``ui/rooms.py``);
  all fed here. Each entry carries its room (``Entry.room``);
* a crowded #lobby's joins and leaves come as ``crowd`` notices (``ui/crowdevents.py``);
* at most ``MAX_ENTRIES`` (5,000) are kept, the oldest dropped in chunks.

Entries changed in place (pending to sent or failed) bump their ``version``; the log's
``version`` counts every visible change, so the view redraws only when it moved and
caches layouts by entry identity and ``version``.
"""

from __future__ import annotations

import time
from typing import Callable, Dict, List, Optional, Tuple

import protocol
from lanchat import eventtext
from ui.crowdevents import CrowdEvents
from ui.presence import Presence, away_map
from ui.statusevents import StatusEvents
from ui.roles import LOBBY, Roles
from ui.rooms import Rooms, event_room, sorted_members
from ui.theme import NameColours
from ui.entries import (ACTION, CHAT, DIVIDER, ERROR, FAILED, NOTICE, PENDING, PRIVATE,  # noqa: F401
                        SENT, SYSTEM, Entry, Status, continues_group, parse_own_line)

MAX_ENTRIES = 5000     # entries kept; past it the oldest tenth goes at once (a screen shows ~30)


class ChatLog(StatusEvents, CrowdEvents):
    """Entries, users and status, updated from connection events.

    Args:
        me: your name (updated from ``connected`` and your own live ``nick``).
        clock: ``time.monotonic`` unless a test gives its own (typing expiry).
    """

    def __init__(self, me: str = "", clock: Callable[[], float] = time.monotonic):
        self.me = me
        self.clock = clock
        self.presence = Presence()        # who is typing, who is away
        self.roles = Roles()              # #lobby's ops; you muted, admin, slowed
        self.rooms = Rooms(self.roles)    # the other rooms, conversations, the current one
        self._room: Optional[str] = None  # the room of the event being applied
        self.quiet_ids: set = set()       # the window's own lines (auto-away): no error shown
        self.colours = NameColours()      # each name's colour, kept across renames
        self.entries: List[Entry] = []
        self.users: List[str] = []
        self.status = Status(name=me)
        self.max_text: Optional[int] = None
        self.appended = 0                 # entries ever added
        self.messages_added = 0           # of those, messages from others (the view counts them)
        self.dropped = 0                  # oldest entries dropped to stay under MAX_ENTRIES
        self.version = 0                  # bumped on every visible change of ``entries``
        self.unread = 0                   # messages from others since reset_unread()
        self.users_version = self.status_version = 0
        self._seqs: set = set()           # seqs shown (or acked) in this history epoch
        self._epoch = 0                   # bumped when the server's seqs start again
        self._max_seq: Optional[int] = None
        self._floor: Optional[Tuple[int, float]] = None  # keys below it were dropped
        self._welcome_seq: Optional[int] = None
        self._own: Dict[str, Entry] = {}  # pending own lines by say id
        self._in_replay = False
        self._resumed = False             # this connection follows a drop
        self._dropped = False             # a drop was announced; say when it is over

    # ------------------------------------------------------------------ own lines

    def add_own(self, msg_id: str, text: str, room: str = LOBBY) -> Optional[Entry]:
        """Show a line you just sent to ``room`` as pending, last; returns its entry
        (None for commands)."""
        parsed = parse_own_line(text)
        if parsed is None:
            return None
        kind, shown, peer = parsed
        self._end_replay()
        entry = Entry(kind=kind, text=shown, sender=self.me, to=peer, mine=True,
                      state=PENDING, msg_id=msg_id, room=f"@{peer}" if peer else room)
        self._own[msg_id] = entry
        self._insert(entry)
        return entry

    @property
    def pending_count(self) -> int:
        """How many of your lines are still waiting for the server's ack."""
        return len(self._own)

    def reset_unread(self) -> None:
        """The user has seen everything (window focused)."""
        self.unread = 0

    # ------------------------------------------------------------------ events

    def apply(self, event: dict) -> bool:
        """Apply one connection event; return True if anything visible changed."""
        handler = getattr(self, "_on_" + str(event.get("type")), None)
        self._room = event_room(event, self.me)
        changed = bool(handler(event)) if handler is not None else False
        live = changed and not self._replayed(event)
        changed = self.rooms.apply(event, live, self.me, self.clock(), self.entries) or changed
        self._room = None
        return changed

    def _on_connected(self, event):
        self.me = event.get("name", self.me)
        self.max_text = event.get("max_text", self.max_text)
        self.presence.clear_all_typing()
        self.presence.away = away_map(event.get("away"))
        self.roles.welcome(event)
        self._set_users(event.get("users") or [])
        self._set_status(state="connected", host=event.get("host", self.status.host),
                         port=event.get("port", self.status.port), name=self.me,
                         reason="", server=event.get("server", ""))
        seq = event.get("seq")
        self._welcome_seq = seq if isinstance(seq, int) else None
        if self._welcome_seq is not None:
            if self._max_seq is not None and seq <= self._max_seq:
                # a new database: its seqs start again, after everything shown so far
                self._epoch += 1
                self._seqs.clear()
                self._floor = self._max_seq = None
            self._note_seq(seq)
        self._in_replay = False
        self._resumed = self._dropped
        if self._dropped:
            # at the seq of the new join: after what was missed, before what is resent
            notice = Entry(kind=NOTICE, text=f"Reconnected as {self.me}")
            if self._welcome_seq is not None:
                notice.key = (self._epoch, self._welcome_seq)
            self._insert(notice)
            self._dropped = False
        return True

    def _on_disconnected(self, event):
        was_connected = self.status.state == "connected"
        self.presence.clear_all_typing()  # no refresh or "done" can come now
        self._set_status(state="disconnected", reason=event.get("reason", ""))
        if was_connected:
            # once per drop, in full (the status bar shows it short)
            retry = " Reconnecting\u2026" if event.get("will_retry") else ""
            self._end_replay()
            self._insert(Entry(kind=NOTICE, text=f"Disconnected: {event.get('reason', '')}.{retry}"))
            self._dropped = True
        return True

    def _on_ack(self, event):
        seq = event.get("seq")
        if isinstance(seq, int):
            self._note_seq(seq)
        entry = self._own.pop(event.get("id"), None)
        if entry is None:
            return False
        entry.state, entry.seq = SENT, seq
        entry.version += 1
        self._remove(entry)
        if isinstance(seq, int):
            entry.key = (self._epoch, seq)
        self._insert(entry, new=False)
        return True

    def _on_error(self, event):
        message = event.get("message") or event.get("code") or "error"
        if event.get("code") == protocol.SHUTTING_DOWN and not event.get("id"):
            return False  # the drop that follows says it, once
        if event.get("id") in self.quiet_ids:
            return False  # e.g. an old server refusing the window's auto-away
        self.roles.slowed(event, self.clock())  # a slow_mode error says when to retry
        entry = self._own.pop(event.get("id"), None) if event.get("id") else None
        if entry is not None:
            entry.state, entry.reason = FAILED, message
            entry.version += 1
            # settled without a seq: it stays where it was typed, among the others
            self._remove(entry)
            self._insert(entry, new=False)
            return True
        self._end_replay()
        self._insert(Entry(kind=ERROR, text=message))
        return True

    def _on_system(self, event):
        self._end_replay()
        self._insert(Entry(kind=SYSTEM, text=str(event.get("text", ""))))
        return True

    def _on_users(self, event):
        users = sorted_members(event.get("users") or [], self.me)
        if event.get("room", LOBBY) == LOBBY:  # another room's list is in ``rooms``
            self.presence.away = away_map(event.get("away"))
            self._set_users(users)
        self._end_replay()
        self._insert(Entry(kind=SYSTEM, text=f"{len(users)} online: " + ", ".join(users)))
        return True

    def _replayed(self, event) -> bool:
        """True for an event from history: flagged, or at or below the welcome's seq."""
        if event.get("replay"):
            return True
        seq = event.get("seq")
        return isinstance(seq, int) and self._welcome_seq is not None and seq <= self._welcome_seq

    def _sequenced(self, event, entry: Entry) -> bool:
        """Place a sequenced event's entry; False if it is a duplicate or too old."""
        seq = event.get("seq")
        replay = self._replayed(event)
        entry.replay = replay
        if isinstance(seq, int):
            entry.seq, entry.key = seq, (self._epoch, seq)
            if seq in self._seqs or (self._floor is not None and entry.key < self._floor):
                return False
            self._note_seq(seq)
        if replay and not self._in_replay and not self._resumed:
            divider = Entry(kind=DIVIDER, text="earlier messages", key=entry.key)
            self._insert(divider)
            self._in_replay = True
        elif not replay:
            self._end_replay()
        self._insert(entry)
        return True

    def _on_message(self, event):
        kind = {"action": ACTION, "private": PRIVATE}.get(event.get("kind"), CHAT)
        sender = str(event.get("from", "?"))
        entry = Entry(kind=kind, text=str(event.get("text", "")), sender=sender,
                      to=event.get("to"), ts=event.get("ts") or time.time(), mine=sender == self.me)
        if not self._sequenced(event, entry):
            return False
        if not entry.replay:
            self.unread += 0 if entry.mine else 1
            self.presence.clear_typing(sender)
        return True

    def _on_typing(self, event):
        return self.presence.apply_typing(event, self.me, self.clock())

    def _on_presence(self, event):
        if not self.presence.apply_presence(event):
            return False
        name, away = event.get("name"), event.get("away")
        self.users_version += 1  # the list dims the away
        if name == self.me:
            self._end_replay()
            self._insert(Entry(kind=NOTICE, text=f"You are away: {away}" if away is not None
                               else "You are back"))
        return True

    def _on_join(self, event):
        name = str(event.get("name", "?"))
        entry = Entry(kind=NOTICE, text=f"{name} joined", sender=name, ts=event.get("ts") or time.time())
        if not self._sequenced(event, entry):
            return False
        if not entry.replay and name not in self.users:
            self._set_users(self.users + [name])
        return True

    def _on_leave(self, event):
        name, reason = str(event.get("name", "?")), event.get("reason")
        text = f"{name} left" + (f" ({reason})" if reason and reason != "bye" else "")
        entry = Entry(kind=NOTICE, text=text, sender=name, ts=event.get("ts") or time.time())
        if not self._sequenced(event, entry):
            return False
        if not entry.replay:
            self.presence.gone(name)
            self.roles.gone(name)
            self._set_users([u for u in self.users if u != name])
        return True

    def _on_part(self, event):
        """Someone left a room but is still connected (``rooms`` updates the members)."""
        name, reason = str(event.get("name", "?")), event.get("reason")
        text = f"{name} left {event.get('room', LOBBY)}" + (f" ({reason})" if reason else "")
        return self._sequenced(event, Entry(kind=NOTICE, text=text, sender=name,
                                            ts=event.get("ts") or time.time()))

    def _on_mode(self, event):
        """``mode``, ``topic``, ``kick``: a notice in its place; a live one updates roles."""
        kind = event.get("type")
        sender = str(event.get("name" if kind == "kick" else "by", "?"))
        text = (eventtext.describe(event) or "").removeprefix("* ")
        if self._room is None:  # your own kick, said in every room: which room
            text = f"{event.get('room', LOBBY)}: {text}"
        entry = Entry(kind=NOTICE, text=text, sender=sender, ts=event.get("ts") or time.time())
        shown = self._sequenced(event, entry)
        if shown and not entry.replay:  # True from apply_mode: the ops changed
            self.users_version += self.roles.apply(event)
        return shown

    _on_kick = _on_topic = _on_mode

    def _on_nick(self, event):
        old, new = str(event.get("old", "?")), str(event.get("new", "?"))
        entry = Entry(kind=NOTICE, text=f"{old} is now known as {new}", sender=new,
                      ts=event.get("ts") or time.time())
        if not self._sequenced(event, entry):
            return False
        if not entry.replay:
            self.colours.renamed(old, new)
            self.presence.renamed(old, new)
            self.roles.renamed(old, new)
            if old == self.me:
                self.me = new
                self._set_status(name=new)
            self._set_users([new if u == old else u for u in self.users])
        return True

    # ------------------------------------------------------------------ helpers

    def _note_seq(self, seq: int) -> None:
        self._seqs.add(seq)
        if self._max_seq is None or seq > self._max_seq:
            self._max_seq = seq

    def _end_replay(self) -> None:
        """A live entry follows replayed ones: close the replay section first."""
        if self._in_replay:
            self._insert(Entry(kind=DIVIDER, text="now"))
            self._in_replay = False

    def _insert(self, entry: Entry, new: bool = True) -> None:
        """Put ``entry`` in its place: by key, before pending lines; keyless ones inherit."""
        entries = self.entries
        index = len(entries)
        entry.room = entry.room if entry.room is not None or not new else self._room
        if entry.state != PENDING or not entry.mine:
            while index and (entries[index - 1].key is None
                             or (entry.key is not None and entries[index - 1].key > entry.key)):
                index -= 1
            if entry.key is None:
                entry.key = entries[index - 1].key if index else (self._epoch, float("-inf"))
        entries.insert(index, entry)
        self._regroup(index)
        self._regroup(index + 1)
        if new:
            self.appended += 1
            if entry.kind in (CHAT, ACTION, PRIVATE) and not entry.mine:
                self.messages_added += 1
                self.rooms.added[entry.room] = self.rooms.added.get(entry.room, 0) + 1
        self.version += 1
        if len(entries) > MAX_ENTRIES:
            self._trim()

    def _remove(self, entry: Entry) -> None:
        index = self.entries.index(entry)
        del self.entries[index]
        self._regroup(index)
        self.version += 1

    def _regroup(self, index: int) -> None:
        """Recompute whether entry ``index`` continues the previous entry's group."""
        if not 0 <= index < len(self.entries):
            return
        entry = self.entries[index]
        grouped = continues_group(self.entries[index - 1] if index else None, entry)
        if grouped != entry.grouped:
            entry.grouped = grouped
            entry.version += 1

    def _trim(self) -> None:
        """Drop the oldest entries (never pending ones) to stay under MAX_ENTRIES."""
        count = len(self.entries) - MAX_ENTRIES + MAX_ENTRIES // 10  # rarely, not per line
        count = min(count, next((i for i, e in enumerate(self.entries) if e.key is None),
                                len(self.entries)))
        if count <= 0:
            return
        self._floor = self.entries[count - 1].key
        del self.entries[:count]
        self.dropped += count
        self._regroup(0)
        epoch, floor = self._floor
        if epoch == self._epoch:
            self._seqs = {s for s in self._seqs if s > floor}
        self.version += 1

    def _set_users(self, users: List[str]) -> None:
        self.users = sorted_members(users, self.me)
        self.users_version += 1

    def _set_status(self, **changes) -> None:
        for key, value in changes.items():
            setattr(self.status, key, value)
        self.status_version += 1
