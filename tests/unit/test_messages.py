"""The typed history: tool-call bookkeeping and the JSON form of messages."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from core.messages import (
    AssistantMessage,
    Message,
    ToolCall,
    ToolResult,
    ToolStarted,
    UserMessage,
    message_from_json,
    message_to_json,
    pending_tool_calls,
    started_tool_calls,
)

A = ToolCall(id="a", name="save_note", arguments='{"text": "milk"}')
B = ToolCall(id="b", name="current_time")
C = ToolCall(id="c", name="list_notes")


def _result(call: ToolCall) -> ToolResult:
    return ToolResult(tool_call_id=call.id, name=call.name, content="ok")


ASKING = AssistantMessage(content="Let me.", tool_calls=(A, B, C))


def test_empty_history_has_nothing_pending() -> None:
    assert pending_tool_calls([]) is None


def test_user_message_last_has_nothing_pending() -> None:
    assert pending_tool_calls([UserMessage(content="hi")]) is None


def test_assistant_without_tool_calls_has_nothing_pending() -> None:
    history: list[Message] = [UserMessage(content="hi"), AssistantMessage(content="hello")]
    assert pending_tool_calls(history) is None


def test_all_calls_answered_has_nothing_pending() -> None:
    history: list[Message] = [
        UserMessage(content="go"),
        ASKING,
        _result(B),
        _result(A),
        _result(C),
    ]
    assert pending_tool_calls(history) is None


def test_unanswered_calls_are_pending_in_model_order() -> None:
    history: list[Message] = [UserMessage(content="go"), ASKING, ToolStarted(tool_call_id="b")]
    assert pending_tool_calls(history) == (ASKING, [A, B, C])


def test_partly_answered_step_lists_only_the_missing_calls() -> None:
    history: list[Message] = [
        UserMessage(content="go"),
        ASKING,
        ToolStarted(tool_call_id="b"),
        _result(B),
        ToolStarted(tool_call_id="c"),
    ]
    assert pending_tool_calls(history) == (ASKING, [A, C])


def test_results_before_the_assistant_message_do_not_count() -> None:
    # an older step used the same id; only results after the asking message count
    history: list[Message] = [
        AssistantMessage(tool_calls=(A,)),
        _result(A),
        UserMessage(content="again"),
        ASKING,
    ]
    assert pending_tool_calls(history) == (ASKING, [A, B, C])


def test_user_message_after_the_calls_means_nothing_pending() -> None:
    history: list[Message] = [ASKING, _result(A), UserMessage(content="never mind")]
    assert pending_tool_calls(history) is None


def test_a_later_answer_closes_the_step() -> None:
    history: list[Message] = [ASKING, _result(A), _result(B), _result(C), AssistantMessage()]
    assert pending_tool_calls(history) is None


def test_started_tool_calls_collects_markers() -> None:
    history: list[Message] = [
        ASKING,
        ToolStarted(tool_call_id="a"),
        _result(A),
        ToolStarted(tool_call_id="c"),
    ]
    assert started_tool_calls(history) == {"a", "c"}
    assert started_tool_calls([ASKING, _result(A)]) == set()
    assert started_tool_calls([]) == set()


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ('{"text": "milk", "n": 2}', {"text": "milk", "n": 2}),
        ("{}", {}),
        ("", {}),
        ('{"nested": {"list": [1, "x"]}}', {"nested": {"list": [1, "x"]}}),
    ],
)
def test_parsed_arguments(arguments: str, expected: dict[str, object]) -> None:
    assert ToolCall(id="x", name="t", arguments=arguments).parsed_arguments() == expected


def test_default_arguments_are_an_empty_object() -> None:
    assert ToolCall(id="x", name="t").parsed_arguments() == {}


@pytest.mark.parametrize("arguments", ["[1, 2]", '"text"', "42", "null", "true"])
def test_parsed_arguments_rejects_non_objects(arguments: str) -> None:
    with pytest.raises(ValueError, match="must be a JSON object"):
        ToolCall(id="x", name="t", arguments=arguments).parsed_arguments()


def test_parsed_arguments_rejects_invalid_json() -> None:
    with pytest.raises(ValueError):
        ToolCall(id="x", name="t", arguments='{"text": ').parsed_arguments()


@pytest.mark.parametrize(
    "message",
    [
        UserMessage(content="héllo 👋\nline two", user="U1"),
        UserMessage(content="anonymous"),
        AssistantMessage(
            content="answer",
            thinking="reasoning",
            thinking_signature="c2lnbmF0dXJl",
            tool_calls=(A, B),
        ),
        AssistantMessage(),
        ToolStarted(tool_call_id="a"),
        ToolResult(tool_call_id="a", name="save_note", content="oops", is_error=True),
    ],
    ids=["user", "user-anonymous", "assistant-full", "assistant-empty", "started", "result"],
)
def test_json_round_trip(message: Message) -> None:
    text = message_to_json(message)
    assert "\n" not in text  # one message, one JSONL line
    assert message_from_json(text) == message
    assert message_from_json(text.encode()) == message
    assert type(message_from_json(text)) is type(message)


def test_role_discriminates_on_the_wire() -> None:
    roles = [
        json.loads(message_to_json(m))["role"]
        for m in (UserMessage(content=""), AssistantMessage(), ToolStarted(tool_call_id="x"))
    ]
    roles.append(json.loads(message_to_json(_result(A)))["role"])
    assert roles == ["user", "assistant", "tool_started", "tool"]


@pytest.mark.parametrize(
    "text",
    [
        '{"role": "system", "content": "x"}',
        '{"content": "no role"}',
        '{"role": "user", "content": "x", "extra": true}',
        '{"role": "tool", "tool_call_id": "a", "content": "no name"}',
        "not json",
    ],
)
def test_message_from_json_rejects_anything_else(text: str) -> None:
    with pytest.raises(ValidationError):
        message_from_json(text)


def test_messages_are_immutable() -> None:
    message = UserMessage(content="x")
    with pytest.raises(ValidationError):
        message.content = "changed"  # type: ignore[misc]
