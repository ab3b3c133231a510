"""The config.json contract: the root `FacioConfig` and its small sections.

Larger sections live next door (`models_providers`, `models_channels`,
`models_servers`, `models_cron`); this module adds the checks that need
the whole document: model strings name a provider that exists, channels and
cron jobs name a bot that exists, cron names are unique.
"""

from __future__ import annotations

from pathlib import Path
from typing import Self

from pydantic import Field, PrivateAttr, SecretStr, model_validator

from core.config.models_base import ConfigModel, Loc, ModelRef, Name, Seconds, fail
from core.config.models_channels import ChannelsConfig
from core.config.models_code import CodeConfig
from core.config.models_cron import CronJob, SchedulesConfig, TimeZoneName
from core.config.models_providers import ProviderConfig, custom_provider_problems
from core.config.models_servers import McpServerConfig
from core.config.models_worker import WorkerConfig
from core.providers.catalog import KNOWN_PROVIDERS, split_model

RESERVED_PTC_NAME = "ipybox"
"""No `ptcServers` entry may use this name: ipybox reports shell commands under it."""


class RedisConfig(ConfigModel):
    """Where sessions, queues and approvals live."""

    url: str = ""
    """Redis URL (`redis://host:6379/0`); "" starts an embedded Redis in the workspace."""


class AgentConfig(ConfigModel):
    """Defaults of every agent run; bots may override the model and prompt."""

    model: ModelRef = "openai:gpt-4.1-mini"
    """Default model as `"<provider>:<model>"`."""

    system_prompt: str | None = None
    """System prompt used when a bot does not set one; unset uses the preset's."""

    max_turns: int = Field(default=50, ge=1)
    """Most model calls in one turn before the agent stops."""

    execution_timeout: Seconds = 300
    """Seconds of code execution per call, approval waits excluded."""

    approval_timeout: Seconds = 3600
    """Seconds before a pending approval expires (counts as rejected)."""

    approval_hold: Seconds = 120
    """Seconds a worker waits in process for a decision before parking; 0 parks at once."""

    max_subagents: int = Field(default=5, ge=0)
    """Most subagents running at once for one turn; 0 disables subagents."""


class BotConfig(ConfigModel):
    """One bot: a preset from `bots/` plus overrides."""

    preset: str | None = None
    """Built-in preset the bot starts from (`assistant`, `demo`, …)."""

    model: ModelRef | None = None
    """Model override as `"<provider>:<model>"`; unset uses the preset's or `agent.model`."""

    system_prompt: str | None = None
    """System prompt override."""

    tools: list[str] | None = None
    """Tools the bot may use; unset uses the preset's. An entry is a built-in tool's name
    (`current_time`) or, for tools of your own, an import path: `"mypkg.invoices:send_invoice"`
    (one `@tool`) or `"mypkg.invoices"` (every tool the module exports)."""

    allow: list[str] = Field(default_factory=list)
    """Tools that run without asking (permission defaults), by tool name or pattern (`time_*`);
    all others need approval."""

    @model_validator(mode="after")
    def _preset_or_model(self) -> Self:
        if self.preset is None and self.model is None:
            fail("BotConfig", [((), "set a preset or a model")])
        return self


class GatewayConfig(ConfigModel):
    """The HTTP server: health, metrics, webhooks and the API channel."""

    host: str = "127.0.0.1"
    """Interface to listen on."""

    port: int = Field(default=8765, ge=1, le=65535)
    """TCP port to listen on."""

    api_token: SecretStr = SecretStr("")
    """Bearer token of `/api/v1`; "" refuses every API request."""


def _default_bots() -> dict[str, BotConfig]:
    return {"main": BotConfig(preset="assistant")}


class FacioConfig(ConfigModel):
    """The whole config.json.

    Use `load_config`/`parse_config` rather than `model_validate`: they
    resolve `${VAR}`, make `workspace` absolute and remember the file.
    """

    json_schema: str = Field(default="", alias="$schema")
    """JSON Schema of this file, for editors; facio ignores it."""

    workspace: Path = Path("./workspace")
    """Folder for sessions, permissions, the embedded Redis; relative to the config file."""

    redis: RedisConfig = Field(default_factory=RedisConfig)
    """Redis connection."""

    agent: AgentConfig = Field(default_factory=AgentConfig)
    """Agent defaults."""

    providers: dict[str, ProviderConfig] = Field(default_factory=dict)
    """Model providers by name (`openai`, `anthropic`, or a custom name)."""

    bots: dict[Name, BotConfig] = Field(default_factory=_default_bots, min_length=1)
    """Bots by name; channels and cron jobs refer to these names."""

    channels: ChannelsConfig = Field(default_factory=ChannelsConfig)
    """Chat platforms."""

    mcp_servers: dict[Name, McpServerConfig] = Field(default_factory=dict)
    """MCP servers whose tools the agent calls directly."""

    ptc_servers: dict[Name, McpServerConfig] = Field(default_factory=dict)
    """MCP servers the agent calls from code, through generated Python APIs."""

    code: CodeConfig = Field(default_factory=CodeConfig)
    """Code actions: the Python kernels, their pool, limits and environment."""

    gateway: GatewayConfig = Field(default_factory=GatewayConfig)
    """HTTP gateway."""

    worker: WorkerConfig = Field(default_factory=WorkerConfig)
    """Worker processes: how many sessions each runs at once."""
    timezone: TimeZoneName = "UTC"
    """IANA time zone of `cron` jobs and schedules that do not name their own."""

    cron: list[CronJob] = Field(default_factory=list)
    """Scheduled prompts: each due time starts one turn in its session."""

    schedules: SchedulesConfig = Field(default_factory=SchedulesConfig)
    """Scheduled turns: missed-run grace and caps."""

    _config_path: Path | None = PrivateAttr(default=None)

    @property
    def config_path(self) -> Path | None:
        """The file this config was loaded from; None when built without one."""
        return self._config_path

    def with_location(self, workspace: Path, config_path: Path | None) -> FacioConfig:
        """A copy with `workspace` replaced and the source file remembered."""
        located = self.model_copy(update={"workspace": workspace})
        located._config_path = config_path
        return located

    def provider(self, name: str) -> ProviderConfig:
        """Settings of provider `name`; catalog providers not configured get defaults."""
        return self.providers.get(name) or ProviderConfig()

    @model_validator(mode="after")
    def _check_references(self) -> Self:
        problems = [
            *self._provider_problems(),
            *self._bot_reference_problems(),
            *self._cron_problems(),
            *self._ptc_problems(),
        ]
        if problems:
            fail("FacioConfig", problems)
        return self

    def _provider_problems(self) -> list[tuple[Loc, str]]:
        problems: list[tuple[Loc, str]] = []
        for name, settings in self.providers.items():
            problems += custom_provider_problems(name, settings)
        known = sorted({*KNOWN_PROVIDERS, *self.providers})
        models: list[tuple[Loc, str]] = [(("agent", "model"), self.agent.model)]
        models += [(("bots", n, "model"), b.model) for n, b in self.bots.items() if b.model]
        for loc, model in models:
            provider = split_model(model)[0]
            if provider not in known:
                message = (
                    f"unknown provider {provider!r} in {model!r}; known providers: "
                    f"{', '.join(known)} (or add it under providers with protocol and apiBase)"
                )
                problems.append((loc, message))
        return problems

    def _bot_reference_problems(self) -> list[tuple[Loc, str]]:
        refs: list[tuple[Loc, str]] = [
            (("channels", name, "bot"), channel.bot)
            for name, channel in self.channels.enabled().items()
        ]
        refs += [(("cron", i, "bot"), job.bot) for i, job in enumerate(self.cron) if job.bot]
        bots = ", ".join(sorted(self.bots))
        return [
            (loc, f"no bot named {bot!r}; bots: {bots}")
            for loc, bot in refs
            if bot not in self.bots
        ]

    def _ptc_problems(self) -> list[tuple[Loc, str]]:
        # code's shell commands reach the host as calls of a server named "ipybox"
        return [
            (("ptcServers", name), f"{name!r} is reserved for shell commands in code")
            for name in self.ptc_servers
            if name.lower() == RESERVED_PTC_NAME
        ]

    def _cron_problems(self) -> list[tuple[Loc, str]]:
        seen: set[str] = set()
        problems: list[tuple[Loc, str]] = []
        for i, job in enumerate(self.cron):
            if job.name in seen:
                problems.append((("cron", i, "name"), f"duplicate cron job name {job.name!r}"))
            seen.add(job.name)
        return problems
