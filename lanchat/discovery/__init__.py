"""Finding chat servers on the LAN (PROTOCOL.md section 10): what a server found is
(``found``), how a server makes itself findable and how a client looks."""
