"""The chat's own package: everything but the entry points and the wire format.

    lanchat/server/   the server: listener, handler, room, delivery, journal, send queue
    lanchat/client/   the client library (ChatConnection), its flags, the terminal mode
    lanchat/tls/      server certificates, the client's pins and TLS socket
    lanchat/errors.py every exception the package raises
    lanchat/eventtext.py  events as readable lines (plain clients, the terminal)
    lanchat/netaddr.py    this machine's LAN addresses

The entry points (``server.py``, ``client.py``), the wire format (``protocol.py``) and
the window (``ui/``) stay at the root. docs/architecture.md draws how a line travels.
"""
