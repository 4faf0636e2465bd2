"""``python -m lanchat.tls``: list or forget pinned servers, print a certificate's fingerprint."""

from __future__ import annotations

import argparse
import sys
from typing import Optional

from lanchat.tls.certificates import file_fingerprint
from lanchat.tls.pins import PinStore, default_pins_path


def main(argv: Optional[list] = None) -> int:
    """``python -m lanchat.tls --forget HOST:PORT`` or ``--show CERTFILE`` (a maintenance CLI)."""
    parser = argparse.ArgumentParser(prog="python -m lanchat.tls",
                                     description="LAN chat TLS helpers.")
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--forget", metavar="HOST:PORT", help="drop the pinned certificate of a server")
    group.add_argument("--show", metavar="CERTFILE", help="print a certificate's fingerprint")
    group.add_argument("--list", action="store_true", help="list the pinned servers")
    parser.add_argument("--pins", help="the pin file (default: %s)" % default_pins_path())
    args = parser.parse_args(argv)
    if args.show:
        print(file_fingerprint(args.show))
        return 0
    store = PinStore(args.pins)
    if args.list:
        pins = sorted(store.load().items())
        for key, fp in pins:
            print(f"{key} {fp}")
        if not pins:
            print(f"no pinned servers yet (they go in {store.path})")
        return 0
    if store.forget(args.forget):
        print(f"forgot the certificate of {args.forget} (in {store.path})")
        return 0
    print(f"{args.forget} is not pinned in {store.path}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
