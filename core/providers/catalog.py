"""Provider names a model string may start with, and what each one speaks.

``"openai:gpt-4.1-mini"`` → provider ``openai`` (Chat Completions protocol,
default base URL, key from ``providers.openai.apiKey``). Names not listed here
may still be used when ``providers.<name>`` in the config gives ``protocol``
and ``apiBase`` (any OpenAI-compatible server).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Protocol = Literal["openai", "anthropic", "scripted"]
PROTOCOLS: tuple[Protocol, ...] = ("openai", "anthropic", "scripted")


@dataclass(frozen=True)
class ProviderKind:
    name: str
    protocol: Protocol
    api_base: str
    needs_key: bool


KNOWN_PROVIDERS: dict[str, ProviderKind] = {
    kind.name: kind
    for kind in (
        ProviderKind("openai", "openai", "https://api.openai.com/v1", True),
        ProviderKind("anthropic", "anthropic", "https://api.anthropic.com", True),
        ProviderKind("openrouter", "openai", "https://openrouter.ai/api/v1", True),
        ProviderKind("deepseek", "openai", "https://api.deepseek.com/v1", True),
        ProviderKind("groq", "openai", "https://api.groq.com/openai/v1", True),
        ProviderKind("ollama", "openai", "http://127.0.0.1:11434/v1", False),
        ProviderKind("lmstudio", "openai", "http://127.0.0.1:1234/v1", False),
        ProviderKind("vllm", "openai", "http://127.0.0.1:8000/v1", False),
        ProviderKind("scripted", "scripted", "", False),
    )
}


def split_model(model: str) -> tuple[str, str]:
    """``"openai:gpt-4.1"`` → ``("openai", "gpt-4.1")``; raises ValueError when malformed."""
    provider, sep, name = model.partition(":")
    if not sep or not provider or not name:
        raise ValueError(f"expected '<provider>:<model>', got {model!r}")
    return provider, name
