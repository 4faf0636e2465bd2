"""Chat client: a Pygame window by default, or a terminal with ``--cli``.

    python client.py                                   # connect screen
    python client.py --host 192.168.1.20 --name alice  # window, connected
    python client.py --cli --host 127.0.0.1 --name bob # terminal: stdin lines are sent
    python client.py --discover [--json]              # the chats on this network

This file is the command line only: the flags (``lanchat/client/options.py``) pick the
terminal mode (``lanchat/client/terminal.py``) or the window (``ui/app.py``); both use
``lanchat.client.connection.ChatConnection`` for the network. Mistakes are caught here,
before anything connects: a port outside 1-65535 is a usage error (exit 2), and the
window on a machine without a display says so and exits 1 instead of joining the
room invisibly.
"""

from __future__ import annotations

import argparse
import sys
from typing import Optional

from lanchat.client.options import build_parser
from lanchat.client.terminal import run_cli
from lanchat.discovery.listing import run_discover
from ui.launch import run_gui
from ui.displaycheck import window_problem

PORT_RANGE = (1, 65535)


def parse_args(argv: Optional[list] = None) -> argparse.Namespace:
    """The parsed command line; a bad value exits with a usage error (status 2)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.port is not None and not PORT_RANGE[0] <= args.port <= PORT_RANGE[1]:
        parser.error(f"argument --port: {args.port} is not a port: use a number "
                     f"from {PORT_RANGE[0]} to {PORT_RANGE[1]}")
    if args.json and not args.discover:
        parser.error("--json goes with --discover (it prints the servers found as JSON)")
    return args


def main(argv: Optional[list] = None) -> int:
    """Run the terminal client or the window; returns the exit status."""
    args = parse_args(argv)
    if args.discover:
        return run_discover(args.port, args.json, sys.stdout, sys.stderr)
    if args.cli:
        return run_cli(args)
    problem = window_problem()
    if problem:
        print(problem, file=sys.stderr)
        return 1
    return run_gui(args)


if __name__ == "__main__":
    sys.exit(main())
