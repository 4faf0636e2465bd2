"""Run a discovery ``Browser`` and print its list as a JSON line whenever it changes.

Used by the namespace tests (``test_discovery_lan.py``) to watch from another
"machine": ``python tests/discovery_watch.py [--port N] [--probe-host H]``; each line
is ``[{...as_json(), "via": [...]}, ...]``. It stops when its standard input closes.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from lanchat.discovery.browse import Browser  # noqa: E402  (after the path above)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=5050)
    parser.add_argument("--probe-host", action="append", default=[])
    args = parser.parse_args()
    changed = threading.Event()
    browser = Browser(port=args.port, probe_hosts=args.probe_host, on_change=changed.set)
    browser.start()
    ended = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), ended.set()), daemon=True).start()
    print("[]", flush=True)
    while not ended.is_set():
        if changed.wait(0.1):
            changed.clear()
            listing = [{**found.as_json(), "via": sorted(found.via)} for found in browser.servers()]
            print(json.dumps(listing), flush=True)
    browser.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
