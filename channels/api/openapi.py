"""``GET /api/v1/openapi.json``: the OpenAPI 3.1 description of ``/api/v1``, without a token.

Written by hand next to the routes (``channels/api/channel.py``); request
bodies come from their pydantic models, so a field added there shows here.
``tests/integration/api/test_openapi.py`` checks that every route of the API
application is described with its methods, and nothing else is.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from channels.api.bodies import MAX_TEXT_CHARS, MessageBody
from channels.api.schedules import ScheduleBody

__all__ = ["document", "openapi"]

JSON = "application/json"
Schema = dict[str, Any]


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: Schema, description: str) -> Schema:
    return {"description": description, "content": {JSON: {"schema": schema}}}


def _error(description: str) -> Schema:
    return _json(_ref("Error"), description)


def _sse(description: str) -> Schema:
    return {
        "description": description,
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
    }


_KEY: Schema = {
    "name": "key",
    "in": "path",
    "required": True,
    "description": "A session key (`api:me`, `telegram:123`); may be percent-encoded.",
    "schema": {"type": "string"},
}
_LAST_EVENT_ID = [
    {
        "name": "Last-Event-ID",
        "in": "header",
        "required": False,
        "description": "Replay from after this stream id; otherwise only new events are sent.",
        "schema": {"type": "string", "pattern": r"^\d{1,20}(-\d{1,20})?$"},
    },
    {
        "name": "last_event_id",
        "in": "query",
        "required": False,
        "description": "The same, for clients that cannot set headers.",
        "schema": {"type": "string", "pattern": r"^\d{1,20}(-\d{1,20})?$"},
    },
]
_UNAUTHORIZED = {
    "401": _error("Missing or wrong bearer token (or none configured)."),
    "429": _error("Too many failed sign-ins from this address; see `Retry-After`."),
}

_SCHEMAS: dict[str, Schema] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {"error": {"type": "string"}},
        "additionalProperties": True,
    },
    "Approval": {
        "type": "object",
        "required": [
            "approval_id",
            "session_key",
            "turn_id",
            "agent_id",
            "tool_name",
            "tool_args",
            "status",
            "created_at",
            "expires_at",
        ],
        "properties": {
            "approval_id": {"type": "string"},
            "session_key": {"type": "string"},
            "turn_id": {"type": "string"},
            "agent_id": {"type": "string", "description": "`main` or `sub-…`"},
            "tool_name": {"type": "string"},
            "tool_args": {"type": "object", "description": "Written by the model: untrusted."},
            "status": {"enum": ["pending", "approved", "rejected", "expired"]},
            "decision": {"enum": ["approve", "reject", "session", "always", None]},
            "decided_by": {"type": ["string", "null"]},
            "decided_at": {"type": ["number", "null"], "description": "Epoch seconds."},
            "created_at": {"type": "number", "description": "Epoch seconds."},
            "expires_at": {"type": "number", "description": "Epoch seconds."},
            "requested_by": {
                "type": ["string", "null"],
                "description": "User id of the person whose message started the turn.",
            },
        },
    },
    "SessionState": {
        "type": "object",
        "required": ["session_key", "channel", "state", "last_activity", "queued"],
        "properties": {
            "session_key": {"type": "string"},
            "channel": {"type": "string"},
            "state": {"enum": ["idle", "running", "waiting_for_approval", "parked"]},
            "last_activity": {
                "type": ["number", "null"],
                "description": "Epoch seconds of its newest event.",
            },
            "queued": {"type": "integer", "description": "Turns in its inbox."},
            "pending_approvals": {"type": "integer"},
        },
    },
    "Schedule": {
        "type": "object",
        "required": ["schedule_id", "session_key", "prompt", "timezone", "next_run", "source"],
        "properties": {
            "schedule_id": {"type": "string", "description": "`s…`, or `config:<name>`."},
            "session_key": {"type": "string"},
            "prompt": {"type": "string"},
            "timezone": {"type": "string"},
            "next_run": {"type": ["string", "null"], "description": "ISO 8601, UTC."},
            "cron": {"type": "string"},
            "at": {"type": "string", "description": "ISO 8601, UTC."},
            "every": {"type": "integer", "description": "Seconds."},
            "name": {"type": "string", "description": "A config job's name."},
            "created_by": {"type": "string"},
            "created_at": {"type": "number", "description": "Epoch seconds."},
            "source": {"enum": ["agent", "api", "config"]},
        },
    },
    "ScheduleBody": ScheduleBody.model_json_schema(),
    "MessageBody": MessageBody.model_json_schema(),
    "DecisionBody": {
        "type": "object",
        "required": ["decision"],
        "additionalProperties": False,
        "properties": {"decision": {"enum": ["approve", "reject", "session", "always"]}},
    },
}

_PATHS: dict[str, dict[str, Any]] = {
    "/messages": {
        "post": {
            "summary": "Queue a turn on an `api:` session",
            "operationId": "postMessage",
            "parameters": [
                {
                    "name": "Idempotency-Key",
                    "in": "header",
                    "required": False,
                    "description": "A retried request with the same key is queued once.",
                    "schema": {"type": "string", "maxLength": 200},
                }
            ],
            "requestBody": {"required": True, "content": {JSON: {"schema": _ref("MessageBody")}}},
            "responses": {
                "202": _json(
                    {"type": "object", "properties": {"turn_id": {"type": "string"}}},
                    "Queued.",
                ),
                "200": _json(
                    {
                        "type": "object",
                        "properties": {"turn_id": {"type": "null"}, "duplicate": {"const": True}},
                    },
                    "A duplicate (same Idempotency-Key): nothing queued.",
                ),
                "413": _error(f"Text longer than {MAX_TEXT_CHARS} characters."),
                "422": _error("Invalid body."),
                **_UNAUTHORIZED,
            },
        }
    },
    "/sessions": {
        "get": {
            "summary": "Every session key with a stored history",
            "operationId": "listSessions",
            "responses": {
                "200": _json(
                    {
                        "type": "object",
                        "properties": {"sessions": {"type": "array", "items": {"type": "string"}}},
                    },
                    "Sorted keys.",
                ),
                **_UNAUTHORIZED,
            },
        }
    },
    "/sessions/{key}": {
        "parameters": [_KEY],
        "get": {
            "summary": "A session's history, pending approvals and state",
            "operationId": "getSession",
            "responses": {
                "200": _json(
                    {
                        "type": "object",
                        "properties": {
                            "session_key": {"type": "string"},
                            "messages": {"type": "array", "items": {"type": "object"}},
                            "pending_approvals": {"type": "array", "items": _ref("Approval")},
                            "state": _ref("SessionState"),
                        },
                    },
                    "The session.",
                ),
                "404": _error("No such session."),
                **_UNAUTHORIZED,
            },
        },
        "delete": {
            "summary": "Stop what runs and reset the session (like `/new`)",
            "operationId": "resetSession",
            "responses": {
                "204": {"description": "Reset."},
                "202": _json(
                    {
                        "type": "object",
                        "properties": {"turn_id": {"type": "string"}, "reset": {"const": "queued"}},
                    },
                    "The reset is queued; a worker does it when it gets to it.",
                ),
                **_UNAUTHORIZED,
            },
        },
    },
    "/sessions/{key}/events": {
        "parameters": [_KEY],
        "get": {
            "summary": "The session's events (Server-Sent Events)",
            "operationId": "sessionEvents",
            "parameters": _LAST_EVENT_ID,
            "responses": {
                "200": _sse("`event: <type>`, `id: <stream id>`, `data: <json>` frames."),
                "422": _error("Last-Event-ID is not a stream id."),
                **_UNAUTHORIZED,
            },
        },
    },
    "/sessions/{key}/stop": {
        "parameters": [_KEY],
        "post": {
            "summary": "`/stop`: cancel the running or parked turn",
            "operationId": "stopSession",
            "responses": {
                "202": _json(
                    {
                        "type": "object",
                        "properties": {
                            "session_key": {"type": "string"},
                            "stop": {"const": "requested"},
                        },
                    },
                    "Requested; a worker ends the turn.",
                ),
                **_UNAUTHORIZED,
            },
        },
    },
    "/approvals": {
        "get": {
            "summary": "Pending approvals (oldest first) or decided ones (newest first)",
            "operationId": "listApprovals",
            "parameters": [
                {
                    "name": "status",
                    "in": "query",
                    "required": False,
                    "schema": {"enum": ["pending", "decided"], "default": "pending"},
                },
                {"name": "session", "in": "query", "required": False, "schema": {"type": "string"}},
                {
                    "name": "limit",
                    "in": "query",
                    "required": False,
                    "description": "Decided ones only.",
                    "schema": {"type": "integer", "minimum": 1, "maximum": 500, "default": 50},
                },
            ],
            "responses": {
                "200": _json(
                    {
                        "type": "object",
                        "properties": {"approvals": {"type": "array", "items": _ref("Approval")}},
                    },
                    "The approvals.",
                ),
                "422": _error("Unknown status or a bad limit."),
                **_UNAUTHORIZED,
            },
        }
    },
    "/approvals/events": {
        "get": {
            "summary": "`approval_request` and `approval_decided` of every session (SSE)",
            "operationId": "approvalEvents",
            "parameters": _LAST_EVENT_ID,
            "responses": {
                "200": _sse("Frames as for a session's events."),
                "422": _error("Last-Event-ID is not a stream id."),
                **_UNAUTHORIZED,
            },
        }
    },
    "/approvals/{approval_id}": {
        "parameters": [
            {"name": "approval_id", "in": "path", "required": True, "schema": {"type": "string"}}
        ],
        "post": {
            "summary": "Decide as the operator (the same compare-and-set as a chat button)",
            "operationId": "decideApproval",
            "requestBody": {
                "required": True,
                "content": {JSON: {"schema": _ref("DecisionBody")}},
            },
            "responses": {
                "200": _json(_ref("Approval"), "Decided: the record."),
                "403": _error("Not allowed."),
                "404": _error("Unknown approval."),
                "409": _error("Already decided (the record says by whom)."),
                "410": _error("Expired."),
                "422": _error("Not one of the four decisions."),
                **_UNAUTHORIZED,
            },
        },
    },
    "/schedules": {
        "get": {
            "summary": "Every schedule, soonest next run first",
            "operationId": "listSchedules",
            "parameters": [
                {
                    "name": "session",
                    "in": "query",
                    "required": False,
                    "description": "Only this session's.",
                    "schema": {"type": "string"},
                }
            ],
            "responses": {
                "200": _json(
                    {
                        "type": "object",
                        "properties": {"schedules": {"type": "array", "items": _ref("Schedule")}},
                    },
                    "The schedules.",
                ),
                "400": _error("The session is not usable text."),
                **_UNAUTHORIZED,
            },
        },
        "post": {
            "summary": "Schedule a turn: exactly one of `cron`, `at`, `every`",
            "operationId": "createSchedule",
            "requestBody": {"required": True, "content": {JSON: {"schema": _ref("ScheduleBody")}}},
            "responses": {
                "201": _json(
                    {
                        "type": "object",
                        "properties": {
                            "schedule_id": {"type": "string"},
                            "next_run": {"type": "string"},
                        },
                    },
                    "Made.",
                ),
                "409": _error("A cap (`schedules.maxPerSession`, `maxTotal`) is reached."),
                "413": _error("The body is larger than the gateway reads."),
                "422": _error("A bad expression, time, interval, zone, body or session."),
                **_UNAUTHORIZED,
            },
        },
    },
    "/schedules/{schedule_id}": {
        "parameters": [
            {"name": "schedule_id", "in": "path", "required": True, "schema": {"type": "string"}}
        ],
        "delete": {
            "summary": "Cancel a schedule",
            "operationId": "deleteSchedule",
            "responses": {
                "204": {"description": "Cancelled: it will not run again."},
                "404": _error("Unknown schedule."),
                "409": _error("A config job: only config.json changes it."),
                **_UNAUTHORIZED,
            },
        },
    },
    "/runtime": {
        "get": {
            "summary": "Redis, channels, workers alive, queue depth, approvals, counters",
            "operationId": "runtimeHealth",
            "responses": {
                "200": _json(
                    {
                        "type": "object",
                        "properties": {
                            "redis": {"type": "string"},
                            "channels": {
                                "type": "object",
                                "additionalProperties": {"type": "string"},
                            },
                            "workers_alive": {"type": "integer"},
                            "workers": {"type": "array", "items": {"type": "object"}},
                            "queue_depth": {"type": "integer"},
                            "approvals_pending": {"type": "integer"},
                            "turns_submitted": {"type": "integer"},
                            "approval_decisions": {"type": "object"},
                            "approval_latency": {"type": "object"},
                            "http_responses": {"type": "object"},
                            "errors": {"type": "integer"},
                        },
                    },
                    "The figures (counters: this gateway's, since it started).",
                ),
                **_UNAUTHORIZED,
            },
        }
    },
    "/runtime/sessions": {
        "get": {
            "summary": "Every known session's channel, state and last activity",
            "operationId": "runtimeSessions",
            "responses": {
                "200": _json(
                    {
                        "type": "object",
                        "properties": {
                            "sessions": {"type": "array", "items": _ref("SessionState")}
                        },
                    },
                    "Newest activity first.",
                ),
                **_UNAUTHORIZED,
            },
        }
    },
    "/openapi.json": {
        "get": {
            "summary": "This document (no token needed)",
            "operationId": "openapi",
            "security": [],
            "responses": {"200": _json({"type": "object"}, "OpenAPI 3.1.")},
        }
    },
}


def document(prefix: str) -> dict[str, Any]:
    """The OpenAPI document of the API mounted at ``prefix``."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "facio gateway API",
            "version": "1",
            "description": "Talk to the agent, follow sessions, decide approvals. "
            "Every route but this document needs `Authorization: Bearer <gateway.apiToken>`.",
        },
        "servers": [{"url": prefix}],
        "security": [{"bearer": []}],
        "paths": _PATHS,
        "components": {
            "schemas": _SCHEMAS,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


async def openapi(request: web.Request) -> web.Response:
    """The document, for the prefix this application is mounted at."""
    return web.json_response(document(request.path.removesuffix("/openapi.json")))
