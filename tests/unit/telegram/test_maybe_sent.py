"""Which failed calls may have reached Telegram (a send is then not repeated)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from aiogram.exceptions import TelegramNetworkError, TelegramServerError
from aiogram.methods import SendMessage
from aiohttp import (
    ClientConnectorError,
    ClientPayloadError,
    ConnectionTimeoutError,
    ServerDisconnectedError,
    TooManyRedirects,
)
from aiohttp.client_reqrep import ConnectionKey

from channels.telegram.errors import maybe_sent

METHOD = SendMessage(chat_id=1, text="x")
KEY = ConnectionKey("api.telegram.org", 443, True, True, None, None, None)


def _network(cause: BaseException) -> TelegramNetworkError:
    try:
        try:
            raise cause
        except BaseException as inner:
            raise TelegramNetworkError(method=METHOD, message=str(inner)) from inner
    except TelegramNetworkError as exc:
        return exc


@pytest.mark.parametrize(
    ("cause", "sent"),
    [
        (TimeoutError(), True),  # waiting for the answer
        (ServerDisconnectedError(), True),
        (ClientPayloadError("cut"), True),
        (ConnectionResetError(), False),  # not aiohttp's: never raised for a lost answer
        (ConnectionTimeoutError(), False),  # the connection never opened
        (ClientConnectorError(KEY, OSError(111, "refused")), False),
        (TooManyRedirects(SimpleNamespace(real_url="u"), ()), False),  # an answer came  # type: ignore[arg-type]
    ],
)
def test_a_lost_answer_is_told_from_a_call_that_never_went_out(
    cause: BaseException, sent: bool
) -> None:
    assert maybe_sent(_network(cause)) is sent


def test_an_answer_from_the_server_is_no_lost_answer() -> None:
    assert not maybe_sent(TelegramServerError(method=METHOD, message="Internal Server Error"))
