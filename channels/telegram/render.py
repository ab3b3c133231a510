"""Outbox events as Telegram messages (DESIGN.md "Events").

| event | in the chat |
| --- | --- |
| ``turn_started`` | "typing…" until the turn ends |
| ``response_chunk`` | the answer appears and grows by edits (:mod:`.stream`) |
| ``response`` | the step's final text, authoritative |
| ``thoughts`` | a quoted "💭" message, when ``showThoughts`` |
| ``approval_request`` | the card with four buttons; typing pauses |
| ``approval_decided`` | the card edited: outcome line, buttons gone |
| ``error`` | "⚠️ …" |
| ``turn_finished`` | typing stops; "⏹ Stopped." when cancelled |
| ``session_reset`` | "🆕 …" |

Only the main agent's text is shown; subagents report through it. Tool and
code output go to the model (and the API's event stream), not the chat.
Failures to send are logged with the chat and not retried past the flood
waits of :mod:`.send`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from channels.runtime import RuntimeClient
from channels.telegram.approvals import card_text, keyboard
from channels.telegram.cards import Card, CardStore
from channels.telegram.errors import TelegramChannelError
from channels.telegram.formatted import Formatted, TextBuilder
from channels.telegram.presence import Typing
from channels.telegram.route import target_of
from channels.telegram.send import ChatTarget, Sender
from channels.telegram.split import split_message
from channels.telegram.stream import Streams
from core import wire
from core.events import MAIN_AGENT

__all__ = ["Renderer"]

logger = logging.getLogger(__name__)

STOPPED = "⏹ Stopped."
RESET = "🆕 Started over: the conversation so far is forgotten."

Handler = Callable[[Any, ChatTarget], Awaitable[None]]


def _quoted(prefix: str, body: str) -> Formatted:
    out = TextBuilder()
    out.add(prefix)
    start = out.length
    out.add(body)
    out.span("blockquote", start)
    out.span("italic", start)
    return out.build()


class Renderer:
    """Renders one channel's outbox events; the consumer calls it per session, in order."""

    def __init__(
        self,
        sender: Sender,
        streams: Streams,
        typing: Typing,
        cards: CardStore,
        runtime: RuntimeClient,
        *,
        show_thoughts: bool = False,
    ) -> None:
        self.sender = sender
        self.streams = streams
        self.typing = typing
        self.cards = cards
        self.runtime = runtime
        self.show_thoughts = show_thoughts
        self._handlers: dict[type[wire.Envelope], Handler] = {
            wire.TurnStartedEvent: self._started,
            wire.ResponseChunkEvent: self._chunk,
            wire.ResponseEvent: self._response,
            wire.ThoughtsEvent: self._thoughts,
            wire.ApprovalRequestEvent: self._card,
            wire.ApprovalDecidedEvent: self._decided,
            wire.ErrorEvent: self._error,
            wire.TurnFinishedEvent: self._finished,
            wire.SessionResetEvent: self._reset,
        }

    async def render(self, event: wire.WireEvent) -> None:
        handler = self._handlers.get(type(event))
        if handler is None:
            return
        target = target_of(event)
        if target is None:
            logger.warning("telegram: no chat for %s of %s", event.type, event.session_key)
            return
        try:
            await handler(event, target)
        except TelegramChannelError as exc:
            logger.warning("telegram: %s for %s not shown: %s", event.type, event.session_key, exc)

    async def _say(self, target: ChatTarget, text: Formatted) -> None:
        for part in split_message(text):
            await self.sender.send(target, part)

    async def _started(self, event: wire.TurnStartedEvent, target: ChatTarget) -> None:
        self.typing.start(event.session_key, target)

    async def _chunk(self, event: wire.ResponseChunkEvent, target: ChatTarget) -> None:
        if event.agent_id != MAIN_AGENT:
            return
        self.typing.start(event.session_key, target)
        await self.streams.chunk(event.turn_id, event.agent_id, target, event.content)

    async def _response(self, event: wire.ResponseEvent, target: ChatTarget) -> None:
        if event.agent_id != MAIN_AGENT:
            return
        await self.streams.final(event.turn_id, event.agent_id, target, event.content)

    async def _thoughts(self, event: wire.ThoughtsEvent, target: ChatTarget) -> None:
        content = event.content.strip()
        if self.show_thoughts and content and event.agent_id == MAIN_AGENT:
            parts = split_message(_quoted("💭 ", content))
            await self.sender.send(target, parts[0])

    async def _card(self, event: wire.ApprovalRequestEvent, target: ChatTarget) -> None:
        self.typing.stop(event.session_key)
        approval_id = event.approval_id
        asker = event.reply_to.get("user_name", "")  # set in groups only
        text = card_text(
            event.tool_name,
            event.tool_args,
            requested_by=asker,
            agent_id=event.agent_id,
        )
        sent = await self.sender.send(target, split_message(text)[0], markup=keyboard(approval_id))
        card = Card(target.chat_id, sent.message_id, target.thread_id, asker)
        await self.cards.put(approval_id, card, event.expires_at)

    async def _decided(self, event: wire.ApprovalDecidedEvent, target: ChatTarget) -> None:
        approval_id = event.approval_id
        status = event.status
        if status == "approved":
            self.typing.start(event.session_key, target)  # the turn goes on
        card = await self.cards.get(approval_id)
        if card is None:
            logger.info("telegram: no card for approval %s; nothing to edit", approval_id)
            return
        line = await self.cards.outcome(event.decision, status, event.decided_by or "")
        record = await self.runtime.approval(approval_id)
        text = Formatted(line)
        if record is not None:  # the card as it was (arguments are capped: it fits), then the line
            shown = card_text(
                record.tool_name,
                record.tool_args,
                requested_by=card.requested_by,
                agent_id=record.agent_id,
            )
            text = shown + Formatted("\n\n" + line)
        await self.sender.edit(card.chat_id, card.message_id, text)

    async def _error(self, event: wire.ErrorEvent, target: ChatTarget) -> None:
        self.typing.stop(event.session_key)
        await self._say(target, Formatted(f"⚠️ {event.message or 'something went wrong'}"))

    async def _finished(self, event: wire.TurnFinishedEvent, target: ChatTarget) -> None:
        self.typing.stop(event.session_key)
        await self.streams.discard(event.turn_id)
        if event.cancelled:
            await self._say(target, Formatted(STOPPED))

    async def _reset(self, event: wire.SessionResetEvent, target: ChatTarget) -> None:
        await self._say(target, Formatted(RESET))
