"""The server's TLS certificates: fingerprints, contexts, and the self-signed pair.

A LAN server rarely has a certificate from a public CA, so ``--tls-self-signed`` makes
one (with ``cryptography``) beside the history database the first time and reuses it
afterwards: its fingerprint stays the same across restarts, which is what lets clients
pin it (``lanchat.tls.pins``).
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import logging
import os
import re
import socket
import ssl
import tempfile
from typing import Callable, Iterable, Optional, Tuple, Union

from lanchat.netaddr import lan_addresses

log = logging.getLogger("chat.tls")

CERT_FILE = "chat-tls-cert.pem"  # names of the self-signed pair beside the database
KEY_FILE = "chat-tls-key.pem"
CERT_VALID_DAYS = 3650           # about ten years: pinned clients never see it expire

_PEM_CERT = re.compile(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.S)


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
        addresses = lan_addresses()
    cert_pem, key_pem = _make_self_signed(list(addresses))
    os.makedirs(directory, exist_ok=True)
    write_atomically(keyfile, key_pem, mode=0o600)
    write_atomically(certfile, cert_pem, mode=0o644)
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


def write_atomically(path: str, data: bytes, mode: int) -> None:
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
