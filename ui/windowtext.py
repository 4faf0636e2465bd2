"""What the window says when something goes wrong, written for the window.

The server's error messages and the connection's reasons are written for the
terminal client: they name flags ("connect with client.py --password") and run
clauses together with colons. The window has fields and a checkbox instead, so:

* a refusal with a known ``code`` (``error`` event from the server) gets a window
  sentence of its own here: the server's wording is not shown for those;
* the connection's own reasons (``connect_failed``) are already sentences; the few
  that name a client flag get the flag replaced by the field or checkbox that does
  the same (``window_reason``). Those reasons carry no code yet, so this goes by
  the phrases, listed in ``FLAG_HINTS`` beside the module that writes them;
* errors about one line in the chat (``rate_limited``, ``no_such_user`` ...) get a
  short sentence for the place under that line (``chat_error``).

Every text is one or more full sentences, starting with a capital, ending with a stop.
"""

from __future__ import annotations

from typing import Optional

import protocol
from lanchat.text import one_line
from lanchat.tls.pins import pin_form

# Refused at hello: the connect screen shows these instead of the server's words.
REFUSALS = {
    protocol.BAD_NAME: ("The server did not accept that name. A name is 1 to 24 characters "
                        "without spaces; pick another one and connect again."),
    protocol.NAME_TAKEN: "Someone here already uses that name. Pick another one and connect again.",
    protocol.SERVER_FULL: ("The server is not taking more people right now. Try again later, "
                           "or ask whoever runs it to allow more connections."),
    protocol.SHUTTING_DOWN: "The server is shutting down. Try again in a minute.",
}
NEEDS_PASSWORD = "This server needs a password. Type it in the Password field and connect again."
WRONG_PASSWORD = ("The server did not accept that password. Check it with whoever runs the "
                  "server, type it in the Password field and connect again.")
NEEDS_TLS = "This server uses TLS. Tick \u201cUse TLS\u201d and connect again."

# Terminal hints in the connection's reasons (lanchat/client/connection.py explain_error,
# lanchat/tls/clientsocket.py) and what the window says instead.
FLAG_HINTS = (
    ("Does the server use TLS (try with or without --tls)?",
     "Does the server use TLS? Tick or untick \u201cUse TLS\u201d and connect again."),
    ("Check --cafile, or the server's certificate.",
     "Check the CA file field, or the server's certificate."),
    ("Connect without --tls, or ask whoever runs it to start it with --tls-self-signed "
     "or --tls-cert.",
     "Untick \u201cUse TLS\u201d and connect again, or ask whoever runs the server to turn TLS on."),
)

# Refusals of one line in the chat: the view shows them after "✕ Not sent: " under
# the line (or alone, for a command). Other codes keep the server's words, which
# name what was wrong ("the name 'bob' is taken"), as a sentence.
CHAT_ERRORS = {
    protocol.RATE_LIMITED: "You are sending too fast. Wait a moment and send it again.",
    protocol.TEXT_TOO_LONG: "The message is too long for this server. Split it up.",
    protocol.EMPTY_TEXT: "The message is empty.",
    protocol.NOT_STORED: "The server could not store it. Try again in a moment.",
    protocol.SHUTTING_DOWN: "The server is shutting down.",
}


def sentence(text: str) -> str:
    """``text`` as a sentence: stripped, capitalised, ending with a stop."""
    text = " ".join(text.split())
    if not text:
        return ""
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".!?)\u201d" else text + "."


def window_reason(reason: str) -> str:
    """A connection's failure reason with its terminal flag hints put in window terms."""
    for terminal, window in FLAG_HINTS:
        reason = reason.replace(terminal, window)
    return sentence(reason)


def refusal(code: Optional[str], reason: str, password_sent: bool = False) -> str:
    """What the connect screen says after a failed attempt.

    Args:
        code: the ``code`` of the server's ``error`` before the end (None if there was
            no refusal, e.g. nothing listening).
        reason: the connection's ``connect_failed`` reason (used when the code has no
            window sentence, or there was no code).
        password_sent: whether the attempt sent a password (wrong vs missing).
    """
    if code == protocol.AUTH_FAILED:
        return WRONG_PASSWORD if password_sent else NEEDS_PASSWORD
    if code in REFUSALS:
        return REFUSALS[code]
    if code == protocol.BAD_HEADER and "TLS" in reason:
        return NEEDS_TLS
    return window_reason(reason or "Could not connect.")


def name_error(problem: str) -> str:
    """The connect screen's sentence for a name ``lanchat.text.name_problem`` refused
    (``problem`` is its reason, e.g. "a name cannot start with /, #, * or @")."""
    return f"{sentence(problem)} Pick another name."


def chat_error(event: dict) -> str:
    """The sentence for an ``error`` event shown in the chat (under a line or alone)."""
    code = event.get("code")
    if code in CHAT_ERRORS:
        return CHAT_ERRORS[code]
    return sentence(str(event.get("message") or code or "Something went wrong"))


def not_pinned_warning(name: str, where: str, pinned: str, advertised: str) -> str:
    """The loud warning for the chat ``name`` found at ``where`` advertising the
    certificate ``advertised``, which is not the one ``pinned`` for that address."""
    return (f"WARNING: \u201c{name}\u201d at {where} ADVERTISES A CERTIFICATE THAT IS "
            f"NOT THE ONE PINNED FOR IT. Someone on this network may be pretending to be "
            f"that server, or the server got a new certificate. Pinned fingerprint: "
            f"{pinned}. Advertised: {one_line(pin_form(advertised), 120)}. Connect checks the pinned certificate and "
            f"refuses any other. Only if whoever runs the server confirms it has a new one, "
            f"run: python -m lanchat.tls --forget {where}, then connect again.")
