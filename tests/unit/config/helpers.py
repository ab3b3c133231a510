"""Shared helpers of the config tests."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from core.config import ConfigValidationError, FacioConfig, parse_config


def parse(data: Mapping[str, Any], env: Mapping[str, str] | None = None) -> FacioConfig:
    """Validate ``data`` with an empty (or given) environment, no file involved."""
    return parse_config(data, base_dir=Path("/srv/facio"), env=env or {})


def problems(data: Mapping[str, Any], env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The problems ``data`` has, as ``{key path: message}``."""
    with pytest.raises(ConfigValidationError) as caught:
        parse(data, env)
    return {problem.path: problem.message for problem in caught.value.problems}
