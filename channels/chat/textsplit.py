"""Split Markdown-like text into messages of at most ``limit`` characters, code blocks whole.

For platforms whose messages are text with Markdown-style markup (Discord's
Markdown, Slack's mrkdwn) rather than entities. Where to cut, best first: a
blank line (between blocks), a line break, a space — within the last half of
the window so no message is tiny — and anywhere as a last resort. A fenced
code block (```` ``` ````) that would straddle a cut moves whole to the next
message when it fits in one; a longer one is cut at a line break inside it,
closed with a fence at the end of the message and opened again (with its
language) at the start of the next, so every message renders as code, never
as an open fence. Blanks at a cut are dropped (newlines only, inside code,
where indentation matters).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["FENCE", "split_text"]

FENCE = "```"
_FENCE_LINE = re.compile(r"^ {0,3}```")
_SEPARATORS = ("\n\n", "\n", " ")
_CLOSE = "\n" + FENCE
MIN_LIMIT = 100
"""Shorter limits could not make progress through a block (a fence line is reopened)."""
_LANGUAGE = 30
"""Characters of a fence's info string kept when a block is opened again."""


@dataclass(frozen=True, slots=True)
class _Block:
    start: int
    """Where its opening fence line begins."""
    end: int
    """Just after its closing fence (or the end of the text, when it is never closed)."""
    opening: str
    """The opening fence line (```` ```python ````), to open it again."""


def _blocks(text: str) -> list[_Block]:
    """The fenced code blocks of ``text``."""
    blocks: list[_Block] = []
    start: int | None = None
    opening = ""
    position = 0
    for line in text.splitlines(keepends=True):
        if _FENCE_LINE.match(line):
            if start is None:
                info = line.strip()[len(FENCE) :].split()
                start, opening = position, FENCE + (info[0][:_LANGUAGE] if info else "")
            else:
                blocks.append(_Block(start, position + len(line.rstrip("\n")), opening))
                start = None
        position += len(line)
    if start is not None:
        blocks.append(_Block(start, len(text), opening))
    return blocks


def _inside(pos: int, blocks: list[_Block]) -> _Block | None:
    return next((b for b in blocks if b.start < pos < b.end), None)


def _last(text: str, low: int, high: int, blocks: list[_Block], *, in_code: bool) -> int:
    """The last separator in ``[low, high)`` (the best kind first), or -1."""
    for sep in _SEPARATORS:
        pos = high
        while (found := text.rfind(sep, low, pos)) >= low:
            if in_code or _inside(found, blocks) is None:
                return found
            pos = found
    return -1


def _cut(text: str, end: int, limit: int, blocks: list[_Block]) -> int:
    """Where the message that starts at 0 and may reach ``end`` ends."""
    floor = max(1, end // 2)
    found = _last(text, floor, end, blocks, in_code=False)
    if found > 0:
        return found
    # a code block covers the second half of the window: end before it when it fits
    # in a message of its own; else it has to be cut, at a line break inside it
    block = next((b for b in blocks if b.start < end < b.end or b.start < floor < b.end), None)
    if block is not None and block.start > 0 and block.end - block.start <= limit:
        found = _last(text, 1, block.start + 1, blocks, in_code=False)
        return found if found > 0 else block.start
    found = _last(text, floor, end, blocks, in_code=True)
    return found if found > 0 else end


def _window(text: str, limit: int, measure: Callable[[str], int]) -> int:
    """The largest ``end`` with ``measure(text[:end]) <= limit``."""
    end = min(len(text), limit)
    while end > 0 and measure(text[:end]) > limit:
        end -= max(1, (measure(text[:end]) - limit) // 2)
    return end


def split_text(text: str, limit: int, measure: Callable[[str], int] = len) -> list[str]:
    """``text`` as one or more messages, each at most ``limit`` (as ``measure`` counts)."""
    if limit < MIN_LIMIT:
        raise ValueError(f"a message limit below {MIN_LIMIT} cannot hold a code block")
    text = text.strip("\n")
    parts: list[str] = []
    while measure(text) > limit:
        blocks = _blocks(text)
        cut = _cut(text, _window(text, limit, measure), limit, blocks)
        block = _inside(cut, blocks)
        if block is not None:  # a message cut inside a block needs room for its closing fence
            room = limit - measure(_CLOSE)
            cut = _cut(text, _window(text, room, measure), room, blocks)
            block = _inside(cut, blocks)
        if block is None:
            head, text = text[:cut].rstrip(), text[cut:].lstrip(" \n")
        else:
            head = text[:cut].rstrip("\n") + _CLOSE
            text = block.opening + "\n" + text[cut:].lstrip("\n")
        if head.strip():
            parts.append(head)
    if text.strip():
        parts.append(text)
    return parts
