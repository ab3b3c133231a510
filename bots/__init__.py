"""Bot definitions: the BotSpec model, built-in presets, and their resolution from config."""

from bots.presets import PRESETS, builtin_scripts
from bots.resolve import resolve_bot
from bots.spec import BotSpec

__all__ = ["PRESETS", "BotSpec", "builtin_scripts", "resolve_bot"]
