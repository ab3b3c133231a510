"""A history with every message kind, shared by the session store tests."""

from __future__ import annotations

from core.messages import AssistantMessage, Message, ToolCall, ToolResult, ToolStarted, UserMessage

EVERY_KIND: list[Message] = [
    UserMessage(content="remember: buy milk 🥛\nand bread", user="U123"),
    AssistantMessage(
        content="I'll save that.",
        thinking="The person wants a note.",
        thinking_signature="sig-abc==",
        tool_calls=(
            ToolCall(id="call_1", name="save_note", arguments='{"text": "buy milk"}'),
            ToolCall(id="call_2", name="current_time"),
        ),
    ),
    ToolStarted(tool_call_id="call_1"),
    ToolResult(tool_call_id="call_1", name="save_note", content="Saved note: buy milk"),
    ToolResult(tool_call_id="call_2", name="current_time", content="bad zone", is_error=True),
    AssistantMessage(content="Done."),
    UserMessage(content=""),
]
