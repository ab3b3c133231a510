"""Outbox events as chat messages, on any platform (docs/design.md "Events").

| event | in the chat |
| --- | --- |
| ``turn_started`` | a sign of life until the turn ends |
| ``response_chunk`` | the answer appears and grows by edits (:mod:`.stream`) |
| ``response`` | the step's final text, authoritative |
| ``thoughts`` | a quoted "💭" message, when the channel shows thoughts |
| ``approval_request`` | the card with four buttons; the sign of life pauses |
| ``approval_decided`` | the card edited: outcome line, buttons gone |
| ``error`` | "⚠️ …" |
| ``turn_finished`` | the sign of life stops; "⏹ Stopped." when cancelled |
| ``session_reset`` | "🆕 …" |

Only the main agent's text is shown; subagents report through it. Tool and
code output go to the model (and the API's event stream), not the chat.
A platform's failure to send is logged with the chat and not retried past
its own rate-limit waits.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, Generic

from channels.chat.cards import LABELS, CardLocation, CardStore, CardView
from channels.chat.errors import ChatError
from channels.chat.log import platform_log
from channels.chat.platform import Button, ChatPlatform, MessageRef, PartT, Target
from channels.chat.presence import Typing
from channels.chat.stream import Streams
from channels.runtime import Decision, RuntimeClient
from core import wire
from core.events import MAIN_AGENT

__all__ = ["RESET", "STOPPED", "Renderer", "approval_buttons"]

logger = logging.getLogger(__name__)

STOPPED = "⏹ Stopped."
RESET = "🆕 Started over: the conversation so far is forgotten."

Handler = Callable[[Any, Any], Awaitable[None]]


def approval_buttons(approval_id: str) -> list[list[Button]]:
    """Approve / Reject on the first row, Allow for session / Always allow on the second."""
    rows = ((Decision.APPROVE, Decision.REJECT), (Decision.SESSION, Decision.ALWAYS))
    return [[Button(LABELS[c], approval_id, c) for c in row] for row in rows]


class Renderer(Generic[PartT]):
    """Renders one channel's outbox events; the consumer calls it per session, in order."""

    def __init__(
        self,
        platform: ChatPlatform[PartT],
        runtime: RuntimeClient,
        streams: Streams[PartT],
        typing: Typing,
        cards: CardStore,
        *,
        show_thoughts: bool = False,
    ) -> None:
        self.platform = platform
        self.runtime = runtime
        self.streams = streams
        self.typing = typing
        self.cards = cards
        self.show_thoughts = show_thoughts
        self.log = platform_log(logger, platform.name)
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
        target = self.platform.target_of(event)
        if target is None and not isinstance(event, wire.ApprovalDecidedEvent):
            self.log.warning("no chat for %s of %s", event.type, event.session_key)
            return
        try:
            await handler(event, target)
        except ChatError as exc:
            self.log.warning(
                "%s for %s not shown: %s",
                event.type,
                event.session_key,
                exc,
            )

    async def say(self, target: Target, text: str) -> None:
        """facio's own words, in as many messages as they need."""
        for part in self.platform.plain(text):
            await self.platform.send(target, part)

    async def _started(self, event: wire.TurnStartedEvent, target: Target) -> None:
        self.typing.start(event.session_key, target)

    async def _chunk(self, event: wire.ResponseChunkEvent, target: Target) -> None:
        if event.agent_id != MAIN_AGENT:
            return
        self.typing.start(event.session_key, target)
        await self.streams.chunk(event.turn_id, event.agent_id, target, event.content)

    async def _response(self, event: wire.ResponseEvent, target: Target) -> None:
        if event.agent_id != MAIN_AGENT:
            return
        await self.streams.final(event.turn_id, event.agent_id, target, event.content)

    async def _thoughts(self, event: wire.ThoughtsEvent, target: Target) -> None:
        content = event.content.strip()
        if self.show_thoughts and content and event.agent_id == MAIN_AGENT:
            await self.platform.send(target, self.platform.quoted(content))

    async def _card(self, event: wire.ApprovalRequestEvent, target: Target) -> None:
        await self.typing.stop(event.session_key)
        asker = event.reply_to.get("user_name", "")  # set in groups only
        view = CardView(event.tool_name, event.tool_args, asker, event.agent_id)
        buttons = approval_buttons(event.approval_id)
        sent = await self.platform.send(target, self.platform.card(view), buttons=buttons)
        card = CardLocation(sent.chat, sent.id, target.thread, asker)
        await self.cards.put(event.approval_id, card, event.expires_at)

    async def _decided(self, event: wire.ApprovalDecidedEvent, target: Target | None) -> None:
        """Edit the card wherever it is (its location is kept); whoever decided, the
        event knows only the record, so it may carry no chat of its own."""
        if event.status == "approved" and target is not None:
            self.typing.start(event.session_key, target)  # the turn goes on
        card = await self.cards.get(event.approval_id)
        if card is None:
            self.log.info(
                "no card for approval %s; nothing to edit",
                event.approval_id,
            )
            return
        line = await self.cards.outcome(event.decision, event.status, event.decided_by or "")
        record = await self.runtime.approval(event.approval_id)
        # the card as it was (arguments are capped: it fits), then the line; without
        # the record (gone from Redis) the line alone
        view = (
            CardView(record.tool_name, record.tool_args, card.requested_by, record.agent_id, line)
            if record is not None
            else None
        )
        ref = MessageRef(card.chat, card.message)
        if view is not None:
            await self.platform.edit(ref, self.platform.card(view))
        else:
            await self.platform.edit(ref, self.platform.plain(line)[0])

    async def _error(self, event: wire.ErrorEvent, target: Target) -> None:
        await self.typing.stop(event.session_key)
        await self.say(target, f"⚠️ {event.message or 'something went wrong'}")

    async def _finished(self, event: wire.TurnFinishedEvent, target: Target) -> None:
        await self.typing.stop(event.session_key)
        await self.streams.discard(event.turn_id)
        if event.cancelled:
            await self.say(target, STOPPED)

    async def _reset(self, event: wire.SessionResetEvent, target: Target) -> None:
        await self.say(target, RESET)
