"""The chat layer wired for one platform: what a platform's channel holds.

    conversation = Conversation(ctx, platform, policy=…, texts=…, bot="main", scope=bot_id)
    await conversation.intake.message(incoming, raw)     # a person wrote
    answer = await conversation.clicks.handle(click)     # a person clicked
    await conversation.render(event)                     # an outbox event of its sessions

A platform's channel (``channels/<platform>/adapter.py``) builds one, feeds it
what its receiving side translated, delivers click answers its own way, and
closes it on stop.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Generic

from channels.chat.access import AccessPolicy
from channels.chat.cards import CardStore
from channels.chat.clicks import ClickHandler
from channels.chat.intake import FileSource, Intake, Texts
from channels.chat.platform import ChatPlatform, PartT
from channels.chat.presence import Typing
from channels.chat.render import Renderer
from channels.chat.stream import Streams
from channels.context import GatewayContext
from core.wire import WireEvent

__all__ = ["Conversation"]


class Conversation(Generic[PartT]):
    """Intake, clicks, rendering and their shared state, for one platform's channel."""

    def __init__(
        self,
        ctx: GatewayContext,
        platform: ChatPlatform[PartT],
        *,
        policy: AccessPolicy,
        texts: Texts,
        bot: str,
        scope: str,
        files: FileSource | None = None,
        redeliver: Callable[[str], Awaitable[None]] | None = None,
        stream_interval: float | None = None,
        show_thoughts: bool = False,
        retry_delay: float = 1.0,
    ) -> None:
        self.platform = platform
        self.cards = CardStore(ctx.runtime, platform.name)
        self.streams: Streams[PartT] = Streams(
            ctx.runtime, platform, interval=stream_interval, retry_delay=retry_delay
        )
        self.typing = Typing(platform)
        self.renderer = Renderer(
            platform,
            ctx.runtime,
            self.streams,
            self.typing,
            self.cards,
            show_thoughts=show_thoughts,
        )
        self.clicks = ClickHandler(ctx.runtime, platform, policy, self.cards, ctx.metrics)
        self.intake = Intake(
            ctx,
            platform,
            policy,
            texts,
            bot,
            scope,
            files=files,
            redeliver=redeliver,
            retry_delay=retry_delay,
        )

    async def render(self, event: WireEvent) -> None:
        await self.renderer.render(event)

    async def close(self) -> None:
        """Let lanes and background replies finish briefly; stop timers and typing."""
        await self.intake.close()
        await self.streams.close()
        await self.typing.close()
