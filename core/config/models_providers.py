"""`providers.<name>`: how to reach one model API."""

from __future__ import annotations

from pydantic import Field, SecretStr

from core.config.models_base import ConfigModel, Loc, PositiveSeconds
from core.providers.catalog import KNOWN_PROVIDERS, PROTOCOLS, Protocol


class ProviderConfig(ConfigModel):
    """Credentials and transport settings of one model provider.

    Keys named in the provider catalog (`openai`, `anthropic`, …) only need
    what differs from the catalog; any other key is a custom OpenAI- or
    Anthropic-compatible server and must give `protocol` and `apiBase`.
    """

    api_key: SecretStr = SecretStr("")
    """API key sent to the provider; "" for servers without authentication."""

    api_base: str = ""
    """Base URL of the API; "" means the catalog default for this provider."""

    protocol: Protocol | None = None
    """Wire protocol; required for providers not in the catalog."""

    headers: dict[str, str] = Field(default_factory=dict, repr=False)
    """Extra HTTP headers sent with every request (kept out of repr: they may hold tokens)."""

    timeout: PositiveSeconds = 120
    """Read timeout of one request, in seconds."""

    max_retries: int = Field(default=3, ge=0)
    """Retries of a failed request (rate limits, 5xx, connection errors)."""

    thinking_budget: int | None = Field(default=None, ge=1024)
    """Anthropic extended-thinking token budget; unset disables thinking."""


def custom_provider_problems(name: str, provider: ProviderConfig) -> list[tuple[Loc, str]]:
    """What `providers.<name>` lacks when the name is not in the catalog."""
    if name in KNOWN_PROVIDERS:
        return []
    problems: list[tuple[Loc, str]] = []
    hint = f"{name!r} is not a known provider, so it needs"
    if provider.protocol is None:
        problems.append(
            (("providers", name, "protocol"), f"{hint} a protocol (one of {', '.join(PROTOCOLS)})")
        )
    if not provider.api_base:
        problems.append(
            (("providers", name, "apiBase"), f"{hint} an apiBase (the server's base URL)")
        )
    return problems
