"""A toy platform, ~150 lines of translation, runs a whole conversation through the shared
chat layer and the real runtime (gateway, Redis, arq worker): adding a platform costs this."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from channels.base import Channel
from channels.chat import (
    AccessPolicy,
    Button,
    CardView,
    Click,
    Conversation,
    Incoming,
    Limits,
    MessageRef,
    Person,
    Target,
    Texts,
)
from channels.chat.cards import card_content
from channels.chat.clicks import FORBIDDEN
from channels.chat.commands import parse_text_command
from channels.chat.textsplit import split_text
from channels.context import GatewayContext
from channels.gateway import Gateway
from core import wire
from core.inbound import Inbound
from tests.integration.runtime.support import Background, demo_config
from workers.schedules import Origin, ScheduleStore, timing_of

OWNER, STRANGER = Person("u1", "owner", "Owner"), Person("u2", "mallory", "Mallory")


@dataclass(frozen=True)
class Part:
    text: str

    def key(self) -> str:
        return self.text


@dataclass
class Shown:
    """A message as the toy platform's people see it."""

    text: str
    buttons: list[Button] = field(default_factory=list)


class ToyPlatform:
    """The chat layer's calls, kept in memory: what a real platform makes API calls for."""

    name = "toy"
    title = "Toy"
    limits = Limits(
        message=300, edit_interval=0.05, group_edit_interval=0.2, card_arguments=200, typing_every=1
    )

    def __init__(self) -> None:
        self.chats: dict[str, dict[str, Shown]] = {}
        self.typed = 0
        self._ids = itertools.count(1)

    def target_of(self, event: wire.Envelope) -> Target | None:
        return Target(event.reply_to["chat"]) if "chat" in event.reply_to else None  # no fallback

    def measure(self, text: str) -> int:
        return len(text)

    def markdown(self, text: str) -> list[Part]:
        return [Part(p) for p in split_text(text, self.limits.message)]

    def plain(self, text: str) -> list[Part]:
        return self.markdown(text)

    def quoted(self, text: str) -> Part:
        return Part("> " + text)

    def card(self, view: CardView) -> Part:
        content = card_content(view, self.limits.card_arguments, self.measure)
        blocks = "\n".join(f"{b.name}: {b.body}" for b in content.blocks)
        return Part(f"{content.title}{content.tool_name}\n{blocks}\n{content.outcome}".strip())

    async def send(
        self, target: Target, part: Part, *, buttons: Sequence[Sequence[Button]] = ()
    ) -> MessageRef:
        message_id = str(next(self._ids))
        shown = Shown(part.text, [b for row in buttons for b in row])
        self.chats.setdefault(target.chat, {})[message_id] = shown
        return MessageRef(target.chat, message_id)

    async def edit(self, ref: MessageRef, part: Part) -> None:
        self.chats[ref.chat][ref.id] = Shown(part.text)

    async def delete(self, ref: MessageRef) -> None:
        del self.chats[ref.chat][ref.id]

    async def strip_buttons(self, ref: MessageRef) -> None:
        self.chats[ref.chat][ref.id].buttons.clear()

    async def typing(self, target: Target) -> None:
        self.typed += 1

    async def done_typing(self, target: Target) -> None:
        return None

    def texts(self, chat: str) -> list[str]:
        return [m.text for m in self.chats.get(chat, {}).values()]


class ToyChannel:
    """The toy's channel: wiring, and its "updates" translated into the chat layer's words."""

    name = "toy"

    def __init__(self, ctx: GatewayContext) -> None:
        self.platform = ToyPlatform()
        self.conversation: Conversation[Part] = Conversation(
            ctx,
            self.platform,
            policy=AccessPolicy([OWNER.id], []),
            texts=Texts(refusal=lambda p: f"not you, {p.id}", help=lambda p: "help"),
            bot="main",
            scope="toy",
        )
        self._events = itertools.count(1)
        self._run = uuid.uuid4().hex[:8]  # event ids are claimed in Redis, which tests share

    def routes(self, app: web.Application) -> None:
        return None

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        await self.conversation.close()

    async def render(self, event: wire.WireEvent) -> None:
        await self.conversation.render(event)

    async def health(self) -> str:
        return "ok"

    async def say(self, who: Person, chat: str, text: str) -> None:
        incoming = Incoming(
            event_id=f"m{self._run}-{next(self._events)}",
            person=who,
            session_key=f"toy:{chat}",
            target=Target(chat),
            reply_to={"chat": chat},
            text=text,
            lane=chat,
            command=parse_text_command(text),
        )
        await self.conversation.intake.message(incoming)

    async def click(self, who: Person, chat: str, message_id: str, button: Button) -> str:
        card = MessageRef(chat, message_id)
        click = Click(button.approval_id, button.choice, who, card, f"c{next(self._events)}")
        answer = await self.conversation.clicks.handle(click)
        assert answer is not None
        return answer.text


async def _until(check: object, timeout: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():  # type: ignore[operator]
        assert asyncio.get_running_loop().time() < deadline, "not in time"
        await asyncio.sleep(0.02)


async def test_a_toy_platform_runs_a_whole_conversation(redis_url: str, tmp_path: Path) -> None:
    toys: list[ToyChannel] = []

    def channels(ctx: GatewayContext) -> list[Channel]:
        toys.append(ToyChannel(ctx))
        return [toys[0]]

    config = demo_config(tmp_path)
    async with (
        Gateway(config, redis_url, host="127.0.0.1", port=0, channels=channels),
        Background(config, redis_url),
    ):
        toy = toys[0]
        shown = toy.platform
        await toy.say(STRANGER, "dm2", "hello")  # deny by default: one refusal, no turn
        await _until(lambda: shown.texts("dm2") == ["not you, u2"])

        await toy.say(OWNER, "dm1", "hello")  # a message and a streamed answer
        await _until(lambda: any("offline demo bot" in t for t in shown.texts("dm1")))
        assert shown.typed >= 1

        await toy.say(OWNER, "dm1", "remember to buy milk")  # an approval card
        await _until(lambda: any(m.buttons for m in shown.chats["dm1"].values()))
        card_id = next(i for i, m in shown.chats["dm1"].items() if m.buttons)
        approve, reject, *_ = shown.chats["dm1"][card_id].buttons  # a slow client keeps them
        assert "save_note" in shown.chats["dm1"][card_id].text
        assert "to buy milk" in shown.chats["dm1"][card_id].text

        assert await toy.click(STRANGER, "dm1", card_id, approve) == FORBIDDEN
        assert shown.chats["dm1"][card_id].buttons  # nothing changed

        assert await toy.click(OWNER, "dm1", card_id, approve) == "Approved: it runs once."
        await _until(lambda: any("Done, I saved" in t for t in shown.texts("dm1")))
        card = shown.chats["dm1"][card_id]
        assert card.text.endswith("✅ Approved by @owner") and not card.buttons

        again = await toy.click(OWNER, "dm1", card_id, reject)  # a double click
        assert again == "Already decided: ✅ Approved by @owner"


async def test_schedules_and_unschedule_answer_in_the_chat(redis_url: str, tmp_path: Path) -> None:
    toys: list[ToyChannel] = []

    def channels(ctx: GatewayContext) -> list[Channel]:
        toys.append(ToyChannel(ctx))
        return [toys[0]]

    config = demo_config(tmp_path)
    async with Gateway(config, redis_url, host="127.0.0.1", port=0, channels=channels):
        toy, shown = toys[0], toys[0].platform
        store = ScheduleStore(toy.conversation.intake.ctx.redis, config)
        origin = Inbound(channel="toy", session_key="toy:dm1", user_id="u1", text="")
        made = await store.create(
            session_key="toy:dm1",
            prompt="Remind the owner to water the plants.",
            timing=timing_of(config, store.clock.now(), in_seconds=3600),
            source="agent",
            created_by="u1",
            origin=Origin.of(origin),
        )
        sid = made.record.schedule_id

        await toy.say(OWNER, "dm1", "/schedules")
        await _until(lambda: any(sid in t for t in shown.texts("dm1")))
        assert any("water the plants" in t for t in shown.texts("dm1"))
        await toy.say(OWNER, "dm3", "/schedules")  # another conversation sees none of it
        await _until(lambda: shown.texts("dm3") != [])
        assert not any(sid in t for t in shown.texts("dm3"))
        await toy.say(OWNER, "dm3", f"/unschedule {sid}")  # nor can it cancel it
        await _until(lambda: any("No schedule" in t for t in shown.texts("dm3")))
        assert await store.next_run(sid) is not None

        await toy.say(OWNER, "dm1", f"/unschedule {sid}")
        await _until(lambda: any(t.startswith(f"Cancelled {sid}") for t in shown.texts("dm1")))
        assert await store.next_run(sid) is None
        listings = sum("Schedules here" in t for t in shown.texts("dm1"))
        eve = Person("u3", "eve", "Eve")  # (the first test's stranger was refused already)
        await toy.say(eve, "dm1", "/schedules")  # commands are for allowed people only
        await _until(lambda: "not you, u3" in shown.texts("dm1"))
        assert sum("Schedules here" in t for t in shown.texts("dm1")) == listings
