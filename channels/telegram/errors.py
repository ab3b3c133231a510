"""The Telegram channel's errors, and the one place aiogram's are mapped to them.

    TelegramChannelError (channels.chat.errors.ChatError)
    ├── TokenRefused         401: Telegram does not know the token — fix the config
    ├── PollingConflict      409 on getUpdates: another program polls this token
    ├── TelegramUnreachable  no usable answer (network, timeouts, 5xx, a body that is not
    │                        the Bot API's JSON — a proxy's "502 Bad Gateway" page), after retries
    │                        (also a chat layer's PlatformUnreachable: worth another try)
    ├── TelegramMaybeSent    a new message went out and the answer was lost (a timeout or a
    │                        dropped connection after the request was written): not retried
    │                        (the chat layer's MaybeDelivered; see :func:`maybe_sent`)
    └── RequestRefused       Telegram refused one call (bad request, bot blocked, …)
        ├── FormattingRefused  a 400 about the entities: sent again as plain text
        └── NotModified        a 400 "message is not modified": the edit is already there

What a call can raise because of the server or the way to it is
:data:`CALL_FAILURES`: aiogram's ``TelegramAPIError`` family, its
``ClientDecodeError`` (the body is not JSON, or not a Bot API answer — not
a ``TelegramAPIError``) and ``UnicodeDecodeError`` (aiohttp: a body that does
not decode in its charset). :func:`map_error` maps each of them.

400s are told apart like aiogram's ``check_response`` tells statuses apart:
by the status, then by Telegram's description against the small set of known
prefixes below (Telegram has no finer error codes):

- formatting — ``can't parse entities…`` (also "…JSON object"), ``can't parse
  MessageEntity: …`` (an entity Telegram cannot read), ``entity beginning at
  UTF-16 offset … ends after the end of the text…``, ``entity URL '…' is
  invalid…``;
- ``message is not modified: …``.

Redaction: aiohttp's text for some failures (``InvalidURL``,
``NonHttpUrlClientError``, ``TooManyRedirects``) is the request URL, which
holds the token (``…/bot<token>/getMe``), and aiogram copies it into its
message. :func:`map_error` takes the token out of the message it builds and
out of the aiogram error it chains to (dropping aiohttp's error from that
chain when it holds the token), so neither logs nor ``facio doctor`` show it.

Flood control (429, ``TelegramRetryAfter``) never leaves
:mod:`~channels.telegram.send`: it is waited out there.
"""

from __future__ import annotations

import re

from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramConflictError,
    TelegramNetworkError,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from pydantic import ValidationError

from channels.chat.errors import ChatError, MaybeDelivered, PlatformUnreachable
from channels.chat.lost_answers import answer_lost

__all__ = [
    "CALL_FAILURES",
    "FormattingRefused",
    "NotModified",
    "PollingConflict",
    "RequestRefused",
    "TelegramChannelError",
    "TelegramMaybeSent",
    "TelegramUnreachable",
    "TokenRefused",
    "map_error",
    "maybe_sent",
    "redact",
]

CALL_FAILURES = (TelegramAPIError, ClientDecodeError, UnicodeDecodeError)
"""What a Bot API call raises because of what the server (or the way to it) did."""

_BAD_REQUEST = "bad request: "
_FORMATTING = (
    "can't parse entities",
    "can't parse messageentity",
    "entity beginning at",
    "entity url",
)
"""Known starts of 400 descriptions about entities (lower case, after "Bad Request: ")."""
_NOT_MODIFIED = "message is not modified"
_TOKEN_IN_URL = re.compile(r"(?<=/bot)\d+:[^/\s'\"]+")
_TAG = re.compile(r"<[^>]*>")
_SHOWN = 80
"""Characters of an unusable body quoted in the error."""


class TelegramChannelError(ChatError):
    """Base of the errors the Telegram channel raises."""


class TokenRefused(TelegramChannelError):
    """Telegram does not accept the bot token."""


class PollingConflict(TelegramChannelError):
    """Another getUpdates poller (or a webhook) holds this token."""


class TelegramUnreachable(TelegramChannelError, PlatformUnreachable):
    """The Bot API gave no usable answer (network error, timeout, server error, not JSON)."""


class TelegramMaybeSent(TelegramChannelError, MaybeDelivered):
    """A send's answer was lost after the request went out: the message may be in the chat,
    and the Bot API cannot read a chat back to tell."""


def maybe_sent(exc: BaseException) -> bool:
    """Could the call that raised ``exc`` have reached Telegram and done its work? True for
    a timeout or a connection lost while waiting for the answer; False for a connection
    that never opened and for any answer that came (an error, a redirect, a proxy's page:
    the Bot API did nothing)."""
    return isinstance(exc, TelegramNetworkError) and answer_lost(exc.__cause__)


class RequestRefused(TelegramChannelError):
    """Telegram answered a call with an error that retrying will not fix."""


class FormattingRefused(RequestRefused):
    """A 400 about the message's entities: the same text without them goes through."""


class NotModified(RequestRefused):
    """A 400 "message is not modified": the message already shows what the edit asked."""


def redact(text: str, token: str = "") -> str:
    """``text`` with the bot token replaced by ``<token>`` (also any ``/bot<id>:<secret>``)."""
    if token:
        text = text.replace(token, "<token>")
    return _TOKEN_IN_URL.sub("<token>", text)


def _scrub(exc: BaseException, token: str) -> None:
    """Take the token out of ``exc`` and of the chain it heads (see the module docstring)."""
    if isinstance(exc, TelegramAPIError | ClientDecodeError):
        exc.message = redact(exc.message or "", token)
    if isinstance(exc, ClientDecodeError) and isinstance(exc.data, str):
        exc.data = redact(exc.data, token)
    cause = exc.__cause__ or exc.__context__
    if cause is not None and redact(str(cause), token) != str(cause):
        exc.__cause__ = None
        exc.__suppress_context__ = True


def _unusable(exc: ClientDecodeError | UnicodeDecodeError) -> str:
    """What came instead of a Bot API answer, short: ``…: 502 Bad Gateway nginx``."""
    if isinstance(exc, UnicodeDecodeError):
        return f"the answer is not the Bot API's JSON (not valid {exc.encoding} text)"
    body = exc.data if isinstance(exc.data, str) else repr(exc.data)
    shown = " ".join(_TAG.sub(" ", body).split())
    if len(shown) > _SHOWN:
        shown = shown[: _SHOWN - 1] + "…"
    what = (
        "JSON but not a Bot API answer"
        if isinstance(exc.original, ValidationError)
        else ("not the Bot API's JSON")
    )
    return f"the answer is {what}: {shown or 'an empty body'}"


def _bad_request(description: str, detail: str) -> RequestRefused:
    said = description.lower().removeprefix(_BAD_REQUEST)
    if said.startswith(_NOT_MODIFIED):
        return NotModified(detail)
    if said.startswith(_FORMATTING):
        return FormattingRefused(detail)
    return RequestRefused(detail)


def map_error(
    exc: TelegramAPIError | ClientDecodeError | UnicodeDecodeError, what: str, token: str = ""
) -> TelegramChannelError:
    """The channel's error for a failed call; ``what`` names the call (and chat).

    ``token`` is redacted from the message and from ``exc`` itself, which the
    caller chains to (``raise map_error(exc, …) from exc``).
    """
    _scrub(exc, token)
    if isinstance(exc, ClientDecodeError | UnicodeDecodeError):
        return TelegramUnreachable(f"{what}: {_unusable(exc)}")
    message = exc.message or "no description"
    detail = f"{what}: {message}"
    if isinstance(exc, TelegramUnauthorizedError):
        return TokenRefused(f"the Telegram token was refused ({message})")
    if isinstance(exc, TelegramConflictError):
        return PollingConflict(detail)
    if isinstance(exc, TelegramNetworkError | TelegramServerError):
        return TelegramUnreachable(detail)
    if isinstance(exc, TelegramBadRequest):
        return _bad_request(message, detail)
    return RequestRefused(detail)
