"""The HTTP API channel of the gateway (DESIGN.md, "Gateway HTTP").

    app.py        create_app: routes, middlewares, shutdown of open streams
    state.py      ApiState: what the handlers share (config, Redis, queue, metrics)
    errors.py     JSON errors; the request boundary that maps and counts them
    auth.py       the bearer check of /api/v1 (the token holder is the operator)
    bodies.py     request bodies (pydantic)
    messages.py   POST /messages: queue a turn on an api: session
    events.py     GET /sessions/{key}/events: Server-Sent Events from Redis
    approvals.py  GET /approvals, POST /approvals/{id}
    sessions.py   GET/DELETE /sessions[/{key}]
    ops.py        GET /healthz, GET /metrics
    metrics.py    counters and the Prometheus text format

The process around it (Redis pool, site, later the channel adapters) is
:class:`channels.gateway.Gateway`.
"""

from channels.api.app import API_PREFIX, add_health_check, create_app
from channels.api.bodies import MAX_TEXT_CHARS
from channels.api.metrics import Counter, Gauge, Histogram, Metrics
from channels.api.state import ApiState, HealthCheck

__all__ = [
    "API_PREFIX",
    "MAX_TEXT_CHARS",
    "ApiState",
    "Counter",
    "Gauge",
    "HealthCheck",
    "Histogram",
    "Metrics",
    "add_health_check",
    "create_app",
]
