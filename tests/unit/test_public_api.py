"""The front door's exported names are a contract (DESIGN.md, SDK)."""

from __future__ import annotations

import importlib

import pytest

import facio

SEED = {
    "Facio",
    "Agent",
    "RunResult",
    "ApprovalRequest",
    "PermissionManager",
    "ThoughtsChunk",
    "Thoughts",
    "ResponseChunk",
    "Response",
    "CodeExecutionOutputChunk",
    "CodeExecutionOutput",
    "ToolOutput",
}


def test_facio_exports_the_seed_api() -> None:
    assert set(facio.__all__) >= SEED
    for name in facio.__all__:
        assert getattr(facio, name) is not None, name


@pytest.mark.parametrize(
    "package",
    [
        "core",
        "core.agent",
        "core.config",
        "core.providers",
        "core.tools",
        "core.sessions",
        "core.permissions",
        "bots",
        "channels.terminal",
        "workers",
    ],
)
def test_every_package_declares_all(package: str) -> None:
    module = importlib.import_module(package)
    assert module.__all__, package
    missing = [name for name in module.__all__ if not hasattr(module, name)]
    assert missing == []


def test_star_import_gives_exactly_all() -> None:
    namespace: dict[str, object] = {}
    exec("from facio import *", namespace)
    assert set(namespace) - {"__builtins__"} == set(facio.__all__)


DIRECT_AGENT = {
    "Agent",
    "AgentSettings",
    "AgentEvent",
    "Provider",
    "ScriptedProvider",
    "Script",
    "ScriptRule",
    "AnthropicProvider",
    "OpenAIChatProvider",
    "MemorySessionStore",
    "JsonlSessionStore",
    "SessionStore",
    "PermissionManager",
    "Hook",
    "Tool",
    "ToolContext",
    "tool",
    "ToolError",
}


def test_facio_exports_what_a_direct_agent_needs() -> None:
    # Agent(provider, tools=..., store=..., permissions=...) without reaching into core
    assert set(facio.__all__) >= DIRECT_AGENT
