"""``python client.py --discover``: the chat servers on this network, printed.

One line per server (``--json``: a JSON array of ``Found.as_json()`` objects), exit 0;
none found within ``DISCOVER_SECONDS``: exit 1 and, on stderr, a sentence saying what
to check, since a person reading it usually has one of the common reasons in front of
them (another network, a firewall, Wi-Fi client isolation).
"""

from __future__ import annotations

import json
from typing import TextIO

import protocol
from lanchat.discovery.browse import discover, probe_hosts_from_env
from lanchat.discovery.found import MDNS, PROBE, Found

DISCOVER_SECONDS = 2.0


def describe(found: Found) -> str:
    """One server as a line: name, address, people, TLS and password, and how found."""
    people = f"{found.users} {'person' if found.users == 1 else 'people'}"
    extras = (["TLS"] if found.tls else []) + (["password"] if found.pw else [])
    how = " and ".join(name for way, name in ((MDNS, "mDNS"), (PROBE, "probe"))
                       if way in found.via)
    return (f"{found.name}  {found.host}:{found.port}  {people}"
            + "".join(f"  {extra}" for extra in extras) + f"  (found by {how})")


def none_found(port: int) -> str:
    """The sentence for an empty result: what to check, with the port to open."""
    return (f"No chat server answered within {DISCOVER_SECONDS:g} seconds. Check that this "
            f"machine is on the same network as the server, that the server's firewall "
            f"allows TCP and UDP {port} and UDP 5353 (mDNS), and that the Wi-Fi does not "
            f"isolate its clients from each other; or connect with --host ADDRESS.")


def run_discover(port: int, as_json: bool, out: TextIO, err: TextIO) -> int:
    """Look for servers for ``DISCOVER_SECONDS`` and print them; returns the exit status.

    Args:
        port: the probe's UDP port (the servers' chat port).
        as_json: print a JSON array instead of lines.
        out, err: where the list and the none-found sentence go.
    """
    port = port or protocol.DEFAULT_PORT
    servers = discover(DISCOVER_SECONDS, port=port, probe_hosts=probe_hosts_from_env())
    if as_json:
        print(json.dumps([found.as_json() for found in servers], ensure_ascii=False), file=out)
    else:
        for found in servers:
            print(describe(found), file=out)
    if not servers:
        print(none_found(port), file=err)
        return 1
    return 0
