"""Redis replies as text: the shared client returns bytes (arq needs
``decode_responses=False``), while code that made its own text client gets
str; both come through here."""

from __future__ import annotations


def text(value: bytes | str) -> str:
    """A Redis reply as str (UTF-8)."""
    return value.decode("utf-8") if isinstance(value, bytes) else value
