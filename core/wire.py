"""Events on the wire: one frozen model per ``type``, written once, parsed once.

Workers publish every event of a turn to the outbox (and the session's SSE
stream) as a JSON object (docs/design.md "Events"); the gateway's consumer parses
each entry into one of these models and hands it to the channel that renders
it. Renderers read typed fields, never ``event.get("…")``.

    WireEvent (one discriminated union on ``type``)
    ├── agent events   thoughts_chunk, thoughts, response_chunk, response,
    │                  approval_request, code_execution_output_chunk,
    │                  code_execution_output, tool_output  (:func:`from_agent`)
    └── runtime events turn_started, turn_finished, approval_decided, error,
                       session_reset

Every event carries the envelope (:class:`Envelope`): which session, turn and
agent it belongs to, which channel renders it and where the answer goes
(``reply_to``, as the channel put it on the inbound message).

The JSON is exactly what the writer set (``exclude_unset``): an optional field
nobody gave (``cancelled`` of an ordinary ``turn_finished``, the
``idempotency_key`` of a chunk) is absent, not ``null``, so the wire format is
the one SSE clients already read. Parsing ignores fields it does not know, so
a newer worker's additions never break an older gateway.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from core.events import MAIN_AGENT, AgentEvent, to_wire

__all__ = [
    "AGENT_EVENTS",
    "ApprovalDecidedEvent",
    "ApprovalRequestEvent",
    "CodeOutputChunkEvent",
    "CodeOutputEvent",
    "Envelope",
    "ErrorEvent",
    "ResponseChunkEvent",
    "ResponseEvent",
    "SessionResetEvent",
    "ThoughtsChunkEvent",
    "ThoughtsEvent",
    "ToolOutputEvent",
    "TurnFinishedEvent",
    "TurnStartedEvent",
    "WireEvent",
    "from_agent",
    "parse_wire",
]

logger = logging.getLogger(__name__)


class Envelope(BaseModel):
    """The fields every wire event has."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    session_key: str
    turn_id: str = ""
    agent_id: str = MAIN_AGENT
    channel: str = ""
    """The channel of the turn's inbound message: who renders this event."""
    bot: str = "main"
    reply_to: dict[str, str] = Field(default_factory=dict)
    """Where the answer goes, as the channel put it on the inbound message."""
    user_id: str = ""
    """The person whose message started the turn."""
    ts: float = 0.0
    """When the event was published (epoch seconds): stale ones are not rendered."""
    idempotency_key: str | None = None
    """Set on final events: a retried turn publishing a step again is rendered once."""

    def to_wire(self) -> dict[str, Any]:
        """The JSON object of this event: ``type`` first, then what the writer set."""
        kind: str = getattr(self, "type", "")
        return {"type": kind, **self.model_dump(mode="json", exclude_unset=True)}


class ThoughtsChunkEvent(Envelope):
    type: Literal["thoughts_chunk"] = "thoughts_chunk"
    content: str


class ThoughtsEvent(Envelope):
    type: Literal["thoughts"] = "thoughts"
    content: str


class ResponseChunkEvent(Envelope):
    type: Literal["response_chunk"] = "response_chunk"
    content: str


class ResponseEvent(Envelope):
    """The model's whole answer for one step: authoritative over the chunks before it."""

    type: Literal["response"] = "response"
    content: str


class ApprovalRequestEvent(Envelope):
    type: Literal["approval_request"] = "approval_request"
    tool_name: str
    tool_args: dict[str, Any] = Field(default_factory=dict)
    tool_call_id: str = ""
    approval_id: str
    parkable: bool = True
    expires_at: float = 0.0
    """Epoch seconds: the approval counts as rejected from then on."""


class CodeOutputChunkEvent(Envelope):
    type: Literal["code_execution_output_chunk"] = "code_execution_output_chunk"
    text: str


class CodeOutputEvent(Envelope):
    type: Literal["code_execution_output"] = "code_execution_output"
    text: str
    images: list[str] = Field(default_factory=list)
    truncated: bool = False
    error: str | None = None


class ToolOutputEvent(Envelope):
    type: Literal["tool_output"] = "tool_output"
    tool_name: str
    tool_call_id: str = ""
    content: str = ""
    is_error: bool = False


class TurnStartedEvent(Envelope):
    type: Literal["turn_started"] = "turn_started"
    user_name: str = ""
    schedule_id: str | None = None
    """Set when a schedule started the turn."""


class TurnFinishedEvent(Envelope):
    type: Literal["turn_finished"] = "turn_finished"
    cancelled: bool = False
    """The person stopped the turn (``/stop``)."""


class ApprovalDecidedEvent(Envelope):
    type: Literal["approval_decided"] = "approval_decided"
    approval_id: str
    tool_name: str = ""
    decision: str = ""
    """``approve``, ``reject``, ``session``, ``always``; ``expired`` when nobody decided."""
    status: str = ""
    """The record's status after the decision: ``approved``, ``rejected``, ``expired``."""
    decided_by: str | None = None


class ErrorEvent(Envelope):
    type: Literal["error"] = "error"
    message: str = "something went wrong"
    error_type: str = ""


class SessionResetEvent(Envelope):
    type: Literal["session_reset"] = "session_reset"


WireEvent = Annotated[
    ThoughtsChunkEvent
    | ThoughtsEvent
    | ResponseChunkEvent
    | ResponseEvent
    | ApprovalRequestEvent
    | CodeOutputChunkEvent
    | CodeOutputEvent
    | ToolOutputEvent
    | TurnStartedEvent
    | TurnFinishedEvent
    | ApprovalDecidedEvent
    | ErrorEvent
    | SessionResetEvent,
    Field(discriminator="type"),
]

_ADAPTER: TypeAdapter[WireEvent] = TypeAdapter(WireEvent)

AGENT_EVENTS: dict[str, type[Envelope]] = {
    model.model_fields["type"].default: model
    for model in (
        ThoughtsChunkEvent,
        ThoughtsEvent,
        ResponseChunkEvent,
        ResponseEvent,
        ApprovalRequestEvent,
        CodeOutputChunkEvent,
        CodeOutputEvent,
        ToolOutputEvent,
    )
}
"""The wire model of each agent event type (``core.events``)."""

_RUNTIME_EVENTS: tuple[type[Envelope], ...] = (
    TurnStartedEvent,
    TurnFinishedEvent,
    ApprovalDecidedEvent,
    ErrorEvent,
    SessionResetEvent,
)
_KNOWN = frozenset(
    str(model.model_fields["type"].default) for model in (*AGENT_EVENTS.values(), *_RUNTIME_EVENTS)
)


def from_agent(event: AgentEvent, envelope: Mapping[str, Any], **extra: Any) -> Envelope:
    """The wire model of an agent event, addressed by ``envelope`` (plus ``extra`` fields)."""
    data = to_wire(event, session_key=str(envelope["session_key"]), turn_id="")
    data.update(envelope)
    data.update(extra)
    model = AGENT_EVENTS[data.pop("type")]
    return model.model_validate(data)


def parse_wire(data: Mapping[str, Any]) -> WireEvent | None:
    """The event ``data`` holds; None for a type this version does not know (logged).

    Raises ``pydantic.ValidationError`` for a known type with missing or
    malformed fields: the caller logs and drops it (a poison event must not
    block its session).
    """
    kind = data.get("type")
    if kind not in _KNOWN:
        logger.debug("skipping an event of unknown type %r", kind)
        return None
    return _ADAPTER.validate_python(data)
