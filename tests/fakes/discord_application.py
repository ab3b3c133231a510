"""The fake Discord's application routes: who the bot is, where its gateway is, its commands.

``GET /users/@me`` and ``/users/{user_id}``; ``GET /oauth2/applications/@me``
(and ``/applications/@me``) with the application's ``flags`` — the
``GATEWAY_MESSAGE_CONTENT_LIMITED`` bit (1 << 19) is set only when the
message-content intent is enabled, so a doctor can tell before connecting;
``GET /gateway`` (no token needed) and ``/gateway/bot`` advertising the fake's
websocket with one shard and a ``session_start_limit``; ``GET``/``PUT
/applications/{application_id}/commands`` (global commands, bulk overwrite).
"""

from __future__ import annotations

import threading
from typing import Any

from tests.fakes.discord_gateway import Gateway
from tests.fakes.discord_objects import User, snowflake
from tests.fakes.discord_state import Call, State
from tests.fakes.discord_validation import ApiError, FormErrors

__all__ = ["ApplicationApi"]


class ApplicationApi:
    """The application's routes and the fake's addresses."""

    bot: User
    application_id: int
    application_flags: int
    port: int
    gateway: Gateway
    _lock: threading.Lock
    _state: State

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_base(self) -> str:
        return f"{self.url}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    @property
    def resume_gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/resume"

    # --- who am I ----------------------------------------------------------

    async def _get_me(self, call: Call) -> Any:
        return {
            **self.bot.wire(),
            "verified": True,
            "mfa_enabled": False,
            "flags": 0,
            "locale": "en-US",
            "email": None,
        }

    async def _get_user(self, call: Call) -> Any:
        with self._lock:
            found = self._state.users.get(int(call.params["user_id"]))
        if found is None:
            raise ApiError(404, 10013, "Unknown User")
        return found.wire()

    async def _get_application(self, call: Call) -> Any:
        return {
            "id": str(self.application_id),
            "name": self.bot.username,
            "icon": None,
            "description": "",
            "type": None,
            "bot": self.bot.wire(),
            "bot_public": True,
            "bot_require_code_grant": False,
            "verify_key": "0" * 64,
            "flags": self.application_flags,
            "owner": {
                "id": "1",
                "username": "owner",
                "discriminator": "0",
                "global_name": "Owner",
                "avatar": None,
                "public_flags": 0,
            },
            "team": None,
            "summary": "",
            "rpc_origins": [],
            "interactions_endpoint_url": None,
            "redirect_uris": [],
            "approximate_guild_count": len(self._state.guilds),
        }

    async def _get_gateway(self, call: Call) -> Any:
        return {"url": self.gateway_url}

    async def _get_gateway_bot(self, call: Call) -> Any:
        return {
            "url": self.gateway_url,
            "shards": 1,
            "session_start_limit": {
                "total": 1000,
                "remaining": 1000 - len(self.gateway.identifies),
                "reset_after": 86_400_000,
                "max_concurrency": 1,
            },
        }

    # --- global commands ---------------------------------------------------

    async def _get_commands(self, call: Call) -> Any:
        self._check_application(call)
        with self._lock:
            return list(self._state.commands)

    async def _put_commands(self, call: Call) -> Any:
        self._check_application(call)
        made = []
        errors = FormErrors()
        for index, command in enumerate(call.body or []):
            name = str(command.get("name") or "")
            if not 1 <= len(name) <= 32 or name != name.lower():
                errors.add(
                    (index, "name"), "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid"
                )
            description = str(command.get("description") or "")
            if command.get("type", 1) == 1 and not 1 <= len(description) <= 100:
                errors.add(
                    (index, "description"),
                    "BASE_TYPE_BAD_LENGTH",
                    "Must be between 1 and 100 in length.",
                )
            made.append(
                {
                    "id": str(snowflake()),
                    "application_id": str(self.application_id),
                    "version": str(snowflake()),
                    "type": 1,
                    "default_member_permissions": None,
                    "dm_permission": True,
                    "nsfw": False,
                    "contexts": None,
                    "integration_types": [0],
                    **command,
                }
            )
        errors.raise_if_any()
        with self._lock:
            self._state.commands = made
        return made

    def _check_application(self, call: Call) -> None:
        if int(call.params["application_id"]) != self.application_id:
            raise ApiError(403, 50001, "Missing Access")
