"""A turn's approvals while it runs: record them, hold them, and let them go.

Each :class:`~core.events.ApprovalRequest` the agent yields becomes a durable
record (:meth:`ApprovalHold.record`: the existing one when a retried step
asks again, so a click on the first card still counts). The worker then
holds it in process (:meth:`ApprovalHold.watch`) for ``approvalHold`` seconds:
a decision within that time resumes the agent at once; otherwise the step
asks to park. It parks at once when the worker is under *pressure* — every
job slot taken while work waits in the queue — so turns waiting for a person
never keep other sessions from starting. Approvals raised inside running code
(not parkable) are held until their own expiry: only this process runs that
code. When the approval's deadline comes first the record is expired here,
announced, and the agent told no.

When a turn stops without its approvals decided (stopped, failed, retried
elsewhere after a crash), :meth:`ApprovalHold.abandon` rejects them on the
record (``decided_by`` "facio") and announces it, so their cards say so and
a late click cannot approve what will never run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable

from redis.exceptions import RedisError

from core.events import ApprovalRequest
from workers.approval_record import ABANDONED_BY, ApprovalRecord, Decision, deciders_of
from workers.approvals import ApprovalStore
from workers.decision_effects import effects_of
from workers.flag import Flag
from workers.inbox import TurnRequest
from workers.turn_state import TurnState, TurnStates
from workers.turn_writes import TurnWriter

__all__ = ["HOLD_RETRY", "ApprovalHold"]

logger = logging.getLogger(__name__)

HOLD_RETRY = 1.0
"""Seconds between tries while Redis does not answer a held approval's wait."""


class ApprovalHold:
    """The approvals of the turns running in one worker (see the module docstring)."""

    def __init__(self, approvals: ApprovalStore, pressure: asyncio.Event | None = None) -> None:
        self.approvals = approvals
        self.pressure = pressure or asyncio.Event()
        """Set by the worker while every slot is taken and work waits: holds park."""

    async def record(
        self,
        event: ApprovalRequest,
        request: TurnRequest,
        state: TurnState,
        writer: TurnWriter,
        timeout: float,
    ) -> ApprovalRecord:
        """The durable record of ``event``: the existing one when a retried step asks
        again (``state`` knows it), else a new one, stored and noted in the turn's hash
        by the writer's next write (the one publishing the ``approval_request`` that
        shows it: never one without the other)."""
        if event.parkable:
            existing = state.approvals.get(event.tool_call_id)
            if existing is not None:
                record = await self.approvals.get(existing)
                if record is not None:
                    return record
        inbound = request.inbound
        record = self.approvals.new_record(
            session_key=inbound.session_key,
            turn_id=request.turn_id,
            tool_call_id=event.tool_call_id,
            tool_name=event.tool_name,
            tool_args=event.tool_args,
            deciders=deciders_of(inbound.user_id, inbound.approvers),
            timeout=timeout,
            agent_id=event.agent_id,
            bot=inbound.bot,
            parkable=event.parkable,
            requested_by=inbound.user_id,
        )
        writer.add_approval(record)
        if event.parkable:
            writer.set_fields(**{TurnStates.approval_field(event.tool_call_id): record.approval_id})
        else:  # raised by running code: new each time, never resumed elsewhere
            writer.set_fields(**{TurnStates.inner_field(record.approval_id): record.approval_id})
        return record

    async def pending(self, state: TurnState) -> bool:
        """True while an approval of the turn's step is still undecided."""
        return (await self.read(state))[1]

    async def read(self, state: TurnState) -> tuple[dict[str, bool], bool]:
        """The step's decided approvals (tool call id → granted), and whether one is
        still undecided; each record read once."""
        decisions: dict[str, bool] = {}
        undecided = False
        for tool_call_id, approval_id in state.approvals.items():
            record = await self.approvals.get(approval_id)
            if record is None:
                continue
            if record.status == "pending":
                undecided = True
            else:
                decisions[tool_call_id] = record.status == "approved"
        return decisions, undecided

    async def abandon(self, ids: Iterable[str]) -> None:
        """Reject these approvals where still pending (nothing waits for them any more),
        and say so."""
        for approval_id in ids:
            record = await self.approvals.get(approval_id)
            if record is None or record.status != "pending":
                continue
            effects = effects_of(record, Decision.REJECT, ABANDONED_BY, None)
            await self.approvals.decide(
                approval_id, Decision.REJECT, ABANDONED_BY, operator=True, effects=effects
            )

    async def wait(self, approval_id: str, budget: float) -> ApprovalRecord | None:
        """The decided record within ``budget`` seconds, else None; Redis trouble is waited out.

        A dropped connection (Redis restarting, a blip) ends the blocked read
        with an error; giving up there would leave the turn waiting for the
        agent's own timer while the person's click goes unheard.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + budget
        while (left := deadline - loop.time()) > 0:
            try:
                return await self.approvals.wait(approval_id, left)
            except RedisError as exc:
                logger.warning("holding approval %s: Redis unavailable (%s)", approval_id, exc)
                await asyncio.sleep(min(HOLD_RETRY, left))
        return None

    async def _wait_unless_pressed(
        self, record: ApprovalRecord, budget: float
    ) -> ApprovalRecord | None:
        """:meth:`wait`, cut short (None) when a parkable hold must free its slot."""
        if not record.parkable:
            return await self.wait(record.approval_id, budget)
        waiting = asyncio.create_task(self.wait(record.approval_id, budget))
        pressed = asyncio.create_task(self.pressure.wait())
        try:
            await asyncio.wait({waiting, pressed}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            pressed.cancel()
            if not waiting.done():
                waiting.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await waiting
        if waiting.cancelled():
            logger.info("approval %s parks: the worker's slots are all taken", record.approval_id)
            return None
        return waiting.result()

    async def watch(
        self, event: ApprovalRequest, record: ApprovalRecord, hold: float, park: Flag
    ) -> None:
        """Hold ``event`` for ``hold`` seconds; decide it, or ask the turn to park.

        When the approval's own deadline comes first, the record is expired
        here — not left "pending" for the sweeper while the agent has already
        given up — so a late click is told "expired" instead of winning a
        decision that nothing acts on.
        """
        if not record.parkable:
            hold = record.expires_at - time.time()  # held here until it expires
        budget = min(hold, record.expires_at - time.time())
        decided = await self._wait_unless_pressed(record, budget)
        if decided is None and time.time() >= record.expires_at:
            try:  # announced by the same call
                effects = effects_of(record, None, "", None)
                decided = await self.approvals.expire_if_due(record.approval_id, effects)
            except RedisError as exc:  # undecided as far as we know: park, or never run
                logger.warning("could not expire approval %s: %s", record.approval_id, exc)
        if decided is None or decided.status == "pending":
            if record.parkable:
                park.set()
            else:
                event.approve(False)  # the record could not be expired: never run unasked
            return
        event.approve(decided.status == "approved")
