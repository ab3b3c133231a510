"""A turn's progress in Redis, typed: ``facio:turn:{turn_id}`` (a hash, one day).

    appended        "1" once the prompt is in the history (a retry must not append it again)
    start           the history length before the prompt: where this turn's messages begin
    running         the holder (``<worker>:<job>``) while an attempt runs; left set by a crash,
                    which tells the next attempt to publish the turn's steps again
    approval:<call> the approval id of a top-level tool call waiting for consent (parkable)
    inner:<id>      an approval raised inside running code (held in process, never parked)

:class:`TurnState` is what one read of the hash says; :class:`TurnStates`
reads it (the turn's writes, :mod:`workers.turn_writes`, write it).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from redis.asyncio import Redis

from workers import keys
from workers.codec import text
from workers.redis_calls import hgetall

__all__ = ["TURN_TTL", "TurnState", "TurnStates"]

TURN_TTL = 24 * 3600
_APPROVAL = "approval:"
_INNER = "inner:"


@dataclass(frozen=True)
class TurnState:
    """One read of a turn's hash (see the module docstring)."""

    appended: bool = False
    start: int = 0
    running: str = ""
    approvals: dict[str, str] = field(default_factory=dict)
    """Tool call id → approval id, for the step's parkable approvals."""
    inner: tuple[str, ...] = ()
    """Approval ids raised inside running code."""

    @classmethod
    def parse(cls, raw: dict[bytes | str, bytes | str]) -> TurnState:
        fields = {text(k): text(v) for k, v in raw.items()}
        return cls(
            appended="appended" in fields,
            start=int(fields.get("start", "0") or 0),
            running=fields.get("running", ""),
            approvals={
                name.removeprefix(_APPROVAL): value
                for name, value in fields.items()
                if name.startswith(_APPROVAL)
            },
            inner=tuple(v for name, v in fields.items() if name.startswith(_INNER)),
        )


class TurnStates:
    """The turn hashes of one Redis (read here; written with the turn's other writes,
    :mod:`workers.turn_writes`)."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def get(self, turn_id: str) -> TurnState:
        return TurnState.parse(await hgetall(self.redis, keys.turn(turn_id)))

    @staticmethod
    def approval_field(tool_call_id: str) -> str:
        return _APPROVAL + tool_call_id

    @staticmethod
    def inner_field(approval_id: str) -> str:
        return _INNER + approval_id
