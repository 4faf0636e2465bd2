"""TLS for the chat: server certificates, and the client's verified or pinned handshake.

Why it is built this way:

* A LAN server rarely has a certificate from a public CA, so ``--tls-self-signed``
  makes one (with ``cryptography``) beside the history database the first time and
  reuses it afterwards: its fingerprint stays the same across restarts, which is what
  lets clients pin it.
* Clients either verify for real (``--cafile``: chain and host name), or trust on first
  use like SSH: the first connection to ``host:port`` records the certificate's SHA-256
  fingerprint in ``known_servers.json`` in the user's config directory, and a later
  different fingerprint refuses to connect with a loud message. TOFU does not protect
  the very first connection; SECURITY.md says so.
* The client socket is ``TLSClientSocket``, TLS over ``ssl.MemoryBIO`` like the
  server's ``transport.TLSTransport``, not an ``ssl.SSLSocket``. ``ChatConnection``
  reads on its own thread while other threads send, and OpenSSL forbids ``SSL_read``
  and ``SSL_write`` on one ``SSL`` object at the same time (``SSLSocket`` has no lock
  of its own). Here one lock guards the ``SSLObject``, and the blocking socket reads
  happen outside it, so a send never waits for a read. ``SSLSocket.shutdown`` also
  drops the TLS layer, so a reader still draining after ``shutdown(SHUT_WR)`` would
  see ciphertext; ``TLSClientSocket.shutdown`` keeps it.

Run ``python tls.py --forget HOST:PORT`` to drop one pin (after a server's certificate
was really replaced), or ``python tls.py --show CERTFILE`` to print a fingerprint.
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import json
import logging
import os
import re
import socket
import ssl
import sys
import tempfile
import threading
import time
from typing import Callable, Iterable, Optional, Tuple, Union

log = logging.getLogger("chat.tls")

HANDSHAKE_TIMEOUT = 10.0        # seconds the client's TLS handshake may take in all
CERT_FILE = "chat-tls-cert.pem"  # names of the self-signed pair beside the database
KEY_FILE = "chat-tls-key.pem"
CERT_VALID_DAYS = 3650           # about ten years: pinned clients never see it expire
PINS_DIR = "lanchat"             # subdirectory of the user's config directory
PINS_FILE = "known_servers.json"
RECV_BYTES = 65536

_PEM_CERT = re.compile(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.S)
_CHAT_FRAME_START = re.compile(rb"^[0-9]+ ")  # a plaintext chat frame header begins so


# ------------------------------------------------------------------ certificates

def fingerprint(cert: Union[bytes, str]) -> str:
    """The SHA-256 fingerprint of a certificate, as ``SHA256:AB:CD:...`` (OpenSSH style).

    Args:
        cert: DER bytes, or PEM text/bytes (the first certificate in it counts).

    Raises:
        ValueError: PEM input that holds no certificate.
    """
    if isinstance(cert, str):
        cert = cert.encode("ascii")
    if b"-----BEGIN" in cert:
        match = _PEM_CERT.search(cert)
        if match is None:
            raise ValueError("no certificate found in the PEM data")
        cert = ssl.PEM_cert_to_DER_cert(match.group(0).decode("ascii"))
    digest = hashlib.sha256(cert).hexdigest().upper()
    return "SHA256:" + ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def file_fingerprint(certfile: str) -> str:
    """The fingerprint (see ``fingerprint``) of the first certificate in a PEM file."""
    with open(certfile, "rb") as f:
        return fingerprint(f.read())


def server_context(certfile: str, keyfile: Optional[str] = None) -> ssl.SSLContext:
    """A server-side context speaking TLS 1.2 or newer with the given certificate.

    Args:
        certfile: PEM certificate (chain); it may also hold the key.
        keyfile: PEM private key, or None if it is in ``certfile``.

    Raises:
        ValueError: a readable sentence when a file is missing or the pair is unusable.
    """
    for path in (certfile, keyfile):
        if path and not os.path.isfile(path):
            raise ValueError(f"TLS file not found: {path}")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(certfile, keyfile)
    except ssl.SSLError as exc:  # before OSError: SSLError is one
        if exc.reason == "KEY_VALUES_MISMATCH":
            why = "the key does not belong to this certificate"
        elif "PEM lib" in str(exc):
            why = "no usable certificate or private key found"
        else:
            why = exc.reason or str(exc)
        hint = "" if keyfile else " (is the key in another file? give it with --tls-key)"
        raise ValueError(f"cannot use the TLS certificate {certfile} with the key in "
                         f"{keyfile or certfile}: {why}{hint}") from None
    except OSError as exc:
        raise ValueError(f"cannot read the TLS certificate or key: {exc.strerror or exc}") from None
    return context


def self_signed_directory(db: str) -> str:
    """Where ``--tls-self-signed`` keeps its pair: beside the database (cwd for :memory:)."""
    if not db or db == ":memory:" or db.startswith("file:"):
        return os.getcwd()
    return os.path.dirname(os.path.abspath(db))


def self_signed(directory: str, addresses: Optional[Iterable[str]] = None) -> Tuple[str, str]:
    """Return (certfile, keyfile) of this server's self-signed pair, making it only once.

    The pair is an EC P-256 key and a certificate valid for ten years whose subject
    alternative names are the host name, ``localhost``, 127.0.0.1 and the LAN addresses.
    Existing files are reused as they are, so the fingerprint stays the same.

    Args:
        directory: where the two PEM files live (created if missing).
        addresses: IP addresses for the certificate; default ``server.lan_addresses()``.
    """
    certfile = os.path.join(directory, CERT_FILE)
    keyfile = os.path.join(directory, KEY_FILE)
    if os.path.exists(certfile) and os.path.exists(keyfile):
        log.debug("reusing the self-signed certificate %s", certfile)
        return certfile, keyfile
    if os.path.exists(certfile) or os.path.exists(keyfile):
        log.warning("only one of %s and %s exists; making a new pair "
                    "(pinned clients will see a changed certificate)", certfile, keyfile)
    if addresses is None:
        from server import lan_addresses  # late: server imports this module too
        addresses = lan_addresses()
    cert_pem, key_pem = _make_self_signed(list(addresses))
    os.makedirs(directory, exist_ok=True)
    _write_atomically(keyfile, key_pem, mode=0o600)
    _write_atomically(certfile, cert_pem, mode=0o644)
    log.info("made a self-signed TLS certificate %s (key %s)", certfile, keyfile)
    return certfile, keyfile


def _make_self_signed(addresses: list) -> Tuple[bytes, bytes]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    hostname = socket.gethostname() or "localhost"
    names = [x509.DNSName(n) for n in dict.fromkeys([hostname, "localhost"])]
    ips = []
    for text in ["127.0.0.1", *addresses]:
        try:
            ip = ipaddress.ip_address(text)
        except ValueError:
            continue
        if ip not in ips:
            ips.append(ip)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"LAN chat on {hostname}"[:64])])
    now = datetime.datetime.now(datetime.timezone.utc)
    public = key.public_key()
    cert = (x509.CertificateBuilder()
            .subject_name(subject).issuer_name(subject)
            .public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=CERT_VALID_DAYS))
            .add_extension(x509.SubjectAlternativeName(
                names + [x509.IPAddress(ip) for ip in ips]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False,
                                         decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public),
                           critical=False)
            .sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def _write_atomically(path: str, data: bytes, mode: int) -> None:
    """Write via a temporary file in the same directory, created with ``mode``, then rename."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=directory)  # mkstemp: mode 0600
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def server_setup(certfile: Optional[str], keyfile: Optional[str], make_self_signed: bool,
                 db: str, addresses: Optional[Callable[[], Iterable[str]]] = None
                 ) -> Tuple[Optional[ssl.SSLContext], Optional[str], Optional[str]]:
    """Turn the server's TLS flags into (context, fingerprint, certfile); all None = no TLS.

    Args:
        certfile, keyfile: ``--tls-cert`` and ``--tls-key``.
        make_self_signed: ``--tls-self-signed``.
        db: ``--db``; the self-signed pair lives beside it.
        addresses: returns the LAN addresses for a new certificate (called only then).

    Raises:
        ValueError: a readable sentence for contradictory flags or unusable files.
    """
    if make_self_signed and (certfile or keyfile):
        raise ValueError("--tls-self-signed makes its own certificate: "
                         "give either it or --tls-cert/--tls-key, not both")
    if keyfile and not certfile:
        raise ValueError("--tls-key needs --tls-cert (the certificate that goes with the key)")
    if make_self_signed:
        try:
            certfile, keyfile = self_signed(self_signed_directory(db),
                                            addresses() if addresses else None)
        except OSError as exc:
            raise ValueError(f"cannot store the self-signed certificate: "
                             f"{exc.strerror or exc}") from None
    if not certfile:
        return None, None, None
    context = server_context(certfile, keyfile)
    return context, file_fingerprint(certfile), certfile


# ------------------------------------------------------------------ the client side

def default_pins_path() -> str:
    """``$XDG_CONFIG_HOME/lanchat/known_servers.json`` (``~/.config`` without XDG)."""
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(base, PINS_DIR, PINS_FILE)


def server_key(host: str, port: int) -> str:
    """How a server is named in the pin file: ``host:port`` (``[v6]:port`` for IPv6)."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class PinStore:
    """The ``host:port -> fingerprint`` map in a JSON file, one server per line.

    A person may edit it (the mismatch message says to delete a line), so loading
    forgives a trailing comma left behind. A file that still cannot be read is an
    error, never an empty store: silently forgetting pins would defeat them.
    """

    _lock = threading.Lock()  # one process's windows pin one at a time

    def __init__(self, path: Optional[str] = None):
        self.path = path or default_pins_path()

    def load(self) -> dict:
        """Every pin; raises ``ValueError`` (readable) if the file is corrupt."""
        try:
            with open(self.path, "r", encoding="utf-8") as f:
                text = f.read()
        except FileNotFoundError:
            return {}
        if not text.strip():
            return {}
        try:
            pins = json.loads(re.sub(r",\s*([}\]])", r"\1", text))
        except ValueError as exc:
            raise ValueError(f"the pinned-certificate file {self.path} is damaged ({exc}); "
                             "fix it or delete it (every server is then trusted anew "
                             "on its next connection)") from None
        if not isinstance(pins, dict):
            raise ValueError(f"the pinned-certificate file {self.path} is not a JSON object; "
                             "fix it or delete it")
        return {str(k): str(v) for k, v in pins.items()}

    def get(self, key: str) -> Optional[str]:
        return self.load().get(key)

    def pin(self, key: str, fp: str) -> None:
        """Record (or replace) one pin, atomically."""
        with self._lock:
            pins = self.load()
            pins[key] = fp
            self._save(pins)

    def forget(self, key: str) -> bool:
        """Drop one pin; True if there was one."""
        with self._lock:
            pins = self.load()
            if key not in pins:
                return False
            del pins[key]
            self._save(pins)
            return True

    def _save(self, pins: dict) -> None:
        os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        text = json.dumps(dict(sorted(pins.items())), indent=1) + "\n"
        _write_atomically(self.path, text.encode("utf-8"), mode=0o600)


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
    from connection import ConnectError  # late: keeps this module usable on its own
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
    """The client's context: real verification with ``cafile``, else none (for TOFU)."""
    if cafile:
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=cafile)
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
                 on_new_pin: Optional[Callable[[str, str], None]] = None):
        self.cafile = cafile
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
            f"for \"{where}\" from {pins_path} (or run: python tls.py --forget {where}) "
            f"and connect again.")


def client_wrapper(cafile: Optional[str] = None, pins_path: Optional[str] = None,
                   timeout: float = HANDSHAKE_TIMEOUT,
                   on_new_pin: Optional[Callable[[str, str], None]] = None) -> ClientWrapper:
    """A ``wrap_socket`` callable for ``ChatConnection`` (see ``ClientWrapper``).

    Args:
        cafile: CA bundle or the server's own certificate, for real verification.
        pins_path: the pin file (default ``default_pins_path()``); ignored with cafile.
        timeout: seconds the whole handshake may take.
        on_new_pin: called with (server, fingerprint) when a server is pinned first.
    """
    return ClientWrapper(cafile=cafile, pins_path=pins_path, timeout=timeout,
                         on_new_pin=on_new_pin)


def main(argv: Optional[list] = None) -> int:
    """``python tls.py --forget HOST:PORT`` or ``--show CERTFILE`` (a maintenance CLI)."""
    import argparse
    parser = argparse.ArgumentParser(description="LAN chat TLS helpers.")
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--forget", metavar="HOST:PORT", help="drop the pinned certificate of a server")
    group.add_argument("--show", metavar="CERTFILE", help="print a certificate's fingerprint")
    group.add_argument("--list", action="store_true", help="list the pinned servers")
    parser.add_argument("--pins", help="the pin file (default: %s)" % default_pins_path())
    args = parser.parse_args(argv)
    if args.show:
        print(file_fingerprint(args.show))
        return 0
    store = PinStore(args.pins)
    if args.list:
        for key, fp in sorted(store.load().items()):
            print(f"{key} {fp}")
        return 0
    if store.forget(args.forget):
        print(f"forgot the certificate of {args.forget} (in {store.path})")
        return 0
    print(f"{args.forget} is not pinned in {store.path}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
