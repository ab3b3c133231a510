"""Resolve a config ``bots.<name>`` entry into a BotSpec.

Precedence: the bot entry's own keys, then ``agent`` defaults, then the
preset. A preset that pins a model (the demo's ``scripted:demo``) keeps it
unless the bot entry names another.
"""

from __future__ import annotations

from bots.presets import PRESETS
from bots.spec import BotSpec
from core.config.models import AgentConfig, BotConfig
from core.errors import ConfigError


def resolve_bot(name: str, bot: BotConfig, agent: AgentConfig) -> BotSpec:
    """The BotSpec for config entry ``bots.<name>``; ConfigError on an unknown preset."""
    base: BotSpec | None = None
    if bot.preset is not None:
        base = PRESETS.get(bot.preset)
        if base is None:
            known = ", ".join(sorted(PRESETS))
            raise ConfigError(
                f"unknown preset {bot.preset!r}; built-in presets: {known}",
                path=f"bots.{name}.preset",
            )
    model = bot.model or (base.model if base and base.model else None) or agent.model
    prompt = bot.system_prompt or agent.system_prompt or (base.system_prompt if base else "")
    tools = tuple(bot.tools) if bot.tools is not None else (base.tools if base else ())
    allow = (base.allow if base else ()) + tuple(bot.allow)
    return BotSpec(
        name=name,
        model=model,
        system_prompt=prompt,
        tools=tools,
        allow=tuple(dict.fromkeys(allow)),
        description=base.description if base else "",
    )
