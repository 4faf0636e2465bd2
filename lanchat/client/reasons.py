"""Why a connection attempt failed, as a sentence a user can act on.

Every exception from connecting (refused, unknown host, timeout, TLS) becomes one line
that says what went wrong and what to try next; no traceback reaches the user.
"""

from __future__ import annotations

import socket
import ssl

from lanchat.errors import ConnectError


def explain_error(exc: BaseException, host: str, port: int) -> str:
    """Turn a connect/TLS exception into a readable sentence with what to try next."""
    where = f"{host}:{port}"
    if isinstance(exc, ConnectError):
        return str(exc)
    if isinstance(exc, ConnectionRefusedError):
        return (f"Connection refused by {where}: nothing is listening there. "
                "Is the server running, and is the port right?")
    if isinstance(exc, socket.gaierror):
        return f"Host name {host!r} not found. Check the spelling, or use the server's IP address."
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return (f"Timed out connecting to {where}. The address may be wrong, "
                "or a firewall is blocking the port.")
    if isinstance(exc, ssl.SSLCertVerificationError):
        return (f"TLS certificate of {where} could not be verified ({exc.verify_message}). "
                "Check --cafile, or the server's certificate.")
    if isinstance(exc, ssl.SSLError):
        return (f"TLS handshake with {where} failed ({exc.reason or exc}). "
                "Does the server use TLS (try with or without --tls)?")
    if isinstance(exc, OSError) and exc.strerror:
        return f"Could not connect to {where}: {exc.strerror}."
    return f"Could not connect to {where}: {exc}"
