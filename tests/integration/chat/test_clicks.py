"""A click the platform delivers again (Telegram re-sends an update until a poll confirms
it) is never dropped as a duplicate before it was decided (channels.chat.clicks)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from channels.chat import AccessPolicy, Click, MessageRef, Person
from channels.chat.cards import CardStore
from channels.chat.clicks import DONE, ClickHandler
from channels.metrics import Metrics
from channels.runtime import RuntimeClient
from tests.integration.chat.test_toy_platform import ToyPlatform
from workers.approval_record import ApprovalRecord, Decision
from workers.worker import connect

OWNER = Person("u1", "owner", "Owner")


class Died(BaseException):
    """The gateway process dying at this point: nothing after it runs, nothing catches it."""


class DyingCards(CardStore):
    """Dies between reading the approval and deciding it (where a SIGKILL may land)."""

    async def remember_name(self, identity: str, shown: str) -> None:
        raise Died


@pytest.fixture
async def runtime(redis_url: str) -> AsyncIterator[RuntimeClient]:
    pool = await connect(redis_url)
    yield RuntimeClient(pool)
    await pool.aclose()


def _handler(runtime: RuntimeClient, cards: type[CardStore] = CardStore) -> ClickHandler:
    return ClickHandler(
        runtime, ToyPlatform(), AccessPolicy([OWNER.id], []), cards(runtime, "toy"), Metrics()
    )


async def _pending(runtime: RuntimeClient) -> ApprovalRecord:
    record = runtime.approvals.new_record(
        session_key=f"toy:{uuid.uuid4().hex[:8]}",
        turn_id="turn-1",
        tool_call_id="call-1",
        tool_name="save_note",
        tool_args={"text": "x"},
        deciders=[OWNER.id],
        timeout=3600,
    )
    await runtime.approvals.create(record)
    return record


async def test_a_click_whose_first_handling_died_is_decided_when_delivered_again(
    runtime: RuntimeClient,
) -> None:
    record = await _pending(runtime)
    click = Click(
        record.approval_id, Decision.APPROVE, OWNER, MessageRef("c", "1"), uuid.uuid4().hex
    )

    with pytest.raises(Died):
        await _handler(runtime, DyingCards).handle(click)
    answer = await _handler(runtime).handle(click)  # the platform delivers it again

    assert answer is not None and answer.text == DONE[Decision.APPROVE]
    decided = await runtime.approval(record.approval_id)
    assert decided is not None and decided.status == "approved"


async def test_a_click_delivered_again_after_it_was_handled_is_not_answered_twice(
    runtime: RuntimeClient,
) -> None:
    record = await _pending(runtime)
    click = Click(
        record.approval_id, Decision.APPROVE, OWNER, MessageRef("c", "1"), uuid.uuid4().hex
    )
    handler = _handler(runtime)

    first = await handler.handle(click)
    again = await handler.handle(click)

    assert first is not None and first.decided
    assert again is None
