"""Whether a platform call that failed on the wire may still have done its work.

Every platform client here talks HTTP through aiohttp (aiogram, slack_sdk's
async client, discord.py), and its failures split the same way for all of
them: a connection that never opened, or a request that could not be
written, reached nobody (safe to send again); a timeout or a connection
lost while waiting for the answer may have reached the platform, which may
have posted the message (:class:`~channels.chat.errors.MaybeDelivered`).
"""

from __future__ import annotations

import aiohttp

__all__ = ["ANSWER_LOST", "NOT_SENT", "answer_lost"]

NOT_SENT = (
    aiohttp.ClientConnectorError,
    aiohttp.ConnectionTimeoutError,
    aiohttp.ClientConnectionResetError,
)
"""aiohttp failures before a whole request was written (no connection, or the write itself
failed): the platform cannot have acted on it."""
ANSWER_LOST = (
    TimeoutError,
    aiohttp.ServerDisconnectedError,
    aiohttp.ClientPayloadError,
    aiohttp.ClientOSError,
)
"""aiohttp failures after a request may have been written, before its answer was read."""


def answer_lost(exc: BaseException | None) -> bool:
    """Could the call that raised ``exc`` have reached the platform and done its work? True
    for a timeout or a connection lost (reset, closed) while waiting for the answer; False
    for a connection that never opened, a request that could not be written, and any
    answer that came (an error, a 5xx, a proxy's page)."""
    return isinstance(exc, ANSWER_LOST) and not isinstance(exc, NOT_SENT)
