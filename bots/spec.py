"""BotSpec: what a bot is — its model, prompt, tools and permission defaults."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class BotSpec(BaseModel):
    """A bot definition, resolved from a preset and the config's overrides."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    """The key of the bot in the config's ``bots`` section."""
    model: str
    """``<provider>:<model>``, e.g. ``openai:gpt-4.1-mini`` or ``scripted:demo``."""
    system_prompt: str
    tools: tuple[str, ...] = ()
    """Names of the tools the bot may call."""
    allow: tuple[str, ...] = ()
    """Permission defaults: tool names (or patterns) that run without asking."""
    description: str = ""
