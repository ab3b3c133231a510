"""Bot definitions and their assembly: the BotSpec model, built-in presets, their
resolution from config, a bot's toolbox, and the SDK's ``Facio`` that runs one
(``bots.sdk``; ``from facio import Facio``). Above ``core``, which knows none of it."""

from bots.presets import PRESETS, builtin_scripts
from bots.resolve import resolve_bot
from bots.spec import BotSpec

__all__ = ["PRESETS", "BotSpec", "builtin_scripts", "resolve_bot"]
