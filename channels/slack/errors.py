"""The Slack channel's errors, and the one place slack_sdk's are mapped to them.

    SlackChannelError (channels.chat.errors.ChatError)
    ├── TokenRefused       invalid_auth, not_authed, token_revoked, …: fix the token
    ├── WrongTokenType     not_allowed_token_type: an xapp- token where an xoxb- one
    │                      belongs (or the other way round)
    ├── MissingScope       missing_scope: the app lacks a scope (``needed``)
    ├── SlackUnreachable   no usable answer: the network, a timeout, a 5xx, a 429 that
    │                      outlasted its retries, a body that is not Slack's JSON
    │                      (also a chat layer's PlatformUnreachable: worth another try)
    ├── SlackMaybeSent     a post's answer was lost after the request went out and the
    │                      conversation could not be read back to tell whether it landed:
    │                      not posted again (the chat layer's MaybeDelivered; see
    │                      :func:`~channels.chat.lost_answers.answer_lost`)
    └── RequestRefused     Slack refused one call (``channel_not_found``, ``msg_too_long``…)
        └── MessageGone    ``message_not_found``: the message to edit or delete is gone

What a Web API call can raise because of Slack or the way to it is
:data:`CALL_FAILURES`: slack_sdk's ``SlackApiError`` (an answer with
``"ok": false``, or a body that is not JSON), its ``SlackClientError`` family,
aiohttp's ``ClientError`` and ``TimeoutError``. :func:`map_error` maps each
of them by Slack's ``error`` code and the HTTP status, never by message text.

Whether a failed call may still have done its work is told by the exception's
type (:func:`~channels.chat.lost_answers.answer_lost`, shared with every
platform): a connection that never opened reached nothing; a timeout or a
connection lost after the request was written may have.

Tokens never appear in what this module builds: slack_sdk sends them as a
Bearer header, not in the URL, and :func:`redact` takes out anything shaped
like a Slack token (``xoxb-…``, ``xapp-…``) from text that could hold one.
Rate limits (429) are waited out by slack_sdk's retry handler first
(:mod:`.web`); only one that outlasts it reaches here.
"""

from __future__ import annotations

import re

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError

from channels.chat.errors import ChatError, MaybeDelivered, PlatformUnreachable

__all__ = [
    "CALL_FAILURES",
    "MessageGone",
    "MissingScope",
    "RequestRefused",
    "SlackChannelError",
    "SlackMaybeSent",
    "SlackUnreachable",
    "TokenRefused",
    "WrongTokenType",
    "map_error",
    "redact",
]

CALL_FAILURES = (SlackClientError, aiohttp.ClientError, TimeoutError)
"""What a Web API call raises because of what Slack (or the way to it) did."""

_TOKEN = re.compile(r"\bxox[abposr]-[A-Za-z0-9-]+|\bxapp-[A-Za-z0-9-]+")
_REFUSED = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "no_permission",
        "org_login_required",
        "ekm_access_denied",
    }
)
_UNREACHABLE = frozenset(
    {"ratelimited", "fatal_error", "internal_error", "service_unavailable", "request_timeout"}
)


class SlackChannelError(ChatError):
    """Base of the errors the Slack channel raises."""


class TokenRefused(SlackChannelError):
    """Slack does not accept the token."""


class WrongTokenType(SlackChannelError):
    """A token of the other kind: the bot token where the app token belongs, or vice versa."""


class MissingScope(SlackChannelError):
    """The app was not granted a scope this call needs."""

    def __init__(self, message: str, needed: str = "") -> None:
        super().__init__(message)
        self.needed = needed


class SlackUnreachable(SlackChannelError, PlatformUnreachable):
    """No usable answer from the Web API (network, timeout, 5xx, lasting 429, not JSON)."""


class SlackMaybeSent(SlackChannelError, MaybeDelivered):
    """A post's answer was lost after the request went out, and reading the conversation
    back failed too: the message may be there, so it is not posted again."""


class RequestRefused(SlackChannelError):
    """Slack answered a call with an error that retrying will not fix."""

    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message)
        self.code = code


class MessageGone(RequestRefused):
    """``message_not_found``: the message to update or delete no longer exists."""


def redact(text: str) -> str:
    """``text`` with anything shaped like a Slack token replaced by ``<token>``."""
    return _TOKEN.sub("<token>", text)


def _api_error(exc: SlackApiError, what: str) -> SlackChannelError:
    response = exc.response
    status = int(getattr(response, "status_code", 0) or 0)
    data = getattr(response, "data", None)
    code = str(data.get("error") or "") if isinstance(data, dict) else ""
    if not code:
        shown = f"HTTP {status}" if status else "no answer"
        return SlackUnreachable(f"{what}: the answer is not Slack's JSON ({shown})")
    if code in _REFUSED:
        return TokenRefused(f"{what}: the token was refused ({code})")
    if code == "not_allowed_token_type":
        return WrongTokenType(f"{what}: this token is of the wrong type ({code})")
    if code == "missing_scope":
        needed = str(data.get("needed") or "") if isinstance(data, dict) else ""
        return MissingScope(f"{what}: the app lacks the scope {needed or '?'}", needed)
    if code in _UNREACHABLE or status >= 500 or status == 429:
        return SlackUnreachable(f"{what}: {code} (HTTP {status})")
    if code == "message_not_found":
        return MessageGone(f"{what}: {code}", code)
    return RequestRefused(f"{what}: {code}", code)


def map_error(
    exc: SlackClientError | aiohttp.ClientError | TimeoutError, what: str
) -> SlackChannelError:
    """The channel's error for a failed call; ``what`` names the call (and where).

    The caller chains it: ``raise map_error(exc, "chat.update in C1") from exc``.
    """
    if isinstance(exc, SlackApiError):
        return _api_error(exc, what)
    if isinstance(exc, TimeoutError):
        return SlackUnreachable(f"{what}: no answer in time")
    if isinstance(exc, aiohttp.ClientResponseError):
        return SlackUnreachable(f"{what}: HTTP {exc.status}")
    return SlackUnreachable(f"{what}: {type(exc).__name__}: {redact(str(exc))[:200]}")
