"""Reading what a request brings — bodies, headers, query and path values — safely.

Everything an HTTP client (or a platform's webhook) sends is hostile until
read: bytes that are not UTF-8, JSON nested deeper than any real payload
(Python's parser would recurse until it fails), digits that are not ASCII
(``int("١٢٣")`` works, Redis does not take it), values far longer than any
real one. Each reader here turns such input into a :class:`BadInput` with a
short reason, which the gateway answers with a 4xx; none lets an exception
escape as a 500. And an error never echoes a long input back: :func:`brief`
cuts what is quoted.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["MAX_DEPTH", "MAX_SESSION_KEY", "BadInput", "brief", "load_json", "text_value"]

MAX_DEPTH = 64
"""Deepest JSON nesting read; Slack's and Telegram's payloads stay under 20."""
MAX_SESSION_KEY = 512
"""Longest session key a request may name (the keys the API creates are at most 256)."""
QUOTED = 80
"""Characters of a bad value an error quotes."""
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class BadInput(ValueError):
    """What a request sent cannot be used; the message says why (answered with a 4xx)."""


def brief(value: object, limit: int = QUOTED) -> str:
    """``value`` as text, cut to ``limit`` characters (an error quotes no more)."""
    text = value if isinstance(value, str) else repr(value)
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _depth(raw: bytes) -> int:
    """The deepest nesting of ``[``/``{`` outside strings (a linear scan, no recursion)."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return deepest


def load_json(raw: bytes, *, max_depth: int = MAX_DEPTH) -> Any:
    """The JSON document ``raw`` holds; :class:`BadInput` for bytes that are not UTF-8,
    not JSON, or nested deeper than ``max_depth``."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadInput(f"the body is not UTF-8 (byte {exc.start})") from exc
    if _depth(raw) > max_depth:
        raise BadInput(f"the JSON is nested deeper than {max_depth} levels")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadInput(f"the body is not valid JSON ({exc.msg} at {exc.pos})") from exc
    except RecursionError as exc:  # pragma: no cover - the depth check comes first
        raise BadInput("the JSON is nested too deeply") from exc


def text_value(value: str, what: str, *, max_length: int) -> str:
    """A header, query or path value as usable text: valid UTF-8 (aiohttp hands over
    other bytes as surrogates), no control characters, at most ``max_length``."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise BadInput(f"{what} is not UTF-8") from exc
    if len(value) > max_length:
        raise BadInput(f"{what} is longer than {max_length} characters")
    if _CONTROL.search(value):
        raise BadInput(f"{what} holds control characters")
    return value
