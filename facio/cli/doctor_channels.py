"""``facio doctor``'s chat channels: one check per enabled platform, and who may talk.

Each enabled platform is checked by its own package's doctor (the token
accepted, the API reachable; see :mod:`facio.cli.doctor_cmd`). A platform
enabled in the config that facio has no adapter or check for fails, as it
would fail ``facio up``. A channel with an empty ``allowFrom`` is a warning:
deny by default means nobody can talk to that bot yet.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from channels.registry import ADAPTERS
from core.config import FacioConfig
from core.config.models_channels import ChannelConfig
from facio.cli.doctor_report import Check

__all__ = ["CHECKS", "WHO", "channel_checks"]

PlatformCheck = Callable[[FacioConfig], Awaitable[list[Check]]]


async def _telegram(config: FacioConfig) -> list[Check]:
    from channels.telegram.doctor import check_telegram

    ok, detail = await check_telegram(config.channels.telegram)
    return [Check("telegram", ok, detail)]


async def _slack(config: FacioConfig) -> list[Check]:
    from channels.slack.doctor import check_slack

    ok, detail = await check_slack(config.channels.slack)
    return [Check("slack", ok, detail)]


async def _discord(config: FacioConfig) -> list[Check]:
    from channels.discord.doctor import check_discord

    return [
        Check(line.name, line.ok, line.detail)
        for line in await check_discord(config.channels.discord)
    ]


CHECKS: dict[str, PlatformCheck] = {"telegram": _telegram, "slack": _slack, "discord": _discord}
"""Platform → its doctor check, imported only when the platform is enabled."""

WHO: dict[str, str] = {
    "telegram": "your user id or @username",
    "slack": "your member id (U…)",
    "discord": "your user id or username",
}
"""How each platform's ``allowFrom`` names a person, for the empty-``allowFrom`` warning."""


def _access(name: str, channel: ChannelConfig) -> Check | None:
    if any(entry.strip() for entry in channel.allow_from):
        return None
    return Check(
        f"{name} allowFrom",
        True,
        f"channels.{name}.allowFrom is empty: nobody can talk to the bot (deny by default); "
        f"put {WHO.get(name, 'your user id')} in it (write to the bot: it answers with your id)",
        warn=True,
    )


async def channel_checks(
    config: FacioConfig,
    checks: Mapping[str, PlatformCheck] = CHECKS,
    adapters: Mapping[str, str] = ADAPTERS,
) -> list[Check]:
    """The lines of every enabled channel (``checks``/``adapters``: what facio has built)."""
    lines: list[Check] = []
    for name, channel in config.channels.enabled().items():
        check = checks.get(name)
        if check is None or name not in adapters:
            built = ", ".join(sorted(set(checks) & set(adapters)))
            detail = (
                f"channels.{name}.enabled is true, but facio has no {name} channel (built: {built})"
            )
            lines.append(Check(name, False, detail))
            continue
        lines.extend(await check(config))
        access = _access(name, channel)
        if access is not None:
            lines.append(access)
    return lines
