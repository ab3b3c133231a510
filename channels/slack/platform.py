"""Slack as a :class:`~channels.chat.platform.ChatPlatform`: the chat layer's calls, made.

Targets are conversations (``C…``, ``G…``, ``D…``) and threads (their
``ts``); a message is found again by its conversation and ``ts``. Parts are
:class:`~channels.slack.blocks.SlackPart` (mrkdwn text, Block Kit for
cards). Answers stream by ``chat.update`` of one message (a Tier 3 method:
the intervals below keep one stream well inside it).

The sign of life while a turn works: ``assistant.threads.setStatus`` ("is
thinking…" under the thread) where the app has Slack's AI-app feature; where
it has not (``unknown_method``, ``not_allowed_token_type``, a missing
``assistant:write`` scope, …) a reaction (⏳) on the person's message for the
rest of the gateway's life, removed when the turn stops working. Neither
ever fails a turn: a sign of life is best effort.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from channels.chat.cards import CardView
from channels.chat.platform import Button, Limits, MessageRef, Target
from channels.slack.blocks import MESSAGE_LIMIT, SlackPart, mrkdwn_parts, plain_parts, quoted
from channels.slack.cards import ARGS_BUDGET, actions_block, draw_card, without_buttons
from channels.slack.errors import (
    MissingScope,
    RequestRefused,
    SlackChannelError,
    WrongTokenType,
)
from channels.slack.translate import CHANNEL
from channels.slack.web import SlackApi
from core import wire

__all__ = ["CHANNEL", "GROUP_INTERVAL", "STATUS", "TYPING_EVERY", "SlackPlatform", "target_of"]

logger = logging.getLogger(__name__)

GROUP_INTERVAL = 2.0
"""Seconds between edits of a streamed answer in channels, at least."""
TYPING_EVERY = 20.0
"""Seconds between signs of life (a status stays until cleared; a reaction is added once)."""
STATUS = "is thinking…"
REACTION = "hourglass_flowing_sand"
REMEMBERED = 2048
_NO_ASSISTANT = frozenset(
    {
        "unknown_method",
        "not_allowed_token_type",
        "method_deprecated",
        "not_allowed",
        "feature_not_enabled",
    }
)
"""``assistant.threads.setStatus`` errors that mean the app has no such feature."""


def target_of(event: wire.Envelope) -> Target | None:
    """Where an event goes: its ``reply_to``, else its session key (cron turns)."""
    where = event.reply_to
    if where.get("channel"):
        dm = where.get("channel_type") == "im"
        return Target(where["channel"], where.get("thread_ts", ""), where.get("ts", ""), not dm)
    parts = event.session_key.split(":")
    if parts[0] != CHANNEL or len(parts) not in (3, 4) or not parts[2]:
        return None
    channel = parts[2]
    return Target(channel, parts[3] if len(parts) == 4 else "", "", not channel.startswith("D"))


class SlackPlatform:
    """The chat layer's calls, made with the Web API (see the module docstring)."""

    name = CHANNEL
    title = "Slack"

    def __init__(self, api: SlackApi, *, edit_interval: float = 1.5) -> None:
        self.api = api
        self.limits = Limits(
            message=MESSAGE_LIMIT,
            edit_interval=edit_interval,
            group_edit_interval=GROUP_INTERVAL,
            card_arguments=ARGS_BUDGET,
            typing_every=TYPING_EVERY,
        )
        self.assistant = True
        """``assistant.threads.setStatus`` works (until Slack says otherwise)."""
        self._shown: OrderedDict[tuple[str, str], SlackPart] = OrderedDict()
        self._reacted: set[tuple[str, str]] = set()
        self._statused: set[tuple[str, str]] = set()

    def target_of(self, event: wire.Envelope) -> Target | None:
        return target_of(event)

    def measure(self, text: str) -> int:
        return len(text)

    def markdown(self, text: str) -> list[SlackPart]:
        return mrkdwn_parts(text)

    def plain(self, text: str) -> list[SlackPart]:
        return plain_parts(text)

    def quoted(self, text: str) -> SlackPart:
        return quoted(text)

    def card(self, view: CardView) -> SlackPart:
        return draw_card(view, self.limits.card_arguments)

    def remember(self, ref: MessageRef, part: SlackPart) -> None:
        """What a message shows (its buttons' removal keeps the rest)."""
        self._shown[(ref.chat, ref.id)] = part
        self._shown.move_to_end((ref.chat, ref.id))
        while len(self._shown) > REMEMBERED:
            self._shown.popitem(last=False)

    async def send(
        self, target: Target, part: SlackPart, *, buttons: Sequence[Sequence[Button]] = ()
    ) -> MessageRef:
        shown = part.with_blocks([actions_block(buttons)]) if buttons else part
        blocks = list(shown.blocks) if shown.blocks else None
        posted = await self.api.post(
            target.chat, shown.text, thread_ts=target.thread, blocks=blocks
        )
        ref = MessageRef(posted.channel, posted.ts)
        self.remember(ref, shown)
        return ref

    async def edit(self, ref: MessageRef, part: SlackPart) -> None:
        # blocks=[] takes a card's blocks (and buttons) away when it becomes text only
        await self.api.call(
            "chat.update",
            ref.chat,
            channel=ref.chat,
            ts=ref.id,
            text=part.text,
            blocks=list(part.blocks),
        )
        self.remember(ref, part)

    async def delete(self, ref: MessageRef) -> None:
        self._shown.pop((ref.chat, ref.id), None)
        await self.api.call("chat.delete", ref.chat, channel=ref.chat, ts=ref.id)

    async def strip_buttons(self, ref: MessageRef) -> None:
        shown = self._shown.get((ref.chat, ref.id))
        if shown is None:
            part = plain_parts("This approval is no longer available.")[0]
        else:
            part = SlackPart(shown.text, tuple(without_buttons(shown.blocks)))
        await self.edit(ref, part)

    async def typing(self, target: Target) -> None:
        """ "is thinking…" under the thread, else ⏳ on the person's message; never raises."""
        anchor = target.thread or target.reply_to
        if not anchor:
            return
        if self.assistant and await self._status(target.chat, anchor, STATUS):
            self._statused.add((target.chat, anchor))
            return
        if target.reply_to and (target.chat, target.reply_to) not in self._reacted:
            try:
                await self.api.call(
                    "reactions.add",
                    target.chat,
                    channel=target.chat,
                    timestamp=target.reply_to,
                    name=REACTION,
                )
            except RequestRefused as exc:
                if exc.code != "already_reacted":
                    logger.debug("slack: no ⏳ in %s: %s", target, exc)
                    return
            except SlackChannelError as exc:
                logger.debug("slack: no ⏳ in %s: %s", target, exc)
                return
            self._reacted.add((target.chat, target.reply_to))

    async def done_typing(self, target: Target) -> None:
        anchor = target.thread or target.reply_to
        if (target.chat, anchor) in self._statused:
            self._statused.discard((target.chat, anchor))
            await self._status(target.chat, anchor, "")
        if (target.chat, target.reply_to) in self._reacted:
            self._reacted.discard((target.chat, target.reply_to))
            try:
                await self.api.call(
                    "reactions.remove",
                    target.chat,
                    channel=target.chat,
                    timestamp=target.reply_to,
                    name=REACTION,
                )
            except SlackChannelError as exc:
                logger.debug("slack: ⏳ not removed in %s: %s", target, exc)

    async def _status(self, channel: str, thread_ts: str, status: str) -> bool:
        """Set (or with "" clear) the assistant status; False when it cannot be used."""
        try:
            await self.api.call(
                "assistant.threads.setStatus",
                channel,
                channel_id=channel,
                thread_ts=thread_ts,
                status=status,
            )
        except (WrongTokenType, MissingScope) as exc:
            self._no_assistant(exc)
            return False
        except RequestRefused as exc:
            if exc.code in _NO_ASSISTANT:
                self._no_assistant(exc)
            else:
                logger.debug("slack: no status in %s: %s", channel, exc)
            return False
        except SlackChannelError as exc:
            logger.debug("slack: no status in %s: %s", channel, exc)
            return False
        return True

    def _no_assistant(self, exc: SlackChannelError) -> None:
        if self.assistant:
            logger.info("slack: no assistant status for this app (%s); using a ⏳ reaction", exc)
        self.assistant = False


def card_message(blocks: Any) -> SlackPart | None:
    """A clicked card as the click shows it (its text and blocks), to keep when stripping."""
    if not isinstance(blocks, dict):
        return None
    raw = blocks.get("blocks")
    if not isinstance(raw, list) or not all(isinstance(b, dict) for b in raw):
        return None
    return SlackPart(str(blocks.get("text") or " "), tuple(raw))
