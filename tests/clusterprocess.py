"""``python server.py --redis URL`` as a real process, for the group tests that kill
one (``kill -9``) or need its own CPU figures."""

from __future__ import annotations

import os
import queue
import re
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class GroupServer:
    """One server of a group; ``address`` once it listens."""

    def __init__(self, redis_url: str, *args: str, timeout: float = 10.0):
        self.proc = subprocess.Popen(
            [sys.executable, "server.py", "--host", "127.0.0.1", "--port", "0",
             "--redis", redis_url, "--no-advertise", "--log-level", "WARNING", *args],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.output: list = []
        self._lines: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        match = self.wait_line(r"listening on 127\.0\.0\.1:(\d+)", timeout)
        self.address = ("127.0.0.1", int(match.group(1)))

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.output.append(line)
            self._lines.put(line)

    def wait_line(self, pattern: str, timeout: float = 5.0):
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no line matching {pattern!r}; got {self.output}") from None
            match = re.search(pattern, line)
            if match:
                return match
            if time.monotonic() > deadline:
                raise AssertionError(f"no line matching {pattern!r}; got {self.output}")

    def kill(self) -> None:
        """``kill -9``: no goodbye, nothing flushed."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(5)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc.stdout.close()
