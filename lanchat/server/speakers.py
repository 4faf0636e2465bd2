"""How a connection whose kind is known joins the room: a structured ``hello``, or a
tutorial dialect's guest (64-byte plain, line, a listener) or ten-byte name.

The handler (``handler.ChatHandler``) calls these once it knows the connection's
dialect; they use its ``server``, ``transport``, ``dialect``, ``peer``, ``ip``,
``kick`` and ``error``, set ``member`` on a join, and return a leave reason when the
connection is refused (wrong password, banned), which ends it.

* ``--password``: structured clients give it in ``hello``; every other dialect gets
  an ``error: ...`` line in its own form and is closed (PROTOCOL.md section 7).
* A ten-byte client's first frame is its name. **Decision:** a taken name becomes
  ``name_2`` (as for ``hello``); a name that is not valid is made one (whitespace to
  ``_``, leading ``/ # * @`` and control characters dropped, cut to 24 characters),
  and only if nothing is left it is ``guest-<n>``; the client is told its name in a
  notice when it differs from the one it sent.
"""

from __future__ import annotations

import hmac
import logging
import re
from typing import Optional

import protocol
from lanchat import codec
from lanchat.errors import MessageError
from lanchat.server.roomcommands import enter_rooms
from lanchat.text import MAX_NAME, is_control, name_problem

log = logging.getLogger("chat.server")

_NOT_FIRST = "/#*@"  # what a name may not start with (PROTOCOL.md section 4)


def ten_byte_name(body: bytes) -> Optional[str]:
    """The name a ten-byte client's first frame asks for, made valid; None if nothing
    usable is left (then it is a guest)."""
    text = body.decode("utf-8", errors="replace")
    text = "".join(ch for ch in text if not is_control(ch) and ch != "\ufffd")
    name = re.sub(r"\s+", "_", text.strip()).lstrip(_NOT_FIRST)[:MAX_NAME]
    return name if name and name_problem(name) is None else None


def join_ten_byte(conn, body: bytes) -> Optional[str]:
    """A ten-byte client joins with the name its first frame ``body`` asks for."""
    return join(conn, ten_byte_name(body), asked=body.decode("utf-8", errors="replace"))


def join(conn, name: Optional[str], asked: Optional[str] = None) -> Optional[str]:
    """A tutorial dialect's connection joins as ``name`` (None: ``guest-<n>``) in its
    ``conn.dialect``; returns a leave reason if it is refused. A name other than the
    one ``asked`` for is told to it."""
    server = conn.server
    if server.config.password is not None:
        conn.error(protocol.AUTH_FAILED, "this server needs a password: connect with "
                    "client.py --password", closing=True)
        log.info("%s: refused, a %s client on a server with a password", conn.peer,
                 conn.dialect.name)
        return "auth failed"
    try:
        refusal = _join(conn, name)
    except MessageError as exc:  # shutting down; a name made valid is never bad
        conn.error(exc.code, exc.message, closing=True)
        return "refused"
    if refusal is None and asked is not None and conn.member.name != asked:
        server.room.reply(conn.member, {"type": "system", "text": f"you are {conn.member.name}"})
    return refusal


def hello(conn, message: codec.Hello) -> Optional[str]:
    """A structured client's ``hello``: the password, the join, its rooms."""
    expected = conn.server.config.password
    if expected is not None and not _same_secret(message.password or "", expected):
        # Logged before the answer: once the client has it, the log says so too.
        log.info("%s: refused, %s password", conn.peer, "wrong" if message.password else "no")
        conn.error(protocol.AUTH_FAILED, "wrong password (check client.py --password "
                    "or CHAT_PASSWORD)" if message.password else "this server needs a "
                    "password: connect with client.py --password (or set CHAT_PASSWORD)")
        return "auth failed"
    refusal = _join(conn, message.name, since=message.since, resume=message.resume)
    if refusal is None:
        enter_rooms(conn.server.room, conn.member, message.rooms, message.since)
    return refusal


def _join(conn, name: Optional[str], since: Optional[int] = None,
          resume: Optional[str] = None) -> Optional[str]:
    """Join the room; a ban refuses the connection (error ``banned``, then close)."""
    try:
        # No **options: such a call is a C-level one, deeper in the thread's stack.
        conn.member = conn.server.room.join(conn.transport, name, dialect=conn.dialect,
                                            peer=conn.peer, address=conn.ip, kick=conn.kick,
                                            since=since, resume=resume)
    except MessageError as exc:
        if exc.code != protocol.BANNED:
            raise
        conn.error(exc.code, exc.message)
        log.info("%s: refused, banned", conn.peer)
        return "banned"
    return None


def _same_secret(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))
