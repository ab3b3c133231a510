"""Request bodies of the API, validated by pydantic (422 with field errors otherwise)."""

from __future__ import annotations

from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from channels.boundary import json_error, validation_error
from channels.inputs import BadInput, load_json

__all__ = ["MAX_TEXT_CHARS", "DecisionBody", "MessageBody", "read_body"]

MAX_TEXT_CHARS = 32_000
"""Longest message text the API queues; longer is 413 (a turn is not a file upload)."""

Body = TypeVar("Body", bound=BaseModel)


class MessageBody(BaseModel):
    """``POST /api/v1/messages``.

    ``session`` must be an ``api:`` key: the bearer holder may read and reset
    any session, but may not put words into a Telegram or Slack conversation
    in someone else's name.
    """

    model_config = ConfigDict(extra="forbid", strict=True)

    session: str = Field(max_length=256, pattern=r"^api:[^\x00-\x20\x7f]+$")
    """``api:<name>``; no blanks or control characters."""
    text: str = Field(min_length=1)
    """What the person says; at most :data:`MAX_TEXT_CHARS` (checked apart: 413)."""
    user: str = Field(default="api", min_length=1, max_length=128)
    """Who speaks, as the model and the approval record see it."""


class DecisionBody(BaseModel):
    """``POST /api/v1/approvals/{id}``; the word itself is read by ``parse_decision``."""

    model_config = ConfigDict(extra="forbid")

    decision: Any
    """One of ``approve``, ``reject``, ``session``, ``always``."""


async def read_body(request: web.Request, model: type[Body]) -> Body | web.Response:
    """The body parsed as ``model``, or the 422 answer that says why it is not one."""
    raw = await request.read()
    try:
        data = load_json(raw) if raw else None
    except BadInput as exc:
        return json_error(422, str(exc))
    if not isinstance(data, dict):
        return json_error(422, "the body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        return validation_error(exc)
