"""``GET /api/v1/runtime`` and ``GET /api/v1/runtime/sessions``: the runtime, for a person.

``/runtime`` gathers what ``/healthz`` and ``/metrics`` tell a machine, as
JSON a page can show: Redis, the channels, the workers alive (their
heartbeats), the queue depth, pending approvals, and this gateway's counters
(turns submitted, decisions by outcome, answers by status class, errors, the
approval latency). Counters are this gateway process's since it started, as
on ``/metrics``.

``/runtime/sessions`` lists every known session with its channel, state
(``idle``, ``running``, ``waiting_for_approval``, ``parked``), last activity,
queued turns and pending approvals, newest activity first.
"""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from channels.api.sessions import state_json
from channels.context import context
from channels.ops import channel_statuses, redis_status
from channels.runtime import WORKER_STALE

__all__ = ["runtime_health", "runtime_sessions"]


def _status_classes(samples: list[tuple[dict[str, str], float]]) -> dict[str, int]:
    classes = {"2xx": 0, "3xx": 0, "4xx": 0, "5xx": 0}
    for labels, value in samples:
        name = f"{labels['status'][:1]}xx"
        if name in classes:
            classes[name] += int(value)
    return classes


async def runtime_health(request: web.Request) -> web.Response:
    """Redis, channels, workers, queue, approvals and this gateway's counters."""
    ctx = context(request)
    metrics = ctx.metrics
    queued, pending = await ctx.runtime.queue_depth()
    workers = await ctx.runtime.live_workers()
    now = time.time()
    latency = metrics.approval_latency
    body: dict[str, Any] = {
        "redis": await redis_status(ctx),
        "channels": await channel_statuses(ctx),
        "workers_alive": len(workers),
        "workers": [
            {"worker_id": worker, "last_seen": seen, "seconds_ago": round(max(now - seen, 0), 1)}
            for worker, seen in workers
        ],
        "worker_stale_after": WORKER_STALE,
        "queue_depth": queued,
        "approvals_pending": pending,
        "turns_submitted": int(metrics.turns_submitted.value()),
        "approval_decisions": {
            labels["outcome"]: int(value) for labels, value in metrics.approval_decisions.samples()
        },
        "approval_latency": {
            "count": latency.count,
            "mean_seconds": round(latency.sum / latency.count, 3) if latency.count else None,
        },
        "http_responses": _status_classes(metrics.http_requests.samples()),
        "errors": int(metrics.errors.value()),
    }
    return web.json_response(body)


async def runtime_sessions(request: web.Request) -> web.Response:
    """Every known session's state, newest activity first."""
    states = await context(request).runtime.session_states()
    return web.json_response({"sessions": [state_json(s) for s in states]})
