"""This machine's addresses as other machines on the LAN see them (no traffic sent)."""

from __future__ import annotations

import ipaddress
import socket

import ifaddr  # python-zeroconf's dependency: interfaces with their netmasks, everywhere


def is_loopback(ip: str) -> bool:
    """True for 127.0.0.0/8 and ::1 (also as text that does not parse: False)."""
    if ip.startswith("127.") or ip == "::1":  # the common case, without parsing
        return True
    try:
        return ipaddress.ip_address(ip).is_loopback
    except ValueError:
        return False


def lan_addresses() -> list:
    """IPv4 addresses of this machine that other machines could reach (no traffic sent)."""
    found = []
    try:
        import fcntl  # POSIX only; elsewhere the host name's addresses below
        import struct
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            for _, ifname in socket.if_nameindex():
                try:
                    packed = fcntl.ioctl(probe.fileno(), 0x8915,  # SIOCGIFADDR
                                         struct.pack("256s", ifname[:15].encode()))
                except OSError:
                    continue
                found.append(socket.inet_ntoa(packed[20:24]))
        finally:
            probe.close()
    except (ImportError, OSError, AttributeError):
        pass
    if not found:
        try:
            found = [info[4][0] for info in socket.getaddrinfo(socket.gethostname(), None,
                                                               socket.AF_INET)]
        except OSError:
            found = []
    lan = sorted({ip for ip in found if not is_loopback(ip)})
    return lan or ["127.0.0.1"]


def ipv4_interfaces() -> list:
    """This machine's IPv4 interfaces other than loopback, as ``ipaddress.IPv4Interface``
    (address and network: a discovery probe goes to each network's broadcast address)."""
    found = set()
    try:
        adapters = ifaddr.get_adapters()
    except OSError:
        return []
    for adapter in adapters:
        for ip in adapter.ips:
            if isinstance(ip.ip, str) and not is_loopback(ip.ip):
                try:
                    found.add(ipaddress.IPv4Interface(f"{ip.ip}/{ip.network_prefix}"))
                except ValueError:
                    continue
    return sorted(found)
