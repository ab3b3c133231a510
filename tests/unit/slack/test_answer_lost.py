"""Which failed Web API calls may have reached Slack (a post is then looked for, not repeated)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from aiohttp import (
    ClientConnectionResetError,
    ClientConnectorError,
    ClientOSError,
    ClientPayloadError,
    ConnectionTimeoutError,
    ServerDisconnectedError,
    SocketTimeoutError,
    TooManyRedirects,
)
from aiohttp.client_reqrep import ConnectionKey
from slack_sdk.errors import SlackApiError

from channels.chat.errors import MaybeDelivered
from channels.chat.lost_answers import answer_lost
from channels.slack.errors import SlackMaybeSent, SlackUnreachable, map_error

KEY = ConnectionKey("slack.com", 443, True, True, None, None, None)


@pytest.mark.parametrize(
    ("exc", "lost"),
    [
        (TimeoutError(), True),  # the session's total timeout, waiting for the answer
        (SocketTimeoutError(), True),  # no byte of the answer in time
        (ServerDisconnectedError(), True),
        (ClientOSError(104, "Connection reset by peer"), True),
        (ClientPayloadError("cut"), True),
        (ConnectionTimeoutError(), False),  # the connection never opened
        (ClientConnectorError(KEY, OSError(111, "refused")), False),
        (ClientConnectionResetError("Cannot write to closing transport"), False),
        (TooManyRedirects(SimpleNamespace(real_url="u"), ()), False),  # type: ignore[arg-type]
        (ConnectionResetError(), False),  # not aiohttp's: slack_sdk never raises it for a call
    ],
)
def test_a_lost_answer_is_told_from_a_call_that_never_went_out(
    exc: BaseException, lost: bool
) -> None:
    assert answer_lost(exc) is lost


def test_an_answer_from_slack_is_no_lost_answer() -> None:
    response = SimpleNamespace(status_code=500, data={"ok": False, "error": "fatal_error"})
    error = SlackApiError("fatal", response)
    assert not answer_lost(error)
    assert isinstance(map_error(error, "chat.postMessage"), SlackUnreachable)


def test_a_maybe_sent_post_is_the_chat_layers_maybe_delivered() -> None:
    assert issubclass(SlackMaybeSent, MaybeDelivered)
