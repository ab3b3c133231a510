"""The ten conversations of the chaos soak (``test_chaos_soak.py``), and what each must
end as: its history turn by turn, the final events its person is shown, nothing left
queued."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from redis.asyncio import Redis

from core.agent.tool_step import INTERRUPTED
from core.messages import AssistantMessage, ToolResult, ToolStarted, UserMessage
from workers import keys

__all__ = [
    "SESSIONS",
    "TURNS",
    "Session",
    "conversations",
    "expected_events",
    "expected_turn",
    "settled",
]

SESSIONS = 10
TURNS = 10


@dataclass
class Session:
    """One conversation: its prompts, which of them save a note, its own dice."""

    key: str
    prompts: list[str]
    saves: tuple[int, int]
    rng: random.Random
    decided: list[str] = field(default_factory=list)

    def what(self, j: int) -> str:
        return self.prompts[j].removeprefix("save ")


def conversations(seed: int) -> list[Session]:
    made = []
    for i in range(SESSIONS):
        rng = random.Random(seed * 100 + i)
        saves = (rng.randint(1, 4), rng.randint(5, TURNS - 1))
        prompts = [f"save s{i} n{j}" if j in saves else f"s{i} m{j}" for j in range(TURNS)]
        made.append(Session(f"api:soak-{i}", prompts, saves, rng))
    return made


def expected_turn(session: Session, j: int, interrupted: bool) -> list[tuple[type, str]]:
    """The history of turn ``j``: its prompt, then the answer (or the approved tool call)."""
    prompt = session.prompts[j]
    if j not in session.saves:
        return [(UserMessage, prompt), (AssistantMessage, f"You said: {prompt}")]
    said = INTERRUPTED if interrupted else f"Saved note: {session.what(j)}"
    return [
        (UserMessage, prompt),
        (AssistantMessage, f"Saving {session.what(j)}."),
        (ToolStarted, ""),
        (ToolResult, said),
        (AssistantMessage, f"Tool said: {said}"),
    ]


def expected_events(session: Session, j: int, interrupted: bool) -> list[tuple[str, str]]:
    """The final events of turn ``j`` as its person is shown them."""
    prompt = session.prompts[j]
    if j not in session.saves:
        return [("turn_started", ""), ("response", f"You said: {prompt}"), ("turn_finished", "")]
    said = INTERRUPTED if interrupted else f"Saved note: {session.what(j)}"
    return [
        ("turn_started", ""),
        ("response", f"Saving {session.what(j)}."),
        ("approval_request", ""),
        ("approval_decided", ""),
        ("tool_output", said),
        ("response", f"Tool said: {said}"),
        ("turn_finished", ""),
    ]


async def settled(redis: Redis, sessions: list[Session]) -> bool:
    """Nothing queued, leased, parked or pending any more."""
    for s in sessions:
        for key in (keys.inbox, keys.sched, keys.lease, keys.parked):
            if await redis.exists(key(s.key)):
                return False
    return not (await redis.zcard(keys.ACTIVE) or await redis.zcard(keys.PENDING_APPROVALS))
