"""Every byte of the two discovery formats (PROTOCOL.md section 10), both ways, no I/O.

A server says the same things both ways: as DNS-SD TXT properties for multicast DNS
(``txt_properties`` / ``found_from_txt``) and as the JSON reply to the UDP probe
``LANCHAT? 2`` (``probe_reply`` / ``parse_reply``). Both parsers are strict and
raise ``BadAnnouncement`` and nothing else: whatever arrives on a LAN is untrusted,
and one odd datagram must never reach the list a person picks a server from.

Decisions the contract leaves open (docs/protocol.md, "Discovery"):

* The probe is exactly ``LANCHAT? 2``; one trailing ``\\n`` or ``\\r\\n`` is tolerated
  (``echo`` and ``nc`` add one), anything else is not a probe and gets no answer.
* ``fp`` is the certificate's SHA-256 as 64 lowercase hex digits, on the wire and in
  ``Found`` (``lanchat.tls.pins`` turns it into the pin file's ``SHA256:AB:CD:...``
  form and back: ``pin_form``, ``fingerprint_hex``).
* A name is 1 to 63 bytes of UTF-8 without control characters: 63 is the longest
  DNS label, so the same name fits both ways.
* Unknown JSON keys and TXT keys are ignored (a later version may add some); ``v``
  must be a whole number from 2 up (version 1 had no discovery).
"""

from __future__ import annotations

import json
import re
from typing import Optional

from lanchat.discovery.found import MDNS, PROBE, Found
from lanchat.errors import BadAnnouncement

SERVICE_TYPE = "_lanchat._tcp.local."  # the DNS-SD service type
VERSION = 2                            # the protocol version servers announce
PROBE_REQUEST = b"LANCHAT? 2"
MAX_NAME_BYTES = 63    # the longest DNS label; an instance name is one
MAX_REPLY_BYTES = 512  # a reply is under 300; anything bigger is not one of ours
MAX_USERS = 10 ** 6    # more than any LAN chat; bigger numbers are nonsense
_PROBES = (PROBE_REQUEST, PROBE_REQUEST + b"\n", PROBE_REQUEST + b"\r\n")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_DIGITS = re.compile(r"[0-9]{1,7}")  # int() would take "+1", " 1", "1_0"
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


# ------------------------------------------------------------------ the probe

def is_probe(datagram: bytes) -> bool:
    """True for ``LANCHAT? 2`` (with at most one trailing newline), False for anything else."""
    return datagram in _PROBES


def probe_reply(found: Found) -> bytes:
    """The JSON reply to a probe: ``found``'s name, port, users, tls, pw, fp and v
    (its ``host`` and ``via`` are the receiver's business), compact UTF-8."""
    reply = {"name": found.name, "port": found.port, "users": found.users,
             "tls": found.tls, "pw": found.pw, "fp": found.fp, "v": found.v}
    return json.dumps(reply, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def parse_reply(datagram: bytes, host: str) -> Found:
    """The ``Found`` a probe reply from ``host`` describes.

    Raises:
        BadAnnouncement: anything but a section 10 object with valid values.
    """
    if len(datagram) > MAX_REPLY_BYTES:
        raise BadAnnouncement(f"a reply of {len(datagram)} bytes is too big")
    try:
        reply = json.loads(datagram.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise BadAnnouncement("the reply is not JSON text") from None
    if not isinstance(reply, dict):
        raise BadAnnouncement("the reply is not a JSON object")
    fp = reply.get("fp")
    if fp is not None and not isinstance(fp, str):
        raise BadAnnouncement("fp is not text")
    return Found(name=valid_name(reply.get("name")), host=host,
                 port=_whole(reply.get("port"), "port", 1, 65535),
                 users=_whole(reply.get("users"), "users", 0, MAX_USERS),
                 tls=_flag(reply.get("tls"), "tls"), pw=_flag(reply.get("pw"), "pw"),
                 fp=valid_fp(fp), v=_whole(reply.get("v"), "v", VERSION, MAX_USERS),
                 via=frozenset({PROBE}))


# ------------------------------------------------------------------ the TXT record

def txt_properties(found: Found) -> dict:
    """The TXT properties of a server's DNS-SD record (``fp`` only when there is one)."""
    properties = {b"v": str(found.v).encode(), b"users": str(found.users).encode(),
                  b"tls": b"1" if found.tls else b"0", b"pw": b"1" if found.pw else b"0"}
    if found.fp:
        properties[b"fp"] = found.fp.encode("ascii")
    return properties


def found_from_txt(properties: dict, instance: str, host: str, port: int) -> Found:
    """The ``Found`` of a DNS-SD service: its TXT ``properties`` (bytes keys, bytes or
    None values, as python-zeroconf gives them), its instance name, address and port.

    Raises:
        BadAnnouncement: a missing or invalid key, a bad name or port.
    """
    def text(key: bytes) -> Optional[str]:
        value = properties.get(key)
        if value is None:
            return None
        try:
            return value.decode("ascii")
        except (UnicodeDecodeError, AttributeError):
            raise BadAnnouncement(f"TXT {key.decode()} is not ASCII text") from None

    return Found(name=valid_name(instance), host=host,
                 port=_whole(port, "port", 1, 65535),
                 users=_txt_whole(text(b"users"), "users", 0, MAX_USERS),
                 tls=_txt_flag(text(b"tls"), "tls"), pw=_txt_flag(text(b"pw"), "pw"),
                 fp=valid_fp(text(b"fp")), v=_txt_whole(text(b"v"), "v", VERSION, MAX_USERS),
                 via=frozenset({MDNS}))


def instance_of(service_name: str) -> str:
    """The instance name in a full DNS-SD name (``Room 4 chat._lanchat._tcp.local.``).

    Raises:
        BadAnnouncement: a name of another service type.
    """
    suffix = "." + SERVICE_TYPE
    if not service_name.endswith(suffix):
        raise BadAnnouncement(f"{service_name!r} is not a {SERVICE_TYPE} name")
    return service_name[:-len(suffix)]


# ------------------------------------------------------------------ fields

def valid_name(name: object) -> str:
    """``name`` if it is 1 to 63 bytes of UTF-8 text without control characters.

    Raises:
        BadAnnouncement: anything else.
    """
    if not isinstance(name, str) or not name.strip():
        raise BadAnnouncement("the name is missing or blank")
    try:
        size = len(name.encode("utf-8"))
    except UnicodeEncodeError:  # a lone surrogate from JSON's \\ud800
        raise BadAnnouncement("the name is not valid Unicode") from None
    if size > MAX_NAME_BYTES:
        raise BadAnnouncement(f"the name is {size} bytes, more than {MAX_NAME_BYTES}")
    if _CONTROL.search(name):
        raise BadAnnouncement("the name has control characters")
    return name


def valid_fp(fp: Optional[str]) -> Optional[str]:
    """``fp`` in lowercase if it is 64 hex digits, None for None.

    Raises:
        BadAnnouncement: anything else.
    """
    if fp is None:
        return None
    if not _HEX64.fullmatch(fp.lower()) or not fp.isascii():
        raise BadAnnouncement("fp is not 64 hex digits")
    return fp.lower()


def _whole(value: object, what: str, low: int, high: int) -> int:
    if type(value) is not int or not low <= value <= high:  # bool is not a number here
        raise BadAnnouncement(f"{what} is not a whole number from {low} to {high}")
    return value


def _flag(value: object, what: str) -> bool:
    if type(value) is not bool:
        raise BadAnnouncement(f"{what} is not true or false")
    return value


def _txt_whole(text: Optional[str], what: str, low: int, high: int) -> int:
    if text is None or not _DIGITS.fullmatch(text):
        raise BadAnnouncement(f"TXT {what} is not a whole number")
    return _whole(int(text), what, low, high)


def _txt_flag(text: Optional[str], what: str) -> bool:
    if text not in ("0", "1"):
        raise BadAnnouncement(f"TXT {what} is not 0 or 1")
    return text == "1"
