"""JSON with comments (and trailing commas), as editors call "jsonc".

The starter config explains itself in comments, so config.json may hold
``// line`` and ``/* block */`` comments outside strings. Trailing commas
before ``}`` or ``]`` are accepted too: hand-edited files grow them when a
line is deleted, and VS Code's jsonc mode allows them.

Comments and trailing commas are replaced by spaces, newlines are kept, so
``json.JSONDecodeError`` line and column numbers point into the original
text. Nothing else is relaxed: keys need quotes, strings need double quotes.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["loads", "strip"]


def strip(text: str) -> str:
    """``text`` with comments and trailing commas blanked out, same length and lines."""
    out = list(text)
    i, n = 0, len(text)
    last_comma = -1  # index of a comma that may turn out to be trailing
    while i < n:
        char = text[i]
        if char == '"':
            i = _skip_string(text, i)
            last_comma = -1
            continue
        if text.startswith("//", i):
            end = text.find("\n", i)
            end = n if end == -1 else end
            _blank(out, i, end)
            i = end
            continue
        if text.startswith("/*", i):
            end = text.find("*/", i + 2)
            if end == -1:
                break  # unterminated: left in place, so json reports its position
            _blank(out, i, end + 2)
            i = end + 2
            continue
        if char in "}]" and last_comma >= 0:
            out[last_comma] = " "
        if not char.isspace():
            last_comma = i if char == "," else -1
        i += 1
    return "".join(out)


def loads(text: str) -> Any:
    """Parse JSONC; raises ``json.JSONDecodeError`` at the original line and column."""
    return json.loads(strip(text))


def _skip_string(text: str, start: int) -> int:
    """Index just past the string starting at ``start`` (or the end, if unterminated)."""
    i = start + 1
    while i < len(text):
        if text[i] == "\\":
            i += 2
        elif text[i] == '"':
            return i + 1
        elif text[i] == "\n":
            return i  # json rejects the raw newline; stop so comments after it still strip
        else:
            i += 1
    return len(text)


def _blank(out: list[str], start: int, end: int) -> None:
    for j in range(start, end):
        if out[j] not in "\r\n":
            out[j] = " "
