"""The two wire formats the fake LLM server speaks, frame by frame.

OpenAI Chat Completions streaming: ``data: <chunk>\\n\\n`` frames of
``chat.completion.chunk`` objects (first a role delta, then content/reasoning
deltas, tool-call fragments with id and name only in the first fragment of
each call, a finish chunk, a usage chunk with empty ``choices``), then
``data: [DONE]``.

Anthropic Messages streaming: ``event: <type>\\ndata: <json>\\n\\n`` frames:
``message_start``, ``ping``, per block ``content_block_start`` /
``content_block_delta``… / ``content_block_stop``, ``message_delta``,
``message_stop``.
"""

from __future__ import annotations

import json
import time
from typing import Any

from tests.fakes.llm_script import Fault, TurnReply

__all__ = [
    "anthropic_error_body",
    "anthropic_error_frame",
    "anthropic_frames",
    "openai_error_body",
    "openai_error_frame",
    "openai_frames",
]

MALFORMED_OPENAI = b'data: {"id": "chatcmpl-broken", "choices": [{"delta": \n\n'
MALFORMED_ANTHROPIC = b'event: content_block_delta\ndata: {"type": "content_block_delta", \n\n'

_OPENAI_ERROR_TYPES = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", "unsupported_country_region_territory"),
    404: ("invalid_request_error", "model_not_found"),
    429: ("requests", "rate_limit_exceeded"),
}
_ANTHROPIC_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


def _pieces(text: str, size: int) -> list[str]:
    size = max(1, size)
    return [text[i : i + size] for i in range(0, len(text), size)]


def _data(payload: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(payload).encode() + b"\n\n"


def _event(payload: dict[str, Any]) -> bytes:
    return f"event: {payload['type']}\n".encode() + _data(payload)


def openai_frames(turn: TurnReply, *, model: str, seq: int) -> list[bytes]:
    """A turn as Chat Completions chunks, ``[DONE]`` included."""
    base = {
        "id": f"chatcmpl-fake{seq}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": "fp_fake",
    }

    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return _data({**base, "choices": [choice], "usage": None})

    frames = [chunk({"role": "assistant", "content": "", "refusal": None})]
    frames += [chunk({turn.reasoning_field: p}) for p in _pieces(turn.thinking, turn.fragment_size)]
    frames += [chunk({"content": p}) for p in _pieces(turn.text, turn.fragment_size)]
    for index, call in enumerate(turn.tool_calls):
        call_id = call.id or f"call_{seq}_{index}"
        function = {"name": call.name, "arguments": ""}
        first = {"index": index, "id": call_id, "type": "function", "function": function}
        frames.append(chunk({"tool_calls": [first]}))
        for piece in _pieces(call.arguments, turn.fragment_size):
            fragment = {"index": index, "function": {"arguments": piece}}
            frames.append(chunk({"tool_calls": [fragment]}))
    finish = turn.stop_reason or ("tool_calls" if turn.tool_calls else "stop")
    frames.append(chunk({}, finish))
    usage = {
        "prompt_tokens": turn.input_tokens,
        "completion_tokens": turn.output_tokens,
        "total_tokens": turn.input_tokens + turn.output_tokens,
    }
    frames.append(_data({**base, "choices": [], "usage": usage}))
    frames.append(b"data: [DONE]\n\n")
    return frames


def anthropic_frames(turn: TurnReply, *, model: str, seq: int) -> list[bytes]:
    """A turn as Messages API events, from ``message_start`` to ``message_stop``."""
    message: dict[str, Any] = {
        "id": f"msg_fake{seq}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": turn.input_tokens, "output_tokens": 1},
    }
    frames = [_event({"type": "message_start", "message": message}), _event({"type": "ping"})]
    blocks: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
    if turn.thinking:
        deltas = [
            {"type": "thinking_delta", "thinking": p}
            for p in _pieces(turn.thinking, turn.fragment_size)
        ]
        deltas.append({"type": "signature_delta", "signature": turn.signature})
        blocks.append(({"type": "thinking", "thinking": "", "signature": ""}, deltas))
    if turn.text:
        deltas = [{"type": "text_delta", "text": p} for p in _pieces(turn.text, turn.fragment_size)]
        blocks.append(({"type": "text", "text": ""}, deltas))
    for index, call in enumerate(turn.tool_calls):
        start = {
            "type": "tool_use",
            "id": call.id or f"toolu_{seq}_{index}",
            "name": call.name,
            "input": {},
        }
        pieces = ["", *_pieces(call.arguments, turn.fragment_size)]
        deltas = [{"type": "input_json_delta", "partial_json": p} for p in pieces]
        blocks.append((start, deltas))
    for index, (start, deltas) in enumerate(blocks):
        opening = {"type": "content_block_start", "index": index, "content_block": start}
        frames.append(_event(opening))
        for delta in deltas:
            frames.append(_event({"type": "content_block_delta", "index": index, "delta": delta}))
        frames.append(_event({"type": "content_block_stop", "index": index}))
    stop = turn.stop_reason or ("tool_use" if turn.tool_calls else "end_turn")
    frames.append(
        _event(
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop, "stop_sequence": None},
                "usage": {"output_tokens": turn.output_tokens},
            }
        )
    )
    frames.append(_event({"type": "message_stop"}))
    return frames


def openai_error_frame(fault: Fault) -> bytes:
    """An error object inside a 200 stream, as OpenAI-compatible servers send it."""
    return _data({"error": {"message": fault.message, "type": fault.error_type, "code": None}})


def anthropic_error_frame(fault: Fault) -> bytes:
    return _event({"type": "error", "error": {"type": fault.error_type, "message": fault.message}})


def openai_error_body(status: int, message: str) -> dict[str, Any]:
    kind, code = _OPENAI_ERROR_TYPES.get(status, ("server_error", None))
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


def anthropic_error_body(status: int, message: str) -> dict[str, Any]:
    kind = _ANTHROPIC_ERROR_TYPES.get(status, "api_error")
    return {"type": "error", "error": {"type": kind, "message": message}}
