"""Wire events: written once, parsed once, and the JSON SSE clients read is unchanged."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from core import wire
from core.events import AgentEvent, to_wire
from tests.unit.test_events import SAMPLES

ENVELOPE: dict[str, Any] = {
    "session_key": "telegram:42",
    "turn_id": "turn-7",
    "channel": "telegram",
    "bot": "main",
    "reply_to": {"chat_id": "42"},
    "user_id": "100",
    "ts": 1700000000.5,
}


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_an_agent_event_on_the_wire_is_its_fields_plus_the_envelope(name: str) -> None:
    event: AgentEvent = SAMPLES[name]
    model = wire.from_agent(event, {**ENVELOPE, "idempotency_key": "k"})
    expected = {**to_wire(event, session_key="telegram:42", turn_id="turn-7"), **ENVELOPE}
    assert model.to_wire() == {**expected, "idempotency_key": "k"}
    parsed = wire.parse_wire(json.loads(json.dumps(model.to_wire())))
    assert parsed == model
    assert parsed is not None and parsed.to_wire() == model.to_wire()


def test_optional_fields_nobody_set_stay_off_the_wire() -> None:
    chunk = wire.from_agent(SAMPLES["response_chunk"], ENVELOPE)
    assert "idempotency_key" not in chunk.to_wire()
    finished = wire.TurnFinishedEvent(session_key="api:x", turn_id="t")
    assert finished.to_wire() == {"type": "turn_finished", "session_key": "api:x", "turn_id": "t"}
    stopped = wire.TurnFinishedEvent(session_key="api:x", cancelled=True)
    assert stopped.to_wire()["cancelled"] is True
    assert "schedule_id" not in wire.TurnStartedEvent(session_key="api:x").to_wire()


def test_unknown_types_are_skipped_and_malformed_ones_raise() -> None:
    assert wire.parse_wire({"type": "from_the_future", "session_key": "api:x"}) is None
    assert wire.parse_wire({"session_key": "api:x"}) is None
    with pytest.raises(ValidationError):
        wire.parse_wire({"type": "response", "session_key": "api:x"})  # no content
    with pytest.raises(ValidationError):
        wire.parse_wire({"type": "approval_request", "session_key": "api:x", "tool_name": "t"})
    with pytest.raises(ValidationError):
        wire.parse_wire({"type": "response", "content": "hi"})  # no session


def test_fields_a_newer_writer_adds_are_ignored_and_the_model_is_frozen() -> None:
    event = wire.parse_wire(
        {"type": "response", "session_key": "api:x", "content": "hi", "mood": "sunny"}
    )
    assert isinstance(event, wire.ResponseEvent)
    assert "mood" not in event.to_wire()
    with pytest.raises(ValidationError):
        event.content = "changed"  # type: ignore[misc]
