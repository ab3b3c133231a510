"""Agent events: their wire form and the approval request's decision rules."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import pytest

from core.events import (
    EVENT_TYPES,
    AgentEvent,
    ApprovalRequest,
    CodeExecutionOutput,
    CodeExecutionOutputChunk,
    Response,
    ResponseChunk,
    Thoughts,
    ThoughtsChunk,
    ToolOutput,
    new_approval_id,
    to_wire,
)

SAMPLES: dict[str, AgentEvent] = {
    "thoughts_chunk": ThoughtsChunk(content="hmm", agent_id="sub-1a2b"),
    "thoughts": Thoughts(content="hmm, so"),
    "response_chunk": ResponseChunk(content="Hel"),
    "response": Response(content="Hello"),
    "approval_request": ApprovalRequest(
        tool_name="save_note",
        tool_args={"text": "milk", "tags": ["a", "b"]},
        tool_call_id="call_1",
        approval_id="fixed-id",
    ),
    "code_execution_output_chunk": CodeExecutionOutputChunk(text="1\n"),
    "code_execution_output": CodeExecutionOutput(
        text="done", images=("out/a.png", "out/b.png"), truncated=True, error="boom"
    ),
    "tool_output": ToolOutput(tool_name="list_notes", tool_call_id="call_2", content="- milk"),
}


def _wire(event: AgentEvent) -> dict[str, Any]:
    return to_wire(event, session_key="telegram:42", turn_id="turn-7")


def test_samples_cover_every_event_type() -> None:
    assert {type(e) for e in SAMPLES.values()} == set(EVENT_TYPES)
    assert len(EVENT_TYPES) == len(SAMPLES)


@pytest.mark.parametrize("expected_type", sorted(SAMPLES))
def test_wire_type_is_snake_case(expected_type: str) -> None:
    assert _wire(SAMPLES[expected_type])["type"] == expected_type


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_wire_carries_routing_fields_and_is_json(name: str) -> None:
    event = SAMPLES[name]
    data = _wire(event)
    assert data["session_key"] == "telegram:42"
    assert data["turn_id"] == "turn-7"
    assert data["agent_id"] == event.agent_id
    assert json.loads(json.dumps(data)) == data
    assert not [key for key in data if key.startswith("_")]


def test_wire_has_the_events_own_fields() -> None:
    assert _wire(SAMPLES["thoughts_chunk"]) == {
        "type": "thoughts_chunk",
        "session_key": "telegram:42",
        "turn_id": "turn-7",
        "content": "hmm",
        "agent_id": "sub-1a2b",
    }
    assert _wire(SAMPLES["tool_output"]) == {
        "type": "tool_output",
        "session_key": "telegram:42",
        "turn_id": "turn-7",
        "tool_name": "list_notes",
        "tool_call_id": "call_2",
        "content": "- milk",
        "is_error": False,
        "agent_id": "main",
    }


def test_wire_converts_tuples_to_lists() -> None:
    data = _wire(SAMPLES["code_execution_output"])
    assert data["images"] == ["out/a.png", "out/b.png"]
    assert data["truncated"] is True
    assert data["error"] == "boom"
    assert data["text"] == "done"


def test_approval_request_on_the_wire_omits_private_state() -> None:
    request = ApprovalRequest(tool_name="save_note", tool_args={"text": "milk"})
    request.approve(True)
    data = _wire(request)
    assert data == {
        "type": "approval_request",
        "session_key": "telegram:42",
        "turn_id": "turn-7",
        "tool_name": "save_note",
        "tool_args": {"text": "milk"},
        "tool_call_id": "",
        "agent_id": "main",
        "parkable": True,
        "approval_id": request.approval_id,
    }


def test_first_decision_wins() -> None:
    request = ApprovalRequest(tool_name="t", tool_args={})
    assert request.decision is None
    assert request.approve(False) is True
    assert request.approve(True) is False
    assert request.approve() is False
    assert request.decision is False


def test_approve_defaults_to_granting() -> None:
    request = ApprovalRequest(tool_name="t", tool_args={})
    assert request.approve() is True
    assert request.decision is True


async def test_wait_returns_decision_made_meanwhile() -> None:
    request = ApprovalRequest(tool_name="t", tool_args={})
    waiter = asyncio.create_task(request.wait(timeout=5))
    await asyncio.sleep(0)
    assert not waiter.done()
    request.approve(True)
    assert await waiter is True


async def test_wait_after_decision_returns_at_once() -> None:
    request = ApprovalRequest(tool_name="t", tool_args={})
    request.approve(False)
    assert await request.wait(timeout=0) is False


async def test_wait_timeout_is_a_rejection() -> None:
    request = ApprovalRequest(tool_name="t", tool_args={})
    assert await request.wait(timeout=0.01) is False
    assert request.decision is False
    # a click that arrives after the timeout changes nothing
    assert request.approve(True) is False
    assert request.decision is False
    assert await request.wait(timeout=0.01) is False


async def test_many_waiters_see_the_same_decision() -> None:
    request = ApprovalRequest(tool_name="t", tool_args={})
    waiters = [asyncio.create_task(request.wait(timeout=5)) for _ in range(3)]
    await asyncio.sleep(0)
    request.approve(True)
    assert await asyncio.gather(*waiters) == [True, True, True]


def test_approval_ids_are_unique_short_and_url_safe() -> None:
    ids = [new_approval_id() for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    for approval_id in ids:
        assert 0 < len(approval_id) <= 22
        assert re.fullmatch(r"[A-Za-z0-9_-]+", approval_id)


def test_each_request_gets_its_own_id() -> None:
    first = ApprovalRequest(tool_name="t", tool_args={})
    second = ApprovalRequest(tool_name="t", tool_args={})
    assert first.approval_id != second.approval_id
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,22}", first.approval_id)
