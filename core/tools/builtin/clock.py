"""The current date and time: a read-only tool."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.tools.tool import Tool


def current_time(timezone: str = "UTC") -> str:
    """The current date and time.

    Args:
        timezone: An IANA time zone name such as "Europe/Berlin".
    """
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return f"Unknown time zone {timezone!r}; use an IANA name such as 'Europe/Berlin'."
    return datetime.now(UTC).astimezone(zone).isoformat(timespec="seconds")


CURRENT_TIME = Tool(current_time)
