"""Model providers: the Provider seam, the two wire protocols, the scripted model.

Build one from a config model string with :func:`core.providers.factory.build_provider`
(not imported here: it depends on the config package).
"""

from core.providers.anthropic import AnthropicProvider
from core.providers.base import (
    ModelRequest,
    ModelTurn,
    Provider,
    StreamPart,
    TextDelta,
    ThinkingDelta,
    ToolSpec,
    Usage,
)
from core.providers.errors import (
    AuthenticationError,
    BadRequestError,
    ProviderConnectionError,
    ProviderError,
    ProviderProtocolError,
    ProviderStatusError,
    RateLimitError,
    ServerError,
)
from core.providers.openai import OpenAIChatProvider
from core.providers.retry import RetryPolicy
from core.providers.scripted import Script, ScriptedProvider, ScriptRule

__all__ = [
    "AnthropicProvider",
    "AuthenticationError",
    "BadRequestError",
    "ModelRequest",
    "ModelTurn",
    "OpenAIChatProvider",
    "Provider",
    "ProviderConnectionError",
    "ProviderError",
    "ProviderProtocolError",
    "ProviderStatusError",
    "RateLimitError",
    "RetryPolicy",
    "Script",
    "ScriptRule",
    "ScriptedProvider",
    "ServerError",
    "StreamPart",
    "TextDelta",
    "ThinkingDelta",
    "ToolSpec",
    "Usage",
]
