"""What the chat layer asks of a platform: the :class:`ChatPlatform` protocol and its words.

A platform (Telegram, Slack, Discord) is translation only: it says where a
message goes (:class:`Target`), turns the model's Markdown and facio's own
notes into its message format (a *part*: one message's worth, with a
fingerprint), sends, edits and deletes messages, shows a sign of life, draws
an approval card with its buttons, and answers a click. Everything else —
who may talk, commands, streaming by edits, cards and clicks, the order of
updates — is :mod:`channels.chat`, written once.

Identifiers are strings here, whatever the platform uses (Telegram's integer
chat ids, Slack's ``C…``/``ts``, Discord's snowflakes), so the chat layer can
keep them in Redis and the platform parses its own back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from channels.chat.cards import CardView
from channels.runtime import Decision
from core import wire

__all__ = [
    "Button",
    "ChatPlatform",
    "Limits",
    "MessageRef",
    "Part",
    "PartT",
    "Person",
    "Target",
]


@dataclass(frozen=True, slots=True)
class Target:
    """Where a message goes: a chat (channel, DM), maybe a thread in it, maybe as a reply."""

    chat: str
    thread: str = ""
    """A forum topic (Telegram), a thread's ``ts`` (Slack), a thread channel (Discord)."""
    reply_to: str = ""
    """The person's message to answer (groups, so it is clear whom the bot answers)."""
    group: bool = False
    """A group chat: several people, slower edit rates, names shown."""

    def __str__(self) -> str:
        return f"chat {self.chat}" + (f" thread {self.thread}" if self.thread else "")


@dataclass(frozen=True, slots=True)
class MessageRef:
    """A message the bot sent, as the platform finds it again to edit or delete it."""

    chat: str
    id: str


@dataclass(frozen=True, slots=True)
class Person:
    """Someone who writes or clicks, as the platform knows them."""

    id: str
    username: str = ""
    """Without ``@``; "" when the platform has none."""
    name: str = ""
    """The display name ("Alice Smith")."""
    is_bot: bool = False

    @property
    def shown(self) -> str:
        """How a card or a group prefix names them: ``@username``, else the name, else the id."""
        if self.username:
            return f"@{self.username}"
        return self.name.strip() or self.id


@dataclass(frozen=True, slots=True)
class Limits:
    """The platform's limits that the shared layer must respect."""

    message: int
    """Longest message, in the platform's own units (what :meth:`ChatPlatform.measure` counts)."""
    edit_interval: float
    """Seconds between edits of a streamed message."""
    group_edit_interval: float
    """The same in group chats (platforms allow fewer edits per minute there)."""
    card_arguments: int
    """Units of tool arguments an approval card shows before it says how much is cut."""
    typing_every: float
    """Seconds between signs of life while a turn works (the platform's indicator lasts longer)."""


@dataclass(frozen=True, slots=True)
class Button:
    """One approval button: its label and what a click on it decides (never the label)."""

    label: str
    approval_id: str
    choice: Decision


class Part(Protocol):
    """One message's worth of content in the platform's format."""

    def key(self) -> str:
        """A fingerprint: equal keys mean an edit would change nothing."""
        ...


PartT = TypeVar("PartT", bound=Part)


class ChatPlatform(Protocol[PartT]):
    """A chat platform as :mod:`channels.chat` drives it (see the module docstring).

    Every method that talks to the platform raises the platform's error, a
    :class:`channels.chat.errors.ChatError`, for what retrying will not fix;
    rate limits are waited out inside.
    """

    name: str
    """The channel's name: ``telegram``, ``slack``, ``discord``."""
    title: str
    """How people call it in sentences: ``Telegram``."""
    limits: Limits

    def target_of(self, event: wire.Envelope) -> Target | None:
        """Where an event of a turn goes: its ``reply_to``, else its session key."""
        ...

    def measure(self, text: str) -> int:
        """``text``'s length in the units of :attr:`Limits.message`."""
        ...

    def markdown(self, text: str) -> list[PartT]:
        """The model's Markdown as one or more messages, each within the limits."""
        ...

    def plain(self, text: str) -> list[PartT]:
        """facio's own words (notes, errors), sent as written."""
        ...

    def quoted(self, text: str) -> PartT:
        """The model's thoughts, set apart (a quote), cut to one message."""
        ...

    def card(self, view: CardView) -> PartT:
        """An approval card: the tool, its arguments, who asked, and its outcome if any."""
        ...

    async def send(
        self, target: Target, part: PartT, *, buttons: Sequence[Sequence[Button]] = ()
    ) -> MessageRef:
        """Send one message (with rows of buttons); where it landed."""
        ...

    async def edit(self, ref: MessageRef, part: PartT) -> None:
        """Replace a message's content; its buttons go (cards lose them when decided)."""
        ...

    async def delete(self, ref: MessageRef) -> None: ...

    async def strip_buttons(self, ref: MessageRef) -> None:
        """Remove a card's buttons, keeping its text (its approval is gone)."""
        ...

    async def typing(self, target: Target) -> None:
        """One sign of life (never raises: the next one comes soon)."""
        ...

    async def done_typing(self, target: Target) -> None:
        """The turn stopped working (for platforms whose sign of life must be removed)."""
        ...
