"""The HTTP API channel of the gateway (docs/design.md, "The HTTP API").

    channel.py    ApiChannel: adds /api/v1 (behind the bearer check) to the gateway
    auth.py       the bearer check of /api/v1 (the token holder is the operator)
    ratelimit.py  failed sign-ins per client address (429 with Retry-After)
    bodies.py     request bodies (pydantic)
    messages.py   POST /messages: queue a turn on an api: session
    events.py     GET /sessions/{key}/events, GET /approvals/events: Server-Sent Events
    approvals.py  GET /approvals (pending or decided), POST /approvals/{id}
    sessions.py   GET/DELETE /sessions[/{key}], POST /sessions/{key}/stop
    schedules.py  GET/POST /schedules, DELETE /schedules/{id}
    overview.py   GET /runtime, GET /runtime/sessions: the runtime, for a person
    openapi.py    GET /openapi.json: the OpenAPI 3.1 document (no token)

The gateway around it (the root application with /healthz and /metrics, the
error boundary, the shared context) is :mod:`channels.gateway`.
"""

from channels.api.bodies import MAX_TEXT_CHARS
from channels.api.channel import API_PREFIX, OPENAPI_PATH, ApiChannel, api_app

__all__ = ["API_PREFIX", "MAX_TEXT_CHARS", "OPENAPI_PATH", "ApiChannel", "api_app"]
