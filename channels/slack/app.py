"""The bolt ``AsyncApp`` that receives for the channel, in Socket Mode and in HTTP mode alike.

bolt does what Slack's protocol asks — request signatures (HTTP mode),
``url_verification``, ``auth.test`` once, dropping the bot's own events,
acknowledging — and hands the channel what is left:

- ``message`` and ``app_mention`` events → :meth:`Handlers.event`;
- clicks on approval buttons (``facio.approval.*``) → :meth:`Handlers.click`,
  acknowledged at once;
- everything else is acknowledged and dropped — an event with no listener
  would get bolt's 404 and no acknowledgement, and Slack would send it again
  and again; another button gets "not one of mine"; a slash command a hint.

``process_before_response``: a listener runs *before* bolt acknowledges, so
an event whose handling failed on Redis is not acknowledged (bolt answers
500) and Slack delivers it again; handling is a few Redis round trips, well
inside Slack's 3 seconds (a file download goes to its chat's lane first).
"""

from __future__ import annotations

import logging
import re
from contextvars import ContextVar
from typing import Any, Protocol

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from channels.slack.cards import ACTION_PREFIX

__all__ = ["COMMAND_HINT", "RETRY_LATER", "Handlers", "build_app"]

logger = logging.getLogger(__name__)

COMMAND_HINT = (
    "I take no slash commands: write `/new`, `/stop` or `/help` as a message to me "
    "(in a thread too)."
)
_ANY = re.compile(r".*")
RETRY_LATER: ContextVar[bool] = ContextVar("facio_slack_retry_later", default=False)
"""Set by a handler that failed for a reason a redelivery may not meet (Redis): HTTP mode then
answers 503 (Slack delivers again) rather than 400 (a payload nothing can handle)."""


class Handlers(Protocol):
    """What the channel does with what bolt hands it."""

    async def event(self, body: dict[str, Any]) -> None: ...

    async def click(self, body: dict[str, Any]) -> None: ...

    async def foreign_click(self, body: dict[str, Any]) -> None: ...


def build_app(client: AsyncWebClient, signing_secret: str, handlers: Handlers) -> AsyncApp:
    """An ``AsyncApp`` on ``client`` (its Web API, ``apiBase`` and retry handlers) whose
    listeners call ``handlers``; ``signing_secret`` "" in Socket Mode (nothing to verify)."""
    app = AsyncApp(
        name="facio",
        client=client,
        signing_secret=signing_secret,
        process_before_response=True,
        request_verification_enabled=bool(signing_secret),
    )

    async def on_event(body: dict[str, Any]) -> None:
        await handlers.event(body)

    async def on_click(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        await handlers.click(body)

    async def on_other_click(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        await handlers.foreign_click(body)

    async def on_command(ack: AsyncAck) -> None:
        await ack(text=COMMAND_HINT)

    async def on_anything_else(ack: AsyncAck) -> None:
        await ack()

    app.event("message")(on_event)
    app.event("app_mention")(on_event)
    app.event(_ANY)(on_anything_else)
    app.action(re.compile("^" + re.escape(ACTION_PREFIX)))(on_click)
    app.action(_ANY)(on_other_click)
    app.command(_ANY)(on_command)
    app.shortcut(_ANY)(on_anything_else)
    app.view(_ANY)(on_anything_else)
    app.options(_ANY)(on_anything_else)
    return app
