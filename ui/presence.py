"""Who is typing and who is away (PROTOCOL.md section 9), for the view model; no pygame.

``ChatLog`` owns one ``Presence`` and feeds it from connection events; the typing line
and the user list read it. Time is always passed in (``now``, ``time.monotonic``
seconds) so the expiry rules are tested without waiting:

* ``typing`` frames set a user's state per place (the room, or a private line to you);
  ``active`` expires after 6 s, ``paused`` after 30 s, ``done`` ends it at once, and a
  live message, a leave or a nick from that user ends it too;
* only ``active`` users are shown as typing (``paused`` means a draft left alone);
* the line names, in the order they started, those typing in the current room and
  those typing to you privately (``typing_names(places)``);
* ``away`` maps a name to its message, only for those away; ``welcome`` and ``users``
  replace it (absent means nobody, as an old server sends), ``presence`` changes one.
"""

from __future__ import annotations

from typing import Collection, Dict, List, Optional, Tuple

ACTIVE_EXPIRES = 6.0    # receivers drop an active state not refreshed within 6 s
PAUSED_EXPIRES = 30.0   # ... and a paused one after 30 s
EXPIRES = {"active": ACTIVE_EXPIRES, "paused": PAUSED_EXPIRES}
PRIVATE = "@private"    # the place of a typing frame sent to you alone


def typing_text(names: List[str]) -> str:
    """The line under the log: "" / "alice is typing…" / "alice and bob are typing…" /
    "several people are typing…"."""
    if not names:
        return ""
    if len(names) == 1:
        return f"{names[0]} is typing\u2026"
    if len(names) == 2:
        return f"{names[0]} and {names[1]} are typing\u2026"
    return "several people are typing\u2026"


def away_map(value) -> Dict[str, str]:
    """A ``welcome``'s or ``users``' ``away`` field as {name: message}; anything
    malformed or absent means nobody is away."""
    if not isinstance(value, dict):
        return {}
    return {name: str(message) for name, message in value.items()
            if isinstance(name, str) and message is not None}


class Presence:
    """Typing states with their expiry, and away messages."""

    def __init__(self):
        # (name, place) -> (state, expires at); insertion order is the order shown
        self._typing: Dict[Tuple[str, str], Tuple[str, float]] = {}
        self.away: Dict[str, str] = {}
        self.typing_version = 0   # bumped when the names shown as typing change

    # ------------------------------------------------------------------ typing

    def apply_typing(self, event: dict, me: str, now: float) -> bool:
        """Apply a ``typing`` event (yours and malformed ones ignored); True if the
        names shown changed."""
        name, state = event.get("name"), event.get("state")
        if not isinstance(name, str) or name == me or state not in ("active", "paused", "done"):
            return False
        place = PRIVATE if event.get("to") is not None else str(event.get("room"))
        return self.set_typing(name, place, state, now)

    def set_typing(self, name: str, place: str, state: str, now: float) -> bool:
        """Apply one ``typing`` frame; True if the names shown changed."""
        before = self.typing_names()
        key = (name, place)
        if state in EXPIRES:
            self._typing[key] = (state, now + EXPIRES[state])  # keeps its place if known
        else:
            self._typing.pop(key, None)
        return self._changed(before)

    def clear_typing(self, name: str) -> bool:
        """``name`` sent a line, left or was renamed: not typing anywhere any more."""
        before = self.typing_names()
        self._typing = {k: v for k, v in self._typing.items() if k[0] != name}
        return self._changed(before)

    def clear_all_typing(self) -> bool:
        """Forget every typing state (the connection dropped: no refresh will come)."""
        before = self.typing_names()
        self._typing.clear()
        return self._changed(before)

    def expire(self, now: float) -> bool:
        """Drop the states past their time; True if the names shown changed."""
        before = self.typing_names()
        self._typing = {k: v for k, v in self._typing.items() if v[1] > now}
        return self._changed(before)

    def next_expiry(self, now: float) -> Optional[float]:
        """Seconds until a shown name expires (the loop wakes then), or None."""
        times = [at for state, at in self._typing.values() if state == "active"]
        return max(0.0, min(times) - now) if times else None

    def typing_state(self, name: str) -> Optional[str]:
        """``name``'s typing state anywhere (``active`` wins over ``paused``), or None."""
        states = {state for (who, _), (state, _) in self._typing.items() if who == name}
        return "active" if "active" in states else (states.pop() if states else None)

    def typing_names(self, places: Optional[Collection[str]] = None) -> List[str]:
        """Those shown as typing (active), in the order they started, each once; only
        in ``places`` (rooms, or ``PRIVATE``) when given."""
        names: List[str] = []
        for (name, place), (state, _) in self._typing.items():
            if state == "active" and name not in names and (places is None or place in places):
                names.append(name)
        return names

    def typing_line(self, places: Optional[Collection[str]] = None) -> str:
        """The sentence for the line under the log ("" when nobody is typing), for
        ``places`` only when given."""
        return typing_text(self.typing_names(places))

    def _changed(self, before: List[str]) -> bool:
        if self.typing_names() == before:
            return False
        self.typing_version += 1
        return True

    # ------------------------------------------------------------------ away

    def apply_presence(self, event: dict) -> bool:
        """Apply a ``presence`` event; True if it changed who is away or why."""
        name, away = event.get("name"), event.get("away")
        return isinstance(name, str) and self.set_away(name, away)

    def set_away(self, name: str, message: Optional[str]) -> bool:
        """Apply one ``presence``; True if it changed anything."""
        if message is None:
            return self.away.pop(name, None) is not None
        if self.away.get(name) == str(message):
            return False
        self.away[name] = str(message)
        return True

    def renamed(self, old: str, new: str) -> None:
        """A ``nick``: the away message follows the name; typing ends."""
        self.clear_typing(old)
        if old in self.away:
            self.away[new] = self.away.pop(old)

    def gone(self, name: str) -> None:
        """A ``leave``: neither typing nor away any more."""
        self.clear_typing(name)
        self.away.pop(name, None)
