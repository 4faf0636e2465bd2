"""The tutorial dialects' wire formats (PROTOCOL.md section 2), sans-I/O like ``protocol``.

``detect`` tells from a connection's first bytes which kind it is; ``readers`` turn a
decided connection's bytes into bodies or lines; ``writers`` hold what each kind is
sent (every byte of a dialect's format is written there). Nothing here touches a
socket, a thread or a clock; the server's handler feeds and sends.
"""
