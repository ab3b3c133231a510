"""JSON errors and the request boundary: every failure becomes ``{"error": …}``.

:func:`boundary` is the one place HTTP errors are shaped and counted: aiohttp's
own ``HTTPException`` (unknown route, wrong method, body too large) turns into
JSON with its status, input a handler could not use (:class:`~channels.inputs.BadInput`)
is a 400, Redis being unreachable is a 503, and anything else is logged with
its traceback and answered 500 (the only broad catch of the API).
It also counts every answer in ``facio_http_requests_total``.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler
from pydantic import ValidationError
from redis.exceptions import RedisError

from channels.context import context
from channels.inputs import BadInput
from core.errors import CorruptSessionError, SessionStoreError

__all__ = ["boundary", "json_error", "validation_error"]

logger = logging.getLogger(__name__)


def json_error(status: int, message: str, **extra: Any) -> web.Response:
    """An error answer: ``{"error": message, **extra}`` with ``status``."""
    return web.json_response({"error": message, **extra}, status=status)


def validation_error(exc: ValidationError) -> web.Response:
    """422 with pydantic's field errors (location, message, type; never the input)."""
    detail = [
        {"loc": list(err["loc"]), "msg": err["msg"], "type": err["type"]}
        for err in exc.errors(include_url=False, include_context=False, include_input=False)
    ]
    return json_error(422, "invalid request", detail=detail)


def _route(request: web.Request) -> str:
    """The matched route pattern, never the raw path (keeps metric labels few)."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


def _from_http_exception(exc: web.HTTPException) -> web.Response:
    reason = exc.reason.lower() if exc.reason else "error"
    response = json_error(exc.status, reason)
    for name in ("Allow", "WWW-Authenticate"):
        if name in exc.headers:
            response.headers[name] = exc.headers[name]
    return response


async def _answer(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return _from_http_exception(exc)
    except BadInput as exc:
        return json_error(400, str(exc))
    except CorruptSessionError as exc:
        logger.error("%s %s: %s", request.method, request.path, exc)
        context(request).metrics.errors.inc()
        return json_error(500, str(exc))
    except (RedisError, SessionStoreError) as exc:
        logger.warning("%s %s: redis unavailable: %s", request.method, request.path, exc)
        context(request).metrics.errors.inc()
        return json_error(503, "redis unavailable")
    except Exception:  # request boundary: log it, count it, answer 500
        logger.exception("%s %s failed", request.method, request.path)
        context(request).metrics.errors.inc()
        return json_error(500, "internal error")


@web.middleware
async def boundary(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Map errors to JSON answers and count every answer by route and status."""
    response = await _answer(request, handler)
    context(request).metrics.http_requests.inc(route=_route(request), status=str(response.status))
    return response
