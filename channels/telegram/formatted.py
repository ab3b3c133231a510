"""Formatted text for Telegram: plain text plus entities (no HTML, no parse mode).

Telegram formats a message either by parsing markup (HTML, MarkdownV2) or by
*entities*: the plain text plus a list of ``(type, offset, length)`` spans.
facio sends entities. Nothing in the model's text can break them (no
escaping to get wrong), the plain-text fallback is the same text without
the list, and splitting a long answer is slicing the text and clipping the
spans — Telegram's 4,096 limit counts the text after entity parsing, which
is exactly :attr:`Formatted.text`.

Offsets here are Python string indices (code points), so a cut can never
fall inside a surrogate pair; :meth:`Formatted.api_entities` converts them to
the UTF-16 code units the Bot API counts in.
"""

from __future__ import annotations

import bisect
import hashlib
from dataclasses import dataclass, field, replace

from aiogram.types import MessageEntity

__all__ = ["MESSAGE_LIMIT", "Entity", "Formatted", "TextBuilder", "utf16_len"]

MESSAGE_LIMIT = 4096
"""Longest message text, in UTF-16 code units after entity parsing."""


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units (characters outside the BMP count twice)."""
    return len(text.encode("utf-16-le")) // 2


def utf16_window_end(text: str, start: int, limit: int) -> int:
    """The largest ``end`` with ``text[start:end]`` at most ``limit`` UTF-16 units."""
    end = min(len(text), start + max(limit, 0))  # at most one code point per unit
    while utf16_len(text[start:end]) > limit:
        over = utf16_len(text[start:end]) - limit
        end -= max(1, over // 2)
    return end


@dataclass(frozen=True, slots=True)
class Entity:
    """One formatting span, in code points of the text it belongs to."""

    type: str
    """A Bot API entity type: bold, italic, strikethrough, code, pre, text_link, blockquote."""
    offset: int
    length: int
    url: str | None = None
    language: str | None = None

    @property
    def end(self) -> int:
        return self.offset + self.length

    def clip(self, start: int, stop: int) -> Entity | None:
        """This span limited to ``[start, stop)`` and shifted to start there; None if empty."""
        begin, finish = max(self.offset, start), min(self.end, stop)
        if finish <= begin:
            return None
        return replace(self, offset=begin - start, length=finish - begin)


@dataclass(frozen=True, slots=True)
class Formatted:
    """Text and its entities, ready to send (entities sorted by offset)."""

    text: str
    entities: tuple[Entity, ...] = ()

    def slice(self, start: int, stop: int) -> Formatted:
        """The part ``[start, stop)`` with the spans that overlap it, clipped."""
        clipped = (e.clip(start, stop) for e in self.entities)
        return Formatted(self.text[start:stop], tuple(e for e in clipped if e is not None))

    def plain(self) -> Formatted:
        """The same text without formatting (the fallback when Telegram rejects entities)."""
        return Formatted(self.text)

    def __add__(self, other: Formatted) -> Formatted:
        shift = len(self.text)
        moved = tuple(replace(e, offset=e.offset + shift) for e in other.entities)
        return Formatted(self.text + other.text, self.entities + moved)

    def api_entities(self) -> list[MessageEntity] | None:
        """The entities as the Bot API wants them: offsets and lengths in UTF-16 units."""
        if not self.entities:
            return None
        astral = [i for i, ch in enumerate(self.text) if ord(ch) > 0xFFFF]

        def units(index: int) -> int:
            return index + bisect.bisect_left(astral, index)

        return [
            MessageEntity(
                type=e.type,
                offset=units(e.offset),
                length=units(e.end) - units(e.offset),
                url=e.url,
                language=e.language,
            )
            for e in self.entities
        ]

    def key(self) -> str:
        """A short fingerprint: equal keys mean an edit would change nothing."""
        digest = hashlib.blake2b(digest_size=8)
        digest.update(self.text.encode())
        for e in self.entities:
            digest.update(f"|{e.type},{e.offset},{e.length},{e.url},{e.language}".encode())
        return digest.hexdigest()


@dataclass
class TextBuilder:
    """Appends text and opens/closes spans; :meth:`build` trims the outer whitespace."""

    parts: list[str] = field(default_factory=list)
    entities: list[Entity] = field(default_factory=list)
    length: int = 0

    def add(self, text: str) -> None:
        self.parts.append(text)
        self.length += len(text)

    def span(
        self, kind: str, start: int, *, url: str | None = None, lang: str | None = None
    ) -> None:
        """Mark ``[start, now)`` as ``kind`` (nothing when empty or only whitespace)."""
        text = "".join(self.parts)[start:] if self.length > start else ""
        if text.strip():
            self.entities.append(Entity(kind, start, self.length - start, url, lang))

    def ends_with(self, suffix: str) -> bool:
        tail = "".join(self.parts[-3:])
        return tail.endswith(suffix)

    def build(self) -> Formatted:
        text = "".join(self.parts)
        stripped = text.rstrip()
        lead = len(stripped) - len(stripped.lstrip())
        whole = Formatted(stripped, tuple(self.entities)).slice(lead, len(stripped))
        ordered = sorted(whole.entities, key=lambda e: (e.offset, -e.length))
        return Formatted(whole.text, tuple(ordered))
