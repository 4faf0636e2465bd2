"""python-zeroconf's log as sentences: its network errors without their tracebacks.

zeroconf logs a send that fails (no route to the multicast group, an interface gone)
as a warning with the traceback attached, the first time each. The chat's rule is that
people see sentences, never tracebacks, so ``quiet_tracebacks`` installs a filter on
the ``zeroconf`` logger that keeps the message, adds the exception's one-line text,
and drops the traceback. Installing it again does nothing.
"""

from __future__ import annotations

import logging

ZEROCONF_LOGGER = "zeroconf"


class _NoTraceback(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            record.msg = f"multicast DNS: {record.getMessage()} ({record.exc_info[1]})"
            record.args = None
        record.exc_info = None
        record.exc_text = None
        return True


_FILTER = _NoTraceback()


def quiet_tracebacks() -> None:
    """Strip tracebacks from zeroconf's log records (idempotent)."""
    logger = logging.getLogger(ZEROCONF_LOGGER)
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)
