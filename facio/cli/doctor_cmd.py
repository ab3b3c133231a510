"""``facio doctor``: check the config, the workspace, the model provider and MCP servers.

Each check prints one line, ``ok``, ``warn`` or ``FAIL`` with what to do; the
exit code is 1 when any check fails (a warning is no failure). Each bot's
tools get a line: facio's own by name, then the user's (imported from
``bots.<name>.tools`` import paths, as a worker would at start) with where
each came from and whether it asks for approval — or why an entry fails. The code
sandbox is tried as a kernel would be: a ``warn`` line says code actions
would run without one (``code.sandbox: auto`` where bubblewrap does not
work). Every ``mcpServers`` entry is started (or reached) once, its tools
listed, then stopped. An enabled Telegram channel is checked with one
``getMe`` through its ``apiBase``, an enabled Slack channel with
``auth.test`` (its scopes too) and, in Socket Mode, ``apps.connections.open``:
a refused token, a missing scope and an unreachable API each get a line that
says so. An enabled Discord channel is checked with a login through its
``apiBase``: a refused token, an unreachable API and a missing message-content
intent each get a line, and the invite URL with the permissions the bot needs
is printed. A channel enabled with an empty ``allowFrom`` gets a warning
(nobody can talk to it), and a platform facio has not built fails
(:mod:`facio.cli.doctor_channels`).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path
from typing import Any

import httpx

from core.config import FacioConfig, load_config
from core.errors import ConfigError, FacioError
from core.permissions import PermissionManager
from core.permissions.store import MemoryPermissionStore
from core.providers.catalog import KNOWN_PROVIDERS, split_model
from facio.cli.doctor_channels import channel_checks
from facio.cli.doctor_report import Check, print_checks

__all__ = ["add_parser", "run"]


def add_parser(subparsers: argparse._SubParsersAction[Any]) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "doctor",
        help="check the config, workspace, sandbox, model provider, MCP servers and channels",
        description="Check the config, the workspace, the code sandbox, the model provider, "
        "every MCP server and every enabled chat channel; one line each (ok, warn or FAIL), "
        "exit 1 when any check fails.",
    )
    parser.add_argument("--config", metavar="PATH", help="config.json to check")
    parser.add_argument("--workspace", metavar="DIR", help="override the workspace folder")
    parser.set_defaults(handler=run)
    return parser


def _workspace(config: FacioConfig) -> Check:
    try:
        config.workspace.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=config.workspace):
            pass
    except OSError as exc:
        return Check("workspace", False, f"{config.workspace} is not writable: {exc.strerror}")
    return Check("workspace", True, str(config.workspace))


def _sandbox(config: FacioConfig) -> Check:
    """How code actions would be sandboxed here (``code.sandbox``), by trying it."""
    from core.code.sandbox import check_sandbox

    code, name = config.code, "code sandbox"
    if code.sandbox == "off":
        return Check(name, True, "off (code.sandbox): code runs as this OS user, sees what it sees")
    check = check_sandbox(code.network == "on")
    if check.works:
        limits = code.limits
        return Check(
            name,
            True,
            f"bubblewrap ({check.bwrap}), network {code.network}; each kernel at most "
            f"{limits.memory_mb} MiB, {limits.cpu_seconds} s CPU, {limits.processes} processes, "
            f"{limits.file_size_mb} MiB files",
        )
    if code.sandbox == "bwrap":
        return Check(name, False, f'code.sandbox is "bwrap" and {check.reason}: code will not run')
    return Check(
        name,
        True,
        f'{check.reason}: code actions run WITHOUT a sandbox (code.sandbox is "auto"; '
        'install bubblewrap, or set it to "off" to say that is meant)',
        warn=True,
    )


def _bot_tools(config: FacioConfig) -> list[Check]:
    """One line per bot: its tools, the user's imported as a worker imports them."""
    from bots.toolbox import check_bot

    checks: list[Check] = []
    for bot in config.bots:
        name = f"bot {bot} tools"
        try:
            checked = check_bot(config, bot)
        except ConfigError as exc:
            checks.append(Check(name, False, str(exc)))
            continue
        rules = PermissionManager(store=MemoryPermissionStore(), defaults=checked.spec.allow)
        detail = ", ".join(checked.own) or "none of facio's own"
        if checked.imported:
            yours = ", ".join(
                f"{item.tool.name} (from {item.entry}, "
                f"{'allowed' if rules.is_allowed(item.tool.name) else 'asks for approval'})"
                for item in checked.imported
            )
            detail += f"; yours: {yours}"
        checks.append(Check(name, True, detail))
    return checks


async def _provider(config: FacioConfig) -> Check:
    from bots import resolve_bot

    models: set[str] = set()
    for name, bot in config.bots.items():
        try:
            models.add(resolve_bot(name, bot, config.agent).model)
        except ConfigError:
            continue  # its line under "bot <name> tools" says why
    problems: list[str] = []
    for model in sorted(models):
        name, _ = split_model(model)
        settings = config.providers.get(name)
        kind = KNOWN_PROVIDERS.get(name)
        protocol = (settings.protocol if settings else None) or (kind.protocol if kind else "")
        if protocol == "scripted":
            continue
        base = (settings.api_base if settings else "") or (kind.api_base if kind else "")
        key = settings.api_key.get_secret_value() if settings else ""
        if kind is not None and kind.needs_key and not key:
            problems.append(f"{model}: no API key (set providers.{name}.apiKey)")
            continue
        url = (
            f"{base.rstrip('/')}/models"
            if protocol == "openai"
            else f"{base.rstrip('/')}/v1/models"
        )
        headers = {"Authorization": f"Bearer {key}"} if protocol == "openai" and key else {}
        if protocol == "anthropic":
            headers = {"x-api-key": key, "anthropic-version": "2023-06-01"}
        try:
            async with httpx.AsyncClient(timeout=5.0) as client:
                response = await client.get(url, headers=headers)
        except httpx.HTTPError as exc:
            problems.append(f"{model}: cannot reach {base} ({type(exc).__name__})")
            continue
        if response.status_code in (401, 403):
            problems.append(f"{model}: {base} refused the API key (HTTP {response.status_code})")
        elif response.status_code >= 500:
            problems.append(f"{model}: {base} answered HTTP {response.status_code}")
    if problems:
        return Check("model provider", False, "; ".join(problems))
    return Check("model provider", True, ", ".join(sorted(models)))


async def _mcp_servers(config: FacioConfig) -> list[Check]:
    """One check per MCP server: its tools as offered, or why it is not running."""
    from core.mcp import McpToolset  # the mcp package is slow to import: only when needed

    toolset = McpToolset.from_config(config)
    try:
        await toolset.tools()
        statuses = toolset.status()
    finally:
        await toolset.aclose()
    checks: list[Check] = []
    for status in statuses:
        name = f"mcp server {status.name}"
        if status.error:
            checks.append(Check(name, False, f"{status.where}: {status.error}"))
        else:
            offered = ", ".join(status.tools) or "no tools offered"
            detail = f"{status.transport}, {len(status.tools)} tool(s): {offered}"
            notes = "".join(f"; note: {note}" for note in status.notes)
            checks.append(Check(name, True, detail + notes))
    return checks


def run(args: argparse.Namespace) -> int:
    checks: list[Check] = []
    try:
        config = load_config(args.config, workspace=args.workspace)
    except FacioError as exc:
        checks.append(Check("config", False, str(exc)))
    else:
        where = config.config_path or Path("(defaults)")
        checks.append(Check("config", True, str(where)))
        checks.append(_workspace(config))
        checks.append(_sandbox(config))
        checks.extend(_bot_tools(config))
        checks.append(asyncio.run(_provider(config)))
        if config.mcp_servers:
            checks.extend(asyncio.run(_mcp_servers(config)))
        checks.extend(asyncio.run(channel_checks(config)))
    return print_checks(checks)
