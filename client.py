"""Chat client: a Pygame window by default, or a terminal with ``--cli``.

    python client.py                                   # connect screen
    python client.py --host 192.168.1.20 --name alice  # window, connected
    python client.py --cli --host 127.0.0.1 --name bob # terminal: stdin lines are sent

This file is the command line only: the flags (``lanchat/client/options.py``) pick the
terminal mode (``lanchat/client/terminal.py``) or the window (``ui/app.py``); both use
``lanchat.client.connection.ChatConnection`` for the network.
"""

from __future__ import annotations

import sys
from typing import Optional

from lanchat.client.options import build_parser
from lanchat.client.terminal import run_cli
from ui.app import run_gui


def main(argv: Optional[list] = None) -> int:
    args = build_parser().parse_args(argv)
    if args.cli:
        return run_cli(args)
    return run_gui(args)


if __name__ == "__main__":
    sys.exit(main())
