"""Requests aiohttp's HTTP parser refuses never put their bytes into the log.

aiohttp logs a request it cannot parse (a control byte in a header, a broken
request line) as an error with the offending line in the exception text, which
is an ``Authorization`` header with its token as often as not. The client
already had its 400; the log gets one warning line naming the kind of fault
and the peer, none of what was sent.
"""

from __future__ import annotations

import logging

from aiohttp.http_exceptions import HttpProcessingError

__all__ = ["install"]

_LOGGER = "aiohttp.server"


class _RefusedRequests(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, HttpProcessingError):
            peer = _peer(record)
            record.msg = "refused a malformed request (%s, %s) %s"
            record.args = (type(exc).__name__, exc.code, peer)
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.exc_info = record.exc_text = None
        return True


def _peer(record: logging.LogRecord) -> str:
    """aiohttp's message is 'Error handling request from <peer>': keep only the peer."""
    text = str(record.msg) % record.args if record.args else str(record.msg)
    return text.rpartition(" ")[2] if " from " in text else ""


_FILTER = _RefusedRequests()


def install() -> None:
    """Once per process; a second call adds nothing."""
    logger = logging.getLogger(_LOGGER)
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)
