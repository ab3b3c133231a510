"""The names MCP tools get in facio: ``<server>_<tool>``, made valid when they are not.

A tool name the model APIs accept is ``^[A-Za-z][A-Za-z0-9_-]{0,63}$``. MCP
servers may use dots, slashes or long names; such a name is cleaned (every
other character becomes ``_``) and, because cleaning can make two names equal,
gets a short hash of the original, cut so the whole fits in 64 characters:
``files_read.file`` → ``files_read_file_1f0c2b9a``. The name depends only on
the server key and the tool's own name, never on the order or the other tools
a server lists, so permission rules written for it stay valid.
"""

from __future__ import annotations

import hashlib
import re

from core.tools.tool import TOOL_NAME

__all__ = ["MAX_NAME", "exposed_name"]

MAX_NAME = 64
_INVALID = re.compile(r"[^A-Za-z0-9_-]")
_HASH = 8


def exposed_name(server: str, tool: str) -> str:
    """The name the model sees for ``tool`` of ``server`` (whose key starts with a letter)."""
    raw = f"{server}_{tool}"
    if TOOL_NAME.match(raw):
        return raw
    digest = hashlib.sha256(raw.encode()).hexdigest()[:_HASH]
    clean = _INVALID.sub("_", raw)
    if not clean[:1].isalpha():
        clean = f"t{clean}"
    return f"{clean[: MAX_NAME - _HASH - 1]}_{digest}"
