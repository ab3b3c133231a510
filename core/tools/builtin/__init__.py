"""Built-in tools, by the name a bot spec uses for them."""

from __future__ import annotations

from core.tools.builtin.clock import CURRENT_TIME
from core.tools.builtin.notes import LIST_NOTES, SAVE_NOTE
from core.tools.tool import Tool

BUILTIN_TOOLS: dict[str, Tool] = {t.name: t for t in (CURRENT_TIME, SAVE_NOTE, LIST_NOTES)}

__all__ = ["BUILTIN_TOOLS", "CURRENT_TIME", "LIST_NOTES", "SAVE_NOTE"]
