"""The HTTP API channel of the gateway (DESIGN.md, "Gateway HTTP").

    channel.py    ApiChannel: adds /api/v1 (behind the bearer check) to the gateway
    auth.py       the bearer check of /api/v1 (the token holder is the operator)
    bodies.py     request bodies (pydantic)
    messages.py   POST /messages: queue a turn on an api: session
    events.py     GET /sessions/{key}/events: Server-Sent Events from Redis
    approvals.py  GET /approvals, POST /approvals/{id}
    sessions.py   GET/DELETE /sessions[/{key}]
    schedules.py  GET/POST /schedules, DELETE /schedules/{id}

The gateway around it (the root application with /healthz and /metrics, the
error boundary, the shared context) is :mod:`channels.gateway`.
"""

from channels.api.bodies import MAX_TEXT_CHARS
from channels.api.channel import API_PREFIX, ApiChannel

__all__ = ["API_PREFIX", "MAX_TEXT_CHARS", "ApiChannel"]
