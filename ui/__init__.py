"""The Pygame side of the chat client.

``app`` runs the loop on the main thread; every other module is one widget (it owns a
``rect`` and has ``handle_event`` / ``update`` / ``draw``) or one piece those widgets
share: ``theme`` (colours, sizes, name colours), ``textfonts`` (fallback fonts,
rendering in runs), ``textorder`` (right-to-left lines in display order), ``wrapping``
(pixel-width line breaking), ``windowtext`` (the window's sentences for errors),
``displaycheck`` (is there a screen?), ``chatlog`` (the pygame-free view model).
Widgets never touch the network: they return what the user asked for and the screen
that owns them talks to the connection.
"""

import os as _os

# pygame prints a banner on import; a chat window's terminal should stay quiet.
_os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
