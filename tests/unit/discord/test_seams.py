"""The endpoint seam (discord.py's two class attributes), the error mapping, the config."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import discord
import pytest
import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

from channels.discord.endpoints import held_endpoints, release_endpoints, use_endpoints
from channels.discord.errors import (
    DiscordUnreachable,
    IntentMissing,
    RequestRefused,
    TokenRefused,
    map_error,
)
from core.config import DiscordConfig, parse_config
from core.errors import ConfigError


def test_endpoints_are_set_while_held_and_restored_after_the_last_holder() -> None:
    before = (Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY)
    use_endpoints("http://127.0.0.1:9/api/v10/", "ws://127.0.0.1:9/gateway")
    use_endpoints("http://127.0.0.1:9/api/v10", "ws://127.0.0.1:9/gateway")  # a second holder
    try:
        assert Route.BASE == "http://127.0.0.1:9/api/v10"
        assert yarl.URL("ws://127.0.0.1:9/gateway") == DiscordWebSocket.DEFAULT_GATEWAY
        with pytest.raises(ConfigError, match="one Discord endpoint pair"):
            use_endpoints("http://127.0.0.1:10/api/v10", "")
        release_endpoints()
        assert Route.BASE == "http://127.0.0.1:9/api/v10"  # one holder left
    finally:
        release_endpoints()
    assert before == (Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY)
    assert held_endpoints() is None
    use_endpoints("", "")
    try:
        assert Route.BASE == "https://discord.com/api/v10"
    finally:
        release_endpoints()


class _Response:
    status = 404
    reason = "Not Found"


def test_errors_are_mapped_once_and_the_token_never_shows() -> None:
    token = "MTIz.abc.SECRET"
    refused = map_error(discord.LoginFailure("Improper token"), "logging in", token)
    assert isinstance(refused, TokenRefused)
    assert isinstance(map_error(discord.PrivilegedIntentsRequired(None), "x"), IntentMissing)
    dropped = map_error(aiohttp.ServerDisconnectedError(), "sending", token)
    assert isinstance(dropped, DiscordUnreachable) and "ServerDisconnectedError" in str(dropped)
    assert isinstance(map_error(TimeoutError(), "sending"), DiscordUnreachable)
    missing = discord.NotFound(
        _Response(),  # type: ignore[arg-type]
        {"code": 10008, "message": f"Unknown Message {token}"},
    )
    error = map_error(missing, "editing", token)
    assert isinstance(error, RequestRefused) and error.code == 10008 and error.status == 404
    assert token not in str(error) and "Unknown Message <token> (10008)" in str(error)


def _discord(tmp_path: Path, **settings: object) -> DiscordConfig:
    data = {"channels": {"discord": {"enabled": True, "token": "t", **settings}}}
    return parse_config(data, base_dir=tmp_path, env={}).channels.discord


def test_allow_from_takes_ids_and_usernames_with_or_without_the_at(tmp_path: Path) -> None:
    settings = _discord(tmp_path, allowFrom=[123456789012345678, "alice", "@Bob", "carol.smith"])
    assert settings.allow_from == ["123456789012345678", "@alice", "@Bob", "@carol.smith"]


def test_gateway_url_must_be_a_websocket(tmp_path: Path) -> None:
    assert _discord(tmp_path, gatewayUrl="wss://gateway.discord.gg/").gateway_url
    with pytest.raises(ConfigError, match="gatewayUrl"):
        _discord(tmp_path, gatewayUrl="https://gateway.discord.gg/")
