"""A running turn's events, with chunks coalesced and keys attached.

Streamed chunks are coalesced — one entry per :data:`FLUSH_INTERVAL` or
:data:`FLUSH_BYTES` buffered characters — so a long answer is tens of entries,
not thousands; chunks of a step still buffered when its whole ``response``
comes are dropped (the response carries the same text). A ``response`` waits
for what follows it (at most :data:`FLUSH_INTERVAL`): a plain turn's answer
and its end land in one write. Final events carry an
``idempotency_key`` derived from the turn and the history position, so a
retried turn that publishes a step again is recognised and dropped by the
gateway. Everything goes through the turn's :class:`~workers.turn_writes.TurnWriter`:
fenced by the lease, and a model's answer written to the history in the same
call as its event (:class:`TurnHistory`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence
from typing import Any

from core import wire
from core.events import (
    MAIN_AGENT,
    AgentEvent,
    CodeExecutionOutputChunk,
    Response,
    ResponseChunk,
    ThoughtsChunk,
    wire_type,
)
from core.inbound import Inbound
from core.messages import AssistantMessage, Message
from workers.turn_writes import TurnWriter

__all__ = ["FLUSH_BYTES", "FLUSH_INTERVAL", "TurnHistory", "TurnPublisher"]

FLUSH_INTERVAL = 0.1
FLUSH_BYTES = 2048

Chunk = ResponseChunk | ThoughtsChunk | CodeExecutionOutputChunk


class TurnPublisher:
    """The events of one turn (see the module docstring)."""

    def __init__(
        self,
        writer: TurnWriter,
        inbound: Inbound,
        turn_id: str,
        position: Callable[[], int],
    ) -> None:
        self.writer = writer
        self.inbound = inbound
        self.turn_id = turn_id
        self.position = position
        """The history length now: final events are keyed by where they sit in it."""
        self._buffer: dict[tuple[type, str], list[str]] = {}
        self._buffered = 0
        """Characters waiting in the buffer (kept, not recounted per chunk)."""
        self._flusher: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        """One write at a time, so entries land in the order the turn made them."""
        self.published = 0

    def envelope(self, key: str | None) -> dict[str, Any]:
        """How this turn's events are addressed; ``key`` is the idempotency key (finals)."""
        fields: dict[str, Any] = {
            "session_key": self.inbound.session_key,
            "turn_id": self.turn_id,
            "channel": self.inbound.channel,
            "bot": self.inbound.bot,
            "reply_to": self.inbound.reply_to,
            "user_id": self.inbound.user_id,
            "ts": time.time(),
        }
        if key is not None:
            fields["idempotency_key"] = key
        return fields

    def _queue(self, event: wire.Envelope, *, last: bool = False) -> None:
        self.writer.add_event(event, last=last)
        self.published += 1

    def stage_runtime(
        self, kind: type[wire.Envelope], key: str | None = None, **fields: Any
    ) -> None:
        """Queue a runtime event for the writer's next flush (with other writes)."""
        if key is None:
            key = f"{self.turn_id}:{kind.model_fields['type'].default}"
        # every wire event names an agent (DESIGN.md "Events")
        event = kind(**self.envelope(key), agent_id=MAIN_AGENT, **fields)
        self._queue(event, last=kind is wire.TurnFinishedEvent)

    async def runtime(
        self, kind: type[wire.Envelope], key: str | None = None, **fields: Any
    ) -> None:
        """A runtime event (``TurnStartedEvent``, ``TurnFinishedEvent``, ``ErrorEvent``…)."""
        async with self._lock:
            self._stage_chunks()
            self.stage_runtime(kind, key, **fields)
            await self.writer.flush()

    async def event(self, event: AgentEvent, *, key: str | None = None, **extra: Any) -> None:
        """Publish an agent event; chunks are buffered, everything else flushes them first."""
        if isinstance(event, Chunk):
            text = event.content if not isinstance(event, CodeExecutionOutputChunk) else event.text
            slot = (type(event), event.agent_id)
            self._buffer.setdefault(slot, []).append(text)
            self._buffered += len(text)
            self._ensure_flusher()
            if self._buffered >= FLUSH_BYTES:
                await self.flush()
            return
        if key is None:
            key = f"{self.turn_id}:m{self.position()}:{wire_type(type(event))}"
        data = wire.from_agent(event, self.envelope(key), **extra)
        async with self._lock:
            if isinstance(event, Response):  # the whole text: its unsent chunks are moot
                self._buffer.pop((ResponseChunk, event.agent_id), None)
            self._stage_chunks()
            self._queue(data)
            if isinstance(event, Response):
                # what follows an answer comes at once (the turn's end, a tool call's
                # start): the answer and its history message land with it, in one
                # call; the flush timer writes it should nothing follow in time
                self._ensure_flusher()
                return
            await self.writer.flush()

    async def history(self, messages: Sequence[Message], *, now: bool) -> None:
        """Add to the session's history: at once (``now``), or with the next write."""
        async with self._lock:
            self.writer.add_messages(messages)
            if now:
                self._stage_chunks()
                await self.writer.flush()

    def _ensure_flusher(self) -> None:
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush_later())

    async def _flush_later(self) -> None:
        await asyncio.sleep(FLUSH_INTERVAL)
        self._flusher = None
        await self.flush()

    async def flush(self) -> None:
        """Write the buffered chunks (and anything queued), one entry per kind and agent."""
        async with self._lock:
            self._stage_chunks()
            await self.writer.flush()

    def _stage_chunks(self) -> None:
        buffered, self._buffer, self._buffered = self._buffer, {}, 0
        for (kind, agent_id), parts in buffered.items():
            field = "text" if kind is CodeExecutionOutputChunk else "content"
            chunk = kind(**{field: "".join(parts), "agent_id": agent_id})
            self._queue(wire.from_agent(chunk, self.envelope(None)))

    async def close(self, *, write: bool = True) -> None:
        """Stop the flush timer and write what is left (or, ``write=False``, leave it
        queued for the caller's next flush of the writer, with its own writes)."""
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
            self._flusher = None
        if write:
            await self.flush()
            return
        async with self._lock:
            self._stage_chunks()


class TurnHistory:
    """The session store a turn's agent saves through (:class:`core.sessions.SessionStore`).

    It holds the history the turn started from (read once, with the turn's
    state) and writes through the turn's publisher: a model's answer waits for
    the event that follows it; anything else (a tool call marked started, a
    result) is written at once, before the side effect it precedes.
    """

    def __init__(self, messages: list[Message], publisher: TurnPublisher) -> None:
        self._messages = messages
        self.publisher = publisher

    async def load(self, session_key: str) -> list[Message]:
        return list(self._messages)

    async def append(self, session_key: str, messages: Sequence[Message]) -> None:
        answer = all(isinstance(m, AssistantMessage) for m in messages)
        await self.publisher.history(messages, now=not answer)
        self._messages.extend(messages)

    async def replace(self, session_key: str, messages: Sequence[Message]) -> None:
        raise NotImplementedError("a turn only appends to its session's history")

    async def delete(self, session_key: str) -> None:
        raise NotImplementedError("a turn only appends to its session's history")

    async def keys(self) -> list[str]:
        raise NotImplementedError("a turn knows only its own session")
