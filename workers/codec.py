"""Redis replies as text: the shared client returns bytes (arq needs
``decode_responses=False``), while code that made its own text client gets
str; both come through here."""

from __future__ import annotations

import json
import logging
from typing import Any

logger = logging.getLogger(__name__)


def text(value: bytes | str) -> str:
    """A Redis reply as str (UTF-8)."""
    return value.decode("utf-8") if isinstance(value, bytes) else value


def read_event(entry_id: str, fields: dict[bytes | str, bytes | str]) -> dict[str, Any] | None:
    """The event of a facio stream entry (its ``data`` field); None, with a warning,
    for an entry whose data is not a JSON object."""
    raw = fields.get(b"data", fields.get("data"))
    try:
        event = json.loads(raw) if raw is not None else None
    except (UnicodeDecodeError, json.JSONDecodeError):
        event = None
    if not isinstance(event, dict):
        logger.warning("skipping event %s: its data is not a JSON object", entry_id)
        return None
    return event
