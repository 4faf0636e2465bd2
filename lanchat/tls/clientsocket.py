"""The client's TLS: a verified or pinned handshake, and a socket safe for two threads.

Clients either verify for real (``--cafile``: chain and host name), or trust on first
use (``lanchat.tls.pins``).

The client socket is ``TLSClientSocket``, TLS over ``ssl.MemoryBIO`` like the server's
``lanchat.server.transport.TLSTransport``, not an ``ssl.SSLSocket``. ``ChatConnection``
reads on its own thread while other threads send, and OpenSSL forbids ``SSL_read`` and
``SSL_write`` on one ``SSL`` object at the same time (``SSLSocket`` has no lock of its
own). Here one lock guards the ``SSLObject``, and the blocking socket reads happen
outside it, so a send never waits for a read. ``SSLSocket.shutdown`` also drops the TLS
layer, so a reader still draining after ``shutdown(SHUT_WR)`` would see ciphertext;
``TLSClientSocket.shutdown`` keeps it.
"""

from __future__ import annotations

import logging
import re
import socket
import ssl
import threading
import time
from typing import Callable, Optional, Tuple

from lanchat.errors import ConnectError
from lanchat.tls.certificates import fingerprint
from lanchat.tls.pins import PinStore, same_fingerprint, server_key

log = logging.getLogger("chat.tls")

HANDSHAKE_TIMEOUT = 10.0        # seconds the client's TLS handshake may take in all
RECV_BYTES = 65536

_CHAT_FRAME_START = re.compile(rb"^[0-9]+ ")  # a plaintext chat frame header begins so


class TLSClientSocket:
    """The client end of a TLS connection over a plain socket, safe for one reader
    thread plus sending threads (see the module docstring).

    It offers what ``ChatConnection`` uses: ``sendall``, ``recv``, ``pending``,
    ``fileno`` (for ``select``), ``settimeout``, ``shutdown``, ``close``; plus
    ``getpeercert``, ``version``, ``cipher`` and the server certificate's ``fingerprint``.
    """

    def __init__(self, sock: socket.socket, tls: ssl.SSLObject, incoming: ssl.MemoryBIO,
                 outgoing: ssl.MemoryBIO):
        self._sock = sock
        self._tls = tls
        self._incoming = incoming
        self._outgoing = outgoing
        # Lock order: _wire_lock, then _lock. _lock guards the SSLObject and is never
        # held during socket I/O; _wire_lock keeps encrypted records in the order they
        # were made while they are written (a blocked sendall holds only it, so the
        # reader still decrypts meanwhile).
        self._lock = threading.Lock()
        self._wire_lock = threading.Lock()
        self._plain = bytearray()   # decrypted, not yet returned by recv
        self._eof = False           # the server's close_notify arrived
        self.fingerprint: Optional[str] = None

    @classmethod
    def handshake(cls, sock: socket.socket, context: ssl.SSLContext, host: str,
                  timeout: float = HANDSHAKE_TIMEOUT) -> "TLSClientSocket":
        """Run the client handshake on ``sock`` within ``timeout`` seconds in all.

        Raises:
            ssl.SSLError / ssl.SSLCertVerificationError: the handshake failed.
            connection.ConnectError: the server answered in plaintext chat frames.
            socket.timeout, OSError: the network failed or the server was too slow.
        """
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        tls = context.wrap_bio(incoming, outgoing, server_side=False, server_hostname=host)
        wrapped = cls(sock, tls, incoming, outgoing)
        previous_timeout = sock.gettimeout()
        deadline = time.monotonic() + timeout
        first_bytes = b""
        while True:
            try:
                tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                pass
            except ssl.SSLError:
                if _CHAT_FRAME_START.match(first_bytes):
                    raise _not_tls_error(host, sock) from None
                raise
            wrapped._send_outgoing()
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout(f"TLS handshake with {host} took over {timeout:g} s")
            sock.settimeout(left)
            raw = sock.recv(RECV_BYTES)
            if not raw:
                if _CHAT_FRAME_START.match(first_bytes):
                    raise _not_tls_error(host, sock)
                raise ssl.SSLEOFError(ssl.SSL_ERROR_EOF,
                                      "the server closed the connection during the TLS handshake")
            if len(first_bytes) < 64:
                first_bytes += raw[:64 - len(first_bytes)]
            incoming.write(raw)
        wrapped._send_outgoing()
        sock.settimeout(previous_timeout)
        der = tls.getpeercert(binary_form=True)
        wrapped.fingerprint = fingerprint(der) if der else None
        return wrapped

    def _send_outgoing(self) -> None:
        # Used by the handshake only (one thread, no locks needed yet).
        data = self._outgoing.read()
        if data:
            self._sock.sendall(data)

    def _decrypt_available(self) -> bool:
        """Decrypt what the incoming BIO holds (``_lock`` held); True if replies wait."""
        while not self._eof:
            try:
                chunk = self._tls.read(RECV_BYTES)
            except ssl.SSLWantReadError:
                break
            except ssl.SSLZeroReturnError:
                self._eof = True
                break
            if not chunk:
                break
            self._plain += chunk
        return self._outgoing.pending > 0

    def _flush_replies(self) -> None:
        # Records a read produced (a TLS 1.3 key update answer, an alert): rare.
        with self._wire_lock:
            with self._lock:
                data = self._outgoing.read()
            if data:
                self._sock.sendall(data)

    # the socket interface ChatConnection uses
    def sendall(self, data: bytes) -> None:
        """Encrypt and send all of ``data`` (raises ``OSError`` like a socket)."""
        with self._wire_lock:
            with self._lock:
                self._tls.write(data)
                records = self._outgoing.read()
            self._sock.sendall(records)

    def send(self, data: bytes) -> int:
        self.sendall(data)
        return len(data)

    def pending(self) -> int:
        """Decrypted bytes ``recv`` can return without waiting for the network.

        Like ``SSLSocket.pending``: ``select`` on the socket cannot see them. Non-zero
        also after the server's close_notify, when ``recv`` returns b"" at once.
        """
        with self._lock:
            replies = self._decrypt_available()
            available = len(self._plain) or int(self._eof)
        if replies:
            self._flush_replies()
        return available

    def recv(self, size: int) -> bytes:
        """Up to ``size`` decrypted bytes; b"" at end of stream; ``socket.timeout`` as set."""
        while True:
            with self._lock:
                replies = self._decrypt_available()
                data = bytes(self._plain[:size])
                del self._plain[:size]
                eof = self._eof
            if replies:
                self._flush_replies()
            if data:
                return data
            if eof:
                return b""
            raw = self._sock.recv(RECV_BYTES)  # outside the locks: senders go on meanwhile
            if not raw:
                return b""
            with self._lock:
                self._incoming.write(raw)

    def settimeout(self, timeout: Optional[float]) -> None:
        self._sock.settimeout(timeout)

    def gettimeout(self) -> Optional[float]:
        return self._sock.gettimeout()

    def shutdown(self, how: int) -> None:
        self._sock.shutdown(how)

    def close(self) -> None:
        self._sock.close()

    def fileno(self) -> int:
        return self._sock.fileno()

    def getpeername(self):
        return self._sock.getpeername()

    def getsockname(self):
        return self._sock.getsockname()

    def getpeercert(self, binary_form: bool = False):
        return self._tls.getpeercert(binary_form)

    def version(self) -> Optional[str]:
        return self._tls.version()

    def cipher(self):
        return self._tls.cipher()

    def __enter__(self) -> "TLSClientSocket":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _connect_error(message: str) -> Exception:
    return ConnectError(message)


def _not_tls_error(host: str, sock: socket.socket) -> Exception:
    try:
        where = server_key(host, sock.getpeername()[1])
    except OSError:
        where = host
    return _connect_error(
        f"{where} answered without TLS: this chat server does not use TLS. Connect without "
        "--tls, or ask whoever runs it to start it with --tls-self-signed or --tls-cert.")


def client_context(cafile: Optional[str] = None) -> ssl.SSLContext:
    """The client's context: real verification with ``cafile``, else none (for TOFU).

    Raises:
        ConnectError: the CA file cannot be read or holds no certificate.
    """
    if cafile:
        try:
            context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=cafile)
        except (OSError, ssl.SSLError) as exc:
            why = getattr(exc, "strerror", None) or getattr(exc, "reason", None) or exc
            raise ConnectError(f"The CA file {cafile} cannot be used ({why}). Give the server's "
                               "certificate or its CA, as a PEM file.") from None
    else:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # the pin below is the check
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


class ClientWrapper:
    """``wrap_socket`` for ``ChatConnection``: ``wrapper(sock, host) -> TLSClientSocket``.

    With ``cafile`` the server's chain and host name are verified. Without it the
    server certificate's fingerprint is pinned per ``host:port`` (trust on first use).
    With ``advertised`` (the fingerprint the server announced on the LAN, PROTOCOL.md
    section 10 ``fp``, or one the user was told) the first use pins only a certificate
    that has that fingerprint; another is refused and nothing is pinned. Once a pin
    exists, the pin alone decides.

    Attributes:
        last_fingerprint: the fingerprint seen on the latest handshake.
        new_pin: ``(server, fingerprint)`` if the latest handshake pinned a new server.
        on_new_pin: optional ``callable(server, fingerprint)`` called when that happens
            (from the connection's thread), e.g. to print
            ``* new server certificate for host:port, fingerprint ..., pinned``.
        pins: the ``PinStore`` (its ``path`` is the file).
    """

    def __init__(self, cafile: Optional[str] = None, pins_path: Optional[str] = None,
                 timeout: float = HANDSHAKE_TIMEOUT,
                 on_new_pin: Optional[Callable[[str, str], None]] = None,
                 advertised: Optional[str] = None):
        self.cafile = cafile
        self.advertised = advertised
        self.context = client_context(cafile)
        self.pins = PinStore(pins_path)
        self.timeout = timeout
        self.on_new_pin = on_new_pin
        self.last_fingerprint: Optional[str] = None
        self.new_pin: Optional[Tuple[str, str]] = None

    def __call__(self, sock: socket.socket, host: str) -> TLSClientSocket:
        port = sock.getpeername()[1]
        where = server_key(host, port)
        self.new_pin = None
        wrapped = TLSClientSocket.handshake(sock, self.context, host, self.timeout)
        seen = wrapped.fingerprint
        self.last_fingerprint = seen
        if self.cafile:
            log.info("TLS to %s verified with %s (%s)", where, self.cafile, wrapped.version())
            return wrapped
        try:
            pinned = self.pins.get(where)
        except ValueError as exc:
            raise _connect_error(str(exc)) from None
        if pinned is None:
            if self.advertised and not same_fingerprint(seen, self.advertised):
                log.error("certificate of %s is not the advertised one: advertised %s, got %s",
                          where, self.advertised, seen)
                raise _connect_error(not_advertised_message(where, self.advertised, seen))
            try:
                self.pins.pin(where, seen)
            except OSError as exc:
                log.warning("could not pin %s in %s: %s", where, self.pins.path, exc)
            log.info("new server certificate for %s, fingerprint %s, pinned in %s",
                     where, seen, self.pins.path)
            self.new_pin = (where, seen)
            if self.on_new_pin is not None:
                self.on_new_pin(where, seen)
        elif pinned != seen:
            log.error("certificate of %s changed: pinned %s, now %s", where, pinned, seen)
            raise _connect_error(mismatch_message(where, pinned, seen, self.pins.path))
        return wrapped


def mismatch_message(where: str, pinned: str, seen: str, pins_path: str) -> str:
    """The loud refusal shown when a pinned server presents another certificate."""
    return (f"WARNING: THE SERVER CERTIFICATE OF {where} HAS CHANGED. Refusing to connect. "
            f"Someone may be intercepting the connection (a man-in-the-middle attack), or the "
            f"server got a new certificate. Pinned fingerprint: {pinned}. "
            f"Fingerprint now: {seen}. Ask whoever runs the server which fingerprint it "
            f"printed at start. Only if the certificate was really replaced, remove the line "
            f"for \"{where}\" from {pins_path} (or run: python -m lanchat.tls --forget {where}) "
            f"and connect again.")


def not_advertised_message(where: str, advertised: str, seen: str) -> str:
    """The loud refusal when a first connection's certificate is not the advertised one."""
    return (f"WARNING: THE SERVER AT {where} SHOWED A CERTIFICATE THAT IS NOT THE ONE "
            f"ADVERTISED ON THE NETWORK. Refusing to connect; nothing was pinned. Someone "
            f"may be intercepting the connection (a man-in-the-middle attack), or another "
            f"program answers at that address. Advertised fingerprint: {advertised}. "
            f"Fingerprint shown: {seen}. Ask whoever runs the server which fingerprint it "
            f"printed at start.")


def client_wrapper(cafile: Optional[str] = None, pins_path: Optional[str] = None,
                   timeout: float = HANDSHAKE_TIMEOUT,
                   on_new_pin: Optional[Callable[[str, str], None]] = None,
                   advertised: Optional[str] = None) -> ClientWrapper:
    """A ``wrap_socket`` callable for ``ChatConnection`` (see ``ClientWrapper``).

    Args:
        cafile: CA bundle or the server's own certificate, for real verification.
        pins_path: the pin file (default ``default_pins_path()``); ignored with cafile.
        timeout: seconds the whole handshake may take.
        on_new_pin: called with (server, fingerprint) when a server is pinned first.
        advertised: the fingerprint the server advertised; a first use pins only it.
    """
    return ClientWrapper(cafile=cafile, pins_path=pins_path, timeout=timeout,
                         on_new_pin=on_new_pin, advertised=advertised)
