"""TLS for the chat: the server's certificates, the client's pins and handshake.

``python -m lanchat.tls --forget HOST:PORT`` drops one pin (after a server's
certificate was really replaced), ``--show CERTFILE`` prints a fingerprint, ``--list``
lists the pinned servers.
"""

from lanchat.tls.certificates import (CERT_FILE, KEY_FILE, file_fingerprint, fingerprint,
                                      self_signed, self_signed_directory, server_context,
                                      server_setup)
from lanchat.tls.clientsocket import (HANDSHAKE_TIMEOUT, ClientWrapper, TLSClientSocket,
                                      client_context, client_wrapper, mismatch_message,
                                      not_advertised_message)
from lanchat.tls.pins import (PinStore, default_pins_path, fingerprint_hex, same_fingerprint,
                              server_key)

__all__ = ["CERT_FILE", "KEY_FILE", "file_fingerprint", "fingerprint", "self_signed",
           "self_signed_directory", "server_context", "server_setup", "HANDSHAKE_TIMEOUT",
           "ClientWrapper", "TLSClientSocket", "client_context", "client_wrapper",
           "mismatch_message", "not_advertised_message", "PinStore", "default_pins_path",
           "fingerprint_hex", "same_fingerprint", "server_key"]
