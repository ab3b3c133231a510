"""The gateway's aiohttp application: health, metrics, the console, and the routes channels add.

``/healthz`` and ``/metrics`` are open (probes and scrapers carry no token),
and so is the console's page (``/`` redirects to ``/console/``; it signs in
with the API token and every call it makes needs it, :mod:`channels.console`);
each channel adds its own routes (the API channel its ``/api/v1``
sub-application behind the bearer check, Telegram its webhook). The root
middleware (:func:`channels.boundary.boundary`) turns every error into JSON
and counts every answer.
"""

from __future__ import annotations

from aiohttp import web

from channels.boundary import boundary
from channels.console import add_console
from channels.context import CONTEXT, GatewayContext
from channels.ops import healthz, prometheus
from channels.protocol_log import install as quiet_refused_requests

__all__ = ["create_app"]


async def _end_streams(app: web.Application) -> None:
    """On shutdown, before aiohttp waits for handlers: SSE streams never end by themselves."""
    app[CONTEXT].closing.set()


def create_app(ctx: GatewayContext) -> web.Application:
    """The root application on ``ctx``; channels add their routes before it starts."""
    quiet_refused_requests()
    app = web.Application(middlewares=[boundary])
    app[CONTEXT] = ctx
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", prometheus)
    add_console(app)
    app.on_shutdown.append(_end_streams)
    return app
