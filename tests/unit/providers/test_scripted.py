"""ScriptedProvider: rules chosen from the last input, streamed like a real API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from bots import builtin_scripts
from core.messages import AssistantMessage, Message, ToolResult, ToolStarted, UserMessage
from core.providers.base import (
    STOP_END_TURN,
    STOP_TOOL_USE,
    ModelRequest,
    ModelTurn,
    Provider,
    StreamPart,
    TextDelta,
    ThinkingDelta,
)
from core.providers.scripted import RECORDED_REQUESTS, Script, ScriptedProvider


def _script(*rules: dict[str, Any], **extra: Any) -> Script:
    return Script.model_validate({"rules": list(rules), **extra})


async def _parts(provider: ScriptedProvider, *messages: Message) -> list[StreamPart]:
    request = ModelRequest(model="scripted", system_prompt="", messages=list(messages))
    return [part async for part in provider.stream(request)]


async def _turn(provider: ScriptedProvider, *messages: Message) -> ModelTurn:
    parts = await _parts(provider, *messages)
    assert isinstance(parts[-1], ModelTurn)
    assert not any(isinstance(p, ModelTurn) for p in parts[:-1])
    return parts[-1]


def _user(text: str) -> UserMessage:
    return UserMessage(content=text)


def _tool_result(name: str, content: str) -> ToolResult:
    return ToolResult(tool_call_id="call_x", name=name, content=content)


def test_is_a_provider() -> None:
    assert isinstance(ScriptedProvider(Script()), Provider)


async def test_first_matching_rule_wins() -> None:
    provider = ScriptedProvider(
        _script(
            {"match": "milk", "text": "first"},
            {"match": "buy", "text": "second"},
            {"match": ".*", "text": "catch-all"},
        )
    )
    assert (await _turn(provider, _user("buy milk"))).message.content == "first"
    assert (await _turn(provider, _user("buy bread"))).message.content == "second"
    assert (await _turn(provider, _user("hello"))).message.content == "catch-all"


async def test_match_is_searched_in_the_last_input_only() -> None:
    provider = ScriptedProvider(_script({"match": "^second$", "text": "yes"}, fallback="no"))
    history: list[Message] = [_user("first"), AssistantMessage(content="ok"), _user("second")]
    assert (await _turn(provider, *history)).message.content == "yes"
    history = [_user("second"), AssistantMessage(content="ok"), _user("first")]
    assert (await _turn(provider, *history)).message.content == "no"


async def test_on_user_and_on_tool_filter_the_input() -> None:
    provider = ScriptedProvider(
        _script(
            {"on": "tool", "match": "x", "text": "from tool"},
            {"on": "user", "match": "x", "text": "from user"},
        )
    )
    assert (await _turn(provider, _user("x"))).message.content == "from user"
    result = _tool_result("any_tool", "x")
    assert (await _turn(provider, _user("go"), result)).message.content == "from tool"


async def test_tool_filter_names_the_tool() -> None:
    provider = ScriptedProvider(
        _script(
            {"on": "tool", "tool": "save_note", "match": ".*", "text": "saved"},
            {"on": "tool", "match": ".*", "text": "other tool"},
        )
    )
    saved = _tool_result("save_note", "ok")
    listed = _tool_result("list_notes", "ok")
    assert (await _turn(provider, saved)).message.content == "saved"
    assert (await _turn(provider, listed)).message.content == "other tool"


async def test_markers_and_assistant_messages_are_not_inputs() -> None:
    provider = ScriptedProvider(
        _script({"on": "tool", "match": "result", "text": "saw the result"})
    )
    history: list[Message] = [
        _user("go"),
        AssistantMessage(content="calling"),
        _tool_result("t", "result"),
        ToolStarted(tool_call_id="call_y"),
    ]
    assert (await _turn(provider, *history)).message.content == "saw the result"


async def test_groups_expand_in_text_thinking_and_nested_arguments() -> None:
    provider = ScriptedProvider(
        _script(
            {
                "match": r"send (?P<what>\w+) to (\w+)",
                "text": r"Sending \g<what> to \2.",
                "thinking": r"They want \1.",
                "toolCalls": [
                    {
                        "name": "send",
                        "arguments": {
                            "item": r"\g<what>",
                            "meta": {"to": [r"\2", "literal"], "count": 3, "flag": True},
                        },
                    }
                ],
            }
        )
    )
    turn = await _turn(provider, _user("please send milk to ann"))
    assert turn.message.content == "Sending milk to ann."
    assert turn.message.thinking == "They want milk."
    (call,) = turn.message.tool_calls
    assert call.name == "send"
    assert call.parsed_arguments() == {
        "item": "milk",
        "meta": {"to": ["ann", "literal"], "count": 3, "flag": True},
    }


async def test_fallback_when_nothing_matches() -> None:
    provider = ScriptedProvider(_script({"on": "tool", "text": "no"}, fallback="I don't know."))
    turn = await _turn(provider, _user("anything"))
    assert turn.message == AssistantMessage(content="I don't know.")
    assert turn.stop_reason == STOP_END_TURN


async def test_fallback_without_any_input() -> None:
    provider = ScriptedProvider(_script({"text": "matched"}, fallback="nothing to answer"))
    assert (await _turn(provider)).message.content == "nothing to answer"


async def test_thinking_streams_before_text_in_chunks() -> None:
    provider = ScriptedProvider(
        _script({"thinking": "abcdefg", "text": "Hello, world!"}, chunkSize=3)
    )
    parts = await _parts(provider, _user("hi"))
    deltas = parts[:-1]
    assert deltas == [
        ThinkingDelta("abc"),
        ThinkingDelta("def"),
        ThinkingDelta("g"),
        TextDelta("Hel"),
        TextDelta("lo,"),
        TextDelta(" wo"),
        TextDelta("rld"),
        TextDelta("!"),
    ]


@pytest.mark.parametrize("chunk_size", [1, 2, 5, 16, 1000])
async def test_chunks_respect_size_and_add_up_to_the_message(chunk_size: int) -> None:
    text = "Hi! I'm a scripted model — ünïcödé included."
    provider = ScriptedProvider(
        _script({"text": text, "thinking": "pondering"}, chunkSize=chunk_size)
    )
    parts = await _parts(provider, _user("hi"))
    turn = parts[-1]
    assert isinstance(turn, ModelTurn)
    texts = [p.text for p in parts if isinstance(p, TextDelta)]
    thoughts = [p.text for p in parts if isinstance(p, ThinkingDelta)]
    assert "".join(texts) == turn.message.content == text
    assert "".join(thoughts) == turn.message.thinking == "pondering"
    assert all(0 < len(t) <= chunk_size for t in texts + thoughts)


async def test_fallback_is_streamed_too() -> None:
    provider = ScriptedProvider(_script(fallback="streamed fallback", chunkSize=4))
    parts = await _parts(provider, _user("x"))
    assert "".join(p.text for p in parts if isinstance(p, TextDelta)) == "streamed fallback"


async def test_empty_text_streams_no_deltas() -> None:
    provider = ScriptedProvider(_script({"toolCalls": [{"name": "list_notes"}]}))
    parts = await _parts(provider, _user("x"))
    assert len(parts) == 1
    assert isinstance(parts[0], ModelTurn)
    assert parts[0].message.content == ""


async def test_stop_reason_tool_use_vs_end_turn() -> None:
    provider = ScriptedProvider(
        _script(
            {"match": "tool", "text": "calling", "toolCalls": [{"name": "t"}]},
            {"match": "talk", "text": "just talking"},
        )
    )
    with_call = await _turn(provider, _user("tool please"))
    assert with_call.stop_reason == STOP_TOOL_USE
    assert [c.name for c in with_call.message.tool_calls] == ["t"]
    assert with_call.message.tool_calls[0].parsed_arguments() == {}
    talking = await _turn(provider, _user("talk"))
    assert talking.stop_reason == STOP_END_TURN
    assert talking.message.tool_calls == ()


async def test_tool_call_ids_are_unique_across_calls_and_providers() -> None:
    script = _script({"toolCalls": [{"name": "a"}, {"name": "b"}]})
    first, restarted = ScriptedProvider(script), ScriptedProvider(script)
    ids: list[str] = []
    for provider in (first, restarted, first, restarted):
        turn = await _turn(provider, _user("go"))
        ids.extend(c.id for c in turn.message.tool_calls)
    # a restarted process keeps the history, so ids must not repeat across
    # provider instances either (the agent treats a known id as already started)
    assert len(ids) == 8
    assert len(set(ids)) == 8
    assert all(i for i in ids)


async def test_requests_are_recorded() -> None:
    provider = ScriptedProvider(_script())
    await _parts(provider, _user("one"))
    await _parts(provider, _user("two"))
    assert [r.messages[-1] for r in provider.requests] == [_user("one"), _user("two")]


async def test_only_the_latest_requests_are_kept() -> None:
    """A long-running demo worker must not keep every history it ever sent."""
    provider = ScriptedProvider(_script())
    for i in range(RECORDED_REQUESTS + 5):
        await _parts(provider, _user(f"n{i}"))
    assert len(provider.requests) == RECORDED_REQUESTS
    assert provider.requests[-1].messages[-1] == _user(f"n{RECORDED_REQUESTS + 4}")
    assert provider.requests[0].messages[-1] == _user("n5")


def test_invalid_regex_is_a_validation_error() -> None:
    with pytest.raises(ValidationError, match="invalid regular expression"):
        _script({"match": "(unclosed", "text": "x"})


@pytest.mark.parametrize(
    "rule",
    [{"on": "bot", "text": "x"}, {"text": "x", "surprise": 1}, {"toolCalls": [{"args": {}}]}],
    ids=["bad-on", "unknown-key", "call-without-name"],
)
def test_malformed_rules_are_rejected(rule: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        _script(rule)


def test_camel_and_snake_case_keys_both_load() -> None:
    camel = Script.model_validate({"chunkSize": 3, "rules": [{"toolCalls": [{"name": "t"}]}]})
    snake = Script.model_validate({"chunk_size": 3, "rules": [{"tool_calls": [{"name": "t"}]}]})
    assert camel == snake
    assert camel.chunk_size == 3


def test_from_file_loads_a_script(tmp_path: Path) -> None:
    path = tmp_path / "mine.json"
    path.write_text(json.dumps({"rules": [{"match": "hi", "text": "hello"}], "chunkSize": 2}))
    script = Script.from_file(path)
    assert script.chunk_size == 2
    assert script.rules[0].text == "hello"


@pytest.mark.parametrize(
    "content",
    [None, "{not json", json.dumps({"rules": [{"match": "("}]}), json.dumps({"rulez": []})],
    ids=["missing", "invalid-json", "invalid-regex", "unknown-key"],
)
def test_from_file_errors_name_the_file(tmp_path: Path, content: str | None) -> None:
    path = tmp_path / "broken script.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ValueError) as info:
        Script.from_file(path)
    assert str(path) in str(info.value)


async def test_demo_script_saves_a_note_when_asked_to_remember() -> None:
    provider = ScriptedProvider(builtin_scripts()["demo"])
    turn = await _turn(provider, _user("remember to buy milk"))
    assert turn.stop_reason == STOP_TOOL_USE
    (call,) = turn.message.tool_calls
    assert call.name == "save_note"
    assert "buy milk" in call.parsed_arguments()["text"]

    saved = ToolResult(tool_call_id=call.id, name="save_note", content="Saved note: to buy milk")
    answer = await _turn(provider, _user("remember to buy milk"), turn.message, saved)
    assert answer.stop_reason == STOP_END_TURN
    assert "to buy milk" in answer.message.content


async def test_demo_script_greets_with_text() -> None:
    provider = ScriptedProvider(builtin_scripts()["demo"])
    turn = await _turn(provider, _user("hello"))
    assert turn.stop_reason == STOP_END_TURN
    assert turn.message.tool_calls == ()
    assert turn.message.content.startswith("Hi!")
    assert "remember" in turn.message.content


async def test_bad_template_is_a_provider_error_naming_the_rule() -> None:
    from core.messages import UserMessage
    from core.providers.base import ModelRequest
    from core.providers.errors import ProviderProtocolError
    from core.providers.scripted import Script, ScriptedProvider

    script = Script.model_validate({"rules": [{"match": "x", "text": "C:\\path \\g<nope>"}]})
    request = ModelRequest(model="m", system_prompt="", messages=(UserMessage(content="x"),))
    with pytest.raises(ProviderProtocolError, match="bad template"):
        async for _ in ScriptedProvider(script).stream(request):
            pass
