"""Build a Provider from a model string and the config's ``providers`` section."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

from core.config.models_providers import ProviderConfig
from core.errors import ConfigError
from core.providers.anthropic import AnthropicProvider
from core.providers.base import Provider
from core.providers.catalog import KNOWN_PROVIDERS, split_model
from core.providers.openai import OpenAIChatProvider
from core.providers.retry import RetryPolicy
from core.providers.scripted import Script, ScriptedProvider

CONNECT_TIMEOUT = 10.0


@dataclass(frozen=True)
class BuiltProvider:
    provider: Provider
    model: str
    """The model name to request (the part after ``provider:``)."""


def _script(name: str, scripts: Mapping[str, Script], base_dir: Path) -> Script:
    if name in scripts:
        return scripts[name]
    if name.endswith(".json"):
        path = Path(name) if Path(name).is_absolute() else base_dir / name
        try:
            return Script.from_file(path)
        except ValueError as exc:
            raise ConfigError(str(exc), path="agent.model") from exc
    known = ", ".join(sorted(scripts)) or "none"
    raise ConfigError(
        f"unknown script {name!r}: use a built-in one ({known}) or a path to a .json script",
        path="agent.model",
    )


def build_provider(
    model: str,
    providers: Mapping[str, ProviderConfig],
    *,
    scripts: Mapping[str, Script] = {},
    base_dir: Path = Path("."),
    client: httpx.AsyncClient | None = None,
) -> BuiltProvider:
    """The provider for ``model`` (``"<provider>:<model>"``).

    The provider owns ``client`` when none is given (closed by ``aclose``).
    """
    try:
        name, model_name = split_model(model)
    except ValueError as exc:
        raise ConfigError(str(exc), path="agent.model") from exc
    settings = providers.get(name, ProviderConfig())
    kind = KNOWN_PROVIDERS.get(name)
    protocol = settings.protocol or (kind.protocol if kind else None)
    if protocol is None:
        raise ConfigError(
            f"unknown provider {name!r}; set providers.{name}.protocol and apiBase",
            path=f"providers.{name}",
        )
    if protocol == "scripted":
        return BuiltProvider(ScriptedProvider(_script(model_name, scripts, base_dir)), model_name)
    api_base = settings.api_base or (kind.api_base if kind else "")
    api_key = settings.api_key.get_secret_value() or None
    if kind is not None and kind.needs_key and api_key is None and not settings.api_base:
        raise ConfigError(
            f"no API key for {name}: set providers.{name}.apiKey "
            f'(for example "${{{name.upper()}_API_KEY}}")',
            path=f"providers.{name}.apiKey",
        )
    owned = client is None
    http = client or httpx.AsyncClient(
        timeout=httpx.Timeout(settings.timeout, connect=CONNECT_TIMEOUT)
    )
    retry = RetryPolicy(max_retries=settings.max_retries)
    headers = dict(settings.headers)
    if protocol == "anthropic":
        provider: Provider = AnthropicProvider(
            http,
            name=name,
            api_base=api_base,
            api_key=api_key,
            headers=headers,
            retry=retry,
            thinking_budget=settings.thinking_budget,
            close_client=owned,
        )
    else:
        provider = OpenAIChatProvider(
            http,
            name=name,
            api_base=api_base,
            api_key=api_key,
            headers=headers,
            retry=retry,
            close_client=owned,
        )
    return BuiltProvider(provider, model_name)
