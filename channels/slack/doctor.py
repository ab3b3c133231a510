"""``facio doctor``'s Slack check: are the tokens accepted, the scopes granted, the API reachable?

One ``auth.test`` with the bot token through ``apiBase`` (short timeout, no
retries): a refused token, an app-level token in its place, an unreachable
API and a server that does not answer like Slack each get a line that says
what to fix. Its ``x-oauth-scopes`` header lists the scopes the bot token
has; any of :data:`REQUIRED_SCOPES` missing is named. In Socket Mode one
``apps.connections.open`` checks the app-level token (the URL it returns is
not used). Neither token ever appears in a line.
"""

from __future__ import annotations

import aiohttp

from channels.slack.errors import (
    CALL_FAILURES,
    MissingScope,
    SlackChannelError,
    SlackUnreachable,
    TokenRefused,
    WrongTokenType,
    map_error,
)
from channels.slack.web import api_base_of, make_client
from core.config.models_channels import SlackConfig

__all__ = ["REQUIRED_SCOPES", "TIMEOUT", "check_slack"]

TIMEOUT = 5
REQUIRED_SCOPES = (
    "app_mentions:read",
    "channels:history",
    "chat:write",
    "files:read",
    "groups:history",
    "im:history",
    "mpim:history",
    "reactions:write",
    "users:read",
)
"""What the channel uses (config/slack-app-manifest.json grants these and a few optional ones)."""


def _bot_problem(error: SlackChannelError, base: str) -> str:
    if isinstance(error, TokenRefused):
        return (
            f"the Slack bot token was refused ({error}): check channels.slack.botToken "
            "(OAuth & Permissions → Bot User OAuth Token, xoxb-…)"
        )
    if isinstance(error, WrongTokenType):
        return (
            "channels.slack.botToken is not a bot token (not_allowed_token_type): use the "
            "Bot User OAuth Token (xoxb-…), not the app-level token (xapp-…)"
        )
    if isinstance(error, SlackUnreachable):
        return f"cannot reach {base} ({error}): check channels.slack.apiBase"
    return f"{base} answered auth.test with an error: {error}"


def _app_problem(error: SlackChannelError, base: str) -> str:
    if isinstance(error, TokenRefused):
        return (
            f"the Slack app token was refused ({error}): check channels.slack.appToken "
            "(Basic Information → App-Level Tokens, xapp-…)"
        )
    if isinstance(error, WrongTokenType | MissingScope):
        return (
            f"channels.slack.appToken cannot open Socket Mode ({error}): use an app-level "
            "token (xapp-…) with the connections:write scope"
        )
    if isinstance(error, SlackUnreachable):
        return f"cannot reach {base} ({error}): check channels.slack.apiBase"
    return f"{base} answered apps.connections.open with an error: {error}"


async def check_slack(settings: SlackConfig) -> tuple[bool, str]:
    """``(ok, detail)``: ``@facio in Acme via <apiBase> (socket)``, or what is wrong."""
    base = api_base_of(settings.api_base)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT)) as session:
        client = make_client(
            settings.bot_token.get_secret_value(),
            settings.api_base,
            session=session,
            timeout=TIMEOUT,
            retries=False,
        )
        try:
            reply = await client.auth_test()
        except CALL_FAILURES as exc:
            return False, _bot_problem(map_error(exc, "auth.test"), base)
        headers = {k.lower(): v for k, v in reply.headers.items()}
        granted = {s.strip() for s in str(headers.get("x-oauth-scopes", "")).split(",")}
        missing = [s for s in REQUIRED_SCOPES if s not in granted]
        if "x-oauth-scopes" in headers and missing:
            return False, (
                f"the Slack app lacks the scope(s) {', '.join(missing)}: add them under OAuth & "
                "Permissions (or create the app from config/slack-app-manifest.json) and "
                "reinstall it"
            )
        if settings.mode == "socket":
            try:
                await client.apps_connections_open(app_token=settings.app_token.get_secret_value())
            except CALL_FAILURES as exc:
                return False, _app_problem(map_error(exc, "apps.connections.open"), base)
    where = f"in {reply.get('team')} " if reply.get("team") else ""
    mode = settings.mode if settings.mode == "socket" else f"http on {settings.path}"
    return True, f"@{reply.get('user')} {where}via {base} ({mode})"
