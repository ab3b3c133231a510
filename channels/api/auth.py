"""Bearer-token check of ``/api/v1``: the token holder is the operator.

The configured ``gateway.apiToken`` is compared in constant time
(``hmac.compare_digest`` on bytes, so a non-ASCII header cannot raise). An
empty configured token refuses everything: an API left without a token is
closed, not open (DESIGN.md, deny by default). Neither token is ever logged.
"""

from __future__ import annotations

import hmac

from aiohttp import web
from aiohttp.typedefs import Handler

from channels.boundary import json_error
from channels.context import context

__all__ = ["bearer_auth"]

_CHALLENGE = 'Bearer realm="facio"'


def _presented(request: web.Request) -> bytes | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip().encode("utf-8", "surrogateescape")


def _unauthorized(message: str) -> web.Response:
    response = json_error(401, message)
    response.headers["WWW-Authenticate"] = _CHALLENGE
    return response


@web.middleware
async def bearer_auth(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Let the request through only with ``Authorization: Bearer <gateway.apiToken>``."""
    expected = context(request).config.gateway.api_token.get_secret_value().encode("utf-8")
    if not expected:
        return _unauthorized("the API is disabled: gateway.apiToken is empty")
    presented = _presented(request)
    if presented is None:
        return _unauthorized("missing bearer token")
    if not hmac.compare_digest(presented, expected):
        return _unauthorized("invalid bearer token")
    return await handler(request)
