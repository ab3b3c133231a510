"""facio's configuration: the config.json models, loading, schema and starter.

    config = load_config()           # --config / $FACIO_CONFIG / ./config.json / ~/.facio
    config.agent.model               # "openai:gpt-4.1-mini"
    config.workspace                 # absolute Path

Every problem is a ``ConfigError`` naming the file and the key path. The JSON
Schema lives in ``core.config.schema`` (not imported here, so that
``python -m core.config.schema`` runs cleanly).
"""

from core.config.env import resolve_env
from core.config.loader import (
    CONFIG_ENV,
    CONFIG_NAME,
    find_config,
    load_config,
    parse_config,
    read_jsonc,
)
from core.config.models import (
    AgentConfig,
    BotConfig,
    FacioConfig,
    GatewayConfig,
    RedisConfig,
)
from core.config.models_channels import (
    ChannelConfig,
    ChannelsConfig,
    DiscordConfig,
    SlackConfig,
    TelegramConfig,
)
from core.config.models_code import CodeConfig
from core.config.models_cron import CronJob, SchedulesConfig
from core.config.models_providers import ProviderConfig
from core.config.models_servers import McpServerConfig
from core.config.problems import ConfigProblem, ConfigValidationError
from core.config.starter import render_starter, write_starter

__all__ = [
    "CONFIG_ENV",
    "CONFIG_NAME",
    "AgentConfig",
    "BotConfig",
    "ChannelConfig",
    "ChannelsConfig",
    "CodeConfig",
    "ConfigProblem",
    "ConfigValidationError",
    "CronJob",
    "DiscordConfig",
    "FacioConfig",
    "GatewayConfig",
    "McpServerConfig",
    "ProviderConfig",
    "RedisConfig",
    "SchedulesConfig",
    "SlackConfig",
    "TelegramConfig",
    "find_config",
    "load_config",
    "parse_config",
    "read_jsonc",
    "render_starter",
    "resolve_env",
    "write_starter",
]
