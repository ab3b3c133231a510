"""``facio doctor``'s channel lines: a platform facio lacks fails, an empty allowFrom warns."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from channels.registry import ADAPTERS
from core.config import FacioConfig, parse_config
from core.config.models_channels import ChannelsConfig
from facio.cli.doctor_channels import CHECKS, WHO, channel_checks
from facio.cli.doctor_report import Check

TOKENS: dict[str, dict[str, str]] = {
    "telegram": {"token": "1:a"},
    "slack": {"botToken": "xoxb-1", "appToken": "xapp-1"},
    "discord": {"token": "t"},
}


def _config(tmp_path: Path, **channels: dict[str, Any]) -> FacioConfig:
    enabled = {name: {"enabled": True, **TOKENS[name], **c} for name, c in channels.items()}
    return parse_config({"channels": enabled}, base_dir=tmp_path, env={})


async def _reachable(config: FacioConfig) -> list[Check]:
    return [Check("platform", True, "reached")]


def _fakes() -> dict[str, Any]:
    return dict.fromkeys(CHECKS, _reachable)


def test_every_platform_the_config_knows_has_a_check_an_adapter_and_words() -> None:
    assert set(CHECKS) == set(ADAPTERS) == set(WHO) == set(ChannelsConfig.model_fields)


@pytest.mark.parametrize("name", sorted(TOKENS))
async def test_an_empty_allow_from_is_a_warning_naming_the_key(tmp_path: Path, name: str) -> None:
    lines = await channel_checks(_config(tmp_path, **{name: {}}), _fakes())
    assert [line.name for line in lines] == ["platform", f"{name} allowFrom"]
    warning = lines[1]
    assert warning.ok and warning.warn  # deny by default is safe: a warning, not a failure
    assert f"channels.{name}.allowFrom is empty: nobody can talk to the bot" in warning.detail
    assert WHO[name] in warning.detail


@pytest.mark.parametrize(
    ("name", "who"), [("telegram", "@alice"), ("slack", "U1"), ("discord", "1")]
)
async def test_someone_allowed_gets_no_warning(tmp_path: Path, name: str, who: str) -> None:
    lines = await channel_checks(_config(tmp_path, **{name: {"allowFrom": [who]}}), _fakes())
    assert [line.name for line in lines] == ["platform"]


async def test_nothing_enabled_nothing_checked(tmp_path: Path) -> None:
    assert await channel_checks(parse_config({}, base_dir=tmp_path, env={}), _fakes()) == []


async def test_an_enabled_platform_without_an_adapter_fails(tmp_path: Path) -> None:
    config = _config(tmp_path, discord={"allowFrom": ["1"]}, telegram={"allowFrom": ["1"]})
    adapters = {name: target for name, target in ADAPTERS.items() if name != "discord"}
    lines = await channel_checks(config, _fakes(), adapters)
    assert [(line.name, line.ok) for line in lines] == [("platform", True), ("discord", False)]
    assert lines[1].detail == (
        "channels.discord.enabled is true, but facio has no discord channel "
        "(built: slack, telegram)"
    )


async def test_an_enabled_platform_without_a_doctor_check_fails(tmp_path: Path) -> None:
    config = _config(tmp_path, slack={"allowFrom": ["U1"]})
    lines = await channel_checks(config, {"telegram": _reachable})
    assert [(line.name, line.ok) for line in lines] == [("slack", False)]
