"""Split a long formatted answer into messages of at most 4,096 UTF-16 units.

Where to cut, best first: a blank line (between blocks), a line break, a
space, anywhere — within the last half of the window so no message is tiny,
and never inside a code block (``pre``) or inline code: a code block that
would straddle the cut moves whole to the next message when it fits in one.
A code block longer than a whole message is cut at a line break inside it;
each message then holds a complete, closed part of the block (the entity is
clipped into both), never an open fence. Cuts fall between code points, so a
surrogate pair (an emoji) is never split; blanks at the cut are dropped
(newlines only, inside code, where indentation matters).
"""

from __future__ import annotations

from channels.telegram.formatted import MESSAGE_LIMIT, Formatted, utf16_len, utf16_window_end

__all__ = ["split_message"]

_SEPARATORS = ("\n\n", "\n", " ")


def _inside(pos: int, spans: list[tuple[int, int]]) -> bool:
    return any(begin < pos < end for begin, end in spans)


def _last(text: str, low: int, high: int, code: list[tuple[int, int]], *, in_code: bool) -> int:
    """The last separator in ``[low, high)`` (the best kind first), or -1."""
    for sep in _SEPARATORS:
        pos = high
        while (found := text.rfind(sep, low, pos)) >= low:
            if in_code or not _inside(found, code):
                return found
            pos = found
    return -1


def _cut(text: str, start: int, end: int, code: list[tuple[int, int]], limit: int) -> int:
    """Where to end the message that starts at ``start`` and may reach ``end``."""
    floor = start + max(1, (end - start) // 2)
    found = _last(text, floor, end, code, in_code=False)
    if found > start:
        return found
    # a code block covers the second half of the window: if it fits in a message of
    # its own, end this one before it; otherwise it has to be cut, at a line break
    block = next(((b, e) for b, e in code if b < end < e or b < floor < e), None)
    if block is not None and block[0] > start and utf16_len(text[block[0] : block[1]]) <= limit:
        found = _last(text, start + 1, block[0] + 1, code, in_code=False)
        return found if found > start else block[0]
    found = _last(text, floor, end, code, in_code=True)
    return found if found > start else end


def _skip_blanks(text: str, pos: int, code: list[tuple[int, int]]) -> int:
    while pos < len(text) and text[pos] in " \n":
        if text[pos] == " " and _inside(pos, code):
            break
        pos += 1
    return pos


def split_message(formatted: Formatted, limit: int = MESSAGE_LIMIT) -> list[Formatted]:
    """``formatted`` as one or more messages, each at most ``limit`` UTF-16 units."""
    text = formatted.text
    if utf16_len(text) <= limit:
        return [formatted] if text else []
    code = [(e.offset, e.end) for e in formatted.entities if e.type in ("pre", "code")]
    parts: list[Formatted] = []
    start = _skip_blanks(text, 0, code)
    while start < len(text):
        end = utf16_window_end(text, start, limit)
        cut = len(text) if end >= len(text) else _cut(text, start, end, code, limit)
        part = formatted.slice(start, cut)
        trimmed = len(part.text.rstrip())
        if trimmed:
            parts.append(part.slice(0, trimmed))
        start = _skip_blanks(text, cut, code)
    return parts
