"""Serving the console: ``/`` redirects to ``/console/``; the page and its files, read once.

The files are package data (``channels/console/static``, shipped in the
wheel); they are read when the gateway starts and served from memory, by
name: only files that exist there are served, so no path from a request ever
reaches the file system. Every answer carries the security headers: a strict
Content-Security-Policy (scripts, styles and connections from the gateway
itself only, no inline script or style, no framing), ``nosniff``, no
referrer, and ``no-store`` so a signed-out browser keeps no copy.
"""

from __future__ import annotations

import mimetypes
from importlib import resources
from importlib.resources.abc import Traversable

from aiohttp import web

__all__ = ["CONSOLE_PATH", "SECURITY_HEADERS", "add_console", "static_files"]

CONSOLE_PATH = "/console/"

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self' data:; manifest-src 'self'; frame-ancestors 'none'; "
        "base-uri 'none'; form-action 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cache-Control": "no-store",
}
"""On every console answer. ``form-action 'none'``: the sign-in form is never
submitted (the page reads it), so a token can never travel in a form post or URL."""

_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".txt": "text/plain; charset=utf-8",
}


def _walk(folder: Traversable, prefix: str = "") -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    for entry in folder.iterdir():
        name = prefix + entry.name
        if entry.is_dir():
            found.update(_walk(entry, name + "/"))
        elif not entry.name.startswith("."):
            found[name] = entry.read_bytes()
    return found


def static_files() -> dict[str, bytes]:
    """Every file of the console, by its path under ``/console/``."""
    return _walk(resources.files("channels.console").joinpath("static"))


def _content_type(name: str) -> str:
    suffix = name[name.rfind(".") :] if "." in name else ""
    return _TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"


def _answer(body: bytes, content_type: str) -> web.Response:
    response = web.Response(body=body, headers=SECURITY_HEADERS)
    response.headers["Content-Type"] = content_type
    return response


def add_console(app: web.Application) -> None:
    """Add ``/`` (a redirect), ``/console`` and ``/console/{file}`` to the gateway's app."""
    files = static_files()

    async def root(request: web.Request) -> web.Response:
        return web.Response(status=302, headers={"Location": CONSOLE_PATH, **SECURITY_HEADERS})

    async def page(request: web.Request) -> web.Response:
        return _answer(files["index.html"], _TYPES[".html"])

    async def asset(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        body = files.get(name)
        if body is None:
            raise web.HTTPNotFound()
        return _answer(body, _content_type(name))

    app.router.add_get("/", root)
    app.router.add_get("/console", root)
    app.router.add_get(CONSOLE_PATH, page)
    app.router.add_get(CONSOLE_PATH + "{name:.+}", asset)
