"""Who wrote: Slack events carry only a user id; ``users.info`` gives the handle and the name.

The chat layer wants a :class:`~channels.chat.platform.Person`: the handle
for ``@username`` entries of ``allowFrom``/``approvers`` and cards ("Asked by
@alice"), the display name for the prefix the model sees in channels
("Alice: …"). Lookups are cached in memory for an hour (at most
:data:`CACHED` people); a failed lookup (no ``users:read`` scope, Slack
unreachable) gives the bare id, so the message still goes through — only
``@username`` entries cannot match it then.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from channels.chat.platform import Person
from channels.slack.errors import SlackChannelError
from channels.slack.web import SlackApi

__all__ = ["CACHED", "TTL", "People"]

logger = logging.getLogger(__name__)

TTL = 3600.0
CACHED = 10_000


class People:
    """``users.info``, cached (see the module docstring)."""

    def __init__(self, api: SlackApi, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.api = api
        self.clock = clock
        self._known: OrderedDict[str, tuple[float, Person]] = OrderedDict()

    async def person(self, user_id: str) -> Person:
        found = self._known.get(user_id)
        if found is not None and self.clock() - found[0] < TTL:
            return found[1]
        try:
            reply = await self.api.get("users.info", user=user_id)
        except SlackChannelError as exc:
            logger.info("slack: who is %s is unknown (%s)", user_id, exc)
            return Person(user_id)
        user = reply.get("user")
        if not isinstance(user, dict):
            return Person(user_id)
        found = user.get("profile")
        profile: dict[str, Any] = found if isinstance(found, dict) else {}
        name = str(
            profile.get("real_name") or user.get("real_name") or profile.get("display_name") or ""
        )
        person = Person(user_id, str(user.get("name") or ""), name, bool(user.get("is_bot")))
        self._known[user_id] = (self.clock(), person)
        self._known.move_to_end(user_id)
        while len(self._known) > CACHED:
            self._known.popitem(last=False)
        return person
