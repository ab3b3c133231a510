"""The operator console: a web page the gateway serves at ``/console/`` (docs/design.md).

    routes.py   GET / (redirect), GET /console/ and its static files, with the security headers
    static/     the page: index.html, console.css, js/*.js (ES modules, no framework, no build)

The page loads without a token and signs in with the gateway's API token; it
keeps the token in ``sessionStorage`` and sends it as ``Authorization:
Bearer`` on every call to ``/api/v1`` (docs/console.md).
"""

from channels.console.routes import CONSOLE_PATH, SECURITY_HEADERS, add_console

__all__ = ["CONSOLE_PATH", "SECURITY_HEADERS", "add_console"]
