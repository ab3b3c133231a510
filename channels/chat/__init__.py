"""The platform-neutral conversation layer: a chat platform is translation on top of it.

| module | concern |
| --- | --- |
| :mod:`.platform` | the :class:`ChatPlatform` protocol: targets, parts, limits, people |
| :mod:`.conversation` | the layer wired for one platform (what a channel holds) |
| :mod:`.intake` | messages in: access, refusals, commands, files, lanes, turns |
| :mod:`.access`, :mod:`.commands` | allowFrom and approvers; ``/new`` ``/stop`` ``/help`` |
| :mod:`.render`, :mod:`.stream`, :mod:`.presence` | outbox events → messages, edits, typing |
| :mod:`.cards`, :mod:`.clicks` | approval cards (content, outcome, location), button clicks |
| :mod:`.errors` | :class:`ChatError`, the base of every platform's errors |

How to add a platform: docs/channels.md, "Adding a platform".
"""

from channels.chat.access import AccessPolicy
from channels.chat.cards import CardView
from channels.chat.clicks import Click, ClickAnswer
from channels.chat.commands import Command, parse_text_command
from channels.chat.conversation import Conversation
from channels.chat.errors import ChatError, FileTooLarge
from channels.chat.intake import Incoming, IncomingFile, Texts
from channels.chat.platform import Button, ChatPlatform, Limits, MessageRef, Person, Target

__all__ = [
    "AccessPolicy",
    "Button",
    "CardView",
    "ChatError",
    "ChatPlatform",
    "Click",
    "ClickAnswer",
    "Command",
    "Conversation",
    "FileTooLarge",
    "Incoming",
    "IncomingFile",
    "Limits",
    "MessageRef",
    "Person",
    "Target",
    "Texts",
    "parse_text_command",
]
