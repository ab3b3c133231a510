"""Log lines of the chat layer, prefixed with the platform they are about (``telegram: …``)."""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from typing import Any

__all__ = ["platform_log"]


class _Prefixed(logging.LoggerAdapter[logging.Logger]):
    def process(
        self, msg: Any, kwargs: MutableMapping[str, Any]
    ) -> tuple[Any, MutableMapping[str, Any]]:
        return f"{self.extra['platform'] if self.extra else '?'}: {msg}", kwargs


def platform_log(logger: logging.Logger, platform: str) -> logging.LoggerAdapter[logging.Logger]:
    """``logger``, with every message starting ``<platform>: ``."""
    return _Prefixed(logger, {"platform": platform})
