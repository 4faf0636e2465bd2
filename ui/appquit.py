"""Quitting the window: at once, or after asking while lines are still "sending…".

``App`` inherits ``QuitFlow`` (a mixin, like the connection's ``InboundDispatch``): it
uses the app's ``log``, ``chat``, ``size``, ``fonts``, ``quit_dialog`` and
``_quit_reason``, and ends with ``quit``, which stops the loop and closes the
connection. The dialog itself is ``ui/quitdialog.py``.
"""

from __future__ import annotations

from ui.quitdialog import QUIT, WAIT, QuitDialog


class QuitFlow:
    """``request_quit``, the dialog's answer, and ``quit`` (a mixin of ``App``)."""

    def request_quit(self, reason: str = "bye") -> None:
        """Quit, but first ask if some of your lines are still waiting for the server."""
        pending = self.log.pending_count if self.chat is not None else 0
        if not pending:
            self.quit(reason)
            return
        self._quit_reason = reason
        online = self.log.status.state == "connected"
        self.quit_dialog = QuitDialog(self.size, self.fonts, pending, online=online)

    def _settle_quit(self) -> None:
        """The dialog's answer, or the acks that make it moot."""
        dialog = self.quit_dialog
        choice = dialog.take_choice()
        dialog.set_pending(self.log.pending_count, online=self.log.status.state == "connected")
        if choice == QUIT or self.log.pending_count == 0:
            self.quit(self._quit_reason)
        elif choice == WAIT:
            self.quit_dialog = None
            self.chat.dirty = True

    def quit(self, reason: str = "bye") -> None:
        """Send ``bye``, join the connection thread, stop the loop."""
        self.running = False
        self._close_connection(reason)
