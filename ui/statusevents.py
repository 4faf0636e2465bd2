"""The connection-status events of the view model (``ChatLog`` inherits them): they
change only the status bar's ``Status``, never the entries; no pygame."""

from __future__ import annotations

import time


class StatusEvents:
    """``_on_<type>`` handlers for connecting, reconnecting, failures and round trips;
    the class using it provides ``status`` and ``_set_status``."""

    def _on_connecting(self, event):
        self._set_status(state="connecting", host=event.get("host", ""),
                         port=event.get("port", 0), reason="")
        return True

    def _on_reconnecting(self, event):
        delay = event.get("delay")
        self._set_status(state="reconnecting", reason=event.get("reason", ""),
                         retry_in=delay, attempt=event.get("attempt"),
                         retry_at=None if delay is None else time.monotonic() + delay)
        return True

    def _on_connect_failed(self, event):
        self._set_status(state="failed", reason=event.get("reason", ""))
        return True

    def _on_closed(self, event):
        if self.status.state == "connected":
            self._set_status(state="disconnected", reason="closed")
        return True

    def _on_pong(self, event):
        if event.get("rtt") is not None:
            self._set_status(rtt=event["rtt"])
        return event.get("rtt") is not None
