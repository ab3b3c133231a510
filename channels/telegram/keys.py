"""Redis keys of the Telegram channel (the runtime's own are in :mod:`workers.keys`).

- ``facio:telegram:card:{approval_id}`` (hash, TTL): where an approval's card is —
  ``chat_id``, ``message_id``, ``thread_id``, ``requested_by``
- ``facio:telegram:stream:{turn_id}:{agent}`` (JSON, TTL): the answer streaming now
- ``facio:telegram:name:{user_id}`` (TTL): how to show a person who clicked (``@alice``)
- ``facio:telegram:refused:{bot_id}:{user_id}`` (TTL): a stranger was told their id
- ``facio:telegram:poller:{bot_id}`` (PX TTL): the gateway polling this bot
- ``facio:telegram:lane:{bot_id}`` (hash, TTL): updates confirmed to Telegram but
  still waiting or running in a chat's lane, by update id (replayed on the next start)

Update ids are deduplicated with the runtime's ``facio:seen:telegram:{bot_id}:{update_id}``.
"""

from __future__ import annotations

from channels.runtime import KEY_PREFIX as PREFIX

__all__ = ["card", "lane", "name", "poller", "refused", "stream"]

_BASE = PREFIX + "telegram:"


def card(approval_id: str) -> str:
    return f"{_BASE}card:{approval_id}"


def stream(turn_id: str, agent_id: str) -> str:
    return f"{_BASE}stream:{turn_id}:{agent_id}"


def name(user_id: str) -> str:
    return f"{_BASE}name:{user_id}"


def refused(bot_id: int, user_id: int) -> str:
    return f"{_BASE}refused:{bot_id}:{user_id}"


def poller(bot_id: int) -> str:
    return f"{_BASE}poller:{bot_id}"


def lane(bot_id: int) -> str:
    return f"{_BASE}lane:{bot_id}"
