"""Find, read and validate config.json.

Each step fails with a ``ConfigError`` that says which file and, inside it,
which key: the file lookup lists what it tried, invalid JSON gives line and
column, ``${VAR}`` and schema problems are listed all at once by key path.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from core.config import jsonc
from core.config.env import resolve_env
from core.config.messages import problems_from
from core.config.models import FacioConfig
from core.config.problems import ConfigValidationError
from core.errors import ConfigError

__all__ = ["CONFIG_ENV", "CONFIG_NAME", "find_config", "load_config", "parse_config"]

CONFIG_ENV = "FACIO_CONFIG"
"""Environment variable naming the config file when ``--config`` is not given."""

CONFIG_NAME = "config.json"


def find_config(
    explicit: str | Path | None = None,
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    home: Path | None = None,
) -> Path:
    """The config file to use, as an absolute path.

    Lookup order: ``explicit`` (``--config``), ``$FACIO_CONFIG``,
    ``./config.json``, ``~/.facio/config.json``. A path given explicitly (by
    argument or variable) must exist; a folder stands for its config.json.
    """
    env = os.environ if env is None else env
    cwd = Path.cwd() if cwd is None else cwd
    home = Path.home() if home is None else home
    if explicit is not None and str(explicit):
        return _named(cwd / Path(explicit).expanduser(), "--config")
    if env.get(CONFIG_ENV):
        return _named(cwd / Path(env[CONFIG_ENV]).expanduser(), f"${CONFIG_ENV}")
    candidates = [cwd / CONFIG_NAME, home / ".facio" / CONFIG_NAME]
    for candidate in candidates:
        if candidate.is_file():
            return candidate.absolute()
    tried = ", ".join(str(candidate) for candidate in candidates)
    raise ConfigError(
        f"no config file found; tried --config (not given), ${CONFIG_ENV} (not set), {tried}. "
        "Run `facio init` to create one, or pass --config PATH."
    )


def _named(path: Path, how: str) -> Path:
    if path.is_dir():
        path = path / CONFIG_NAME
    if not path.is_file():
        raise ConfigError(f"config file {path} (from {how}) does not exist")
    return path.absolute()


def load_config(
    path: str | Path | None = None,
    *,
    env: Mapping[str, str] | None = None,
    workspace: str | Path | None = None,
) -> FacioConfig:
    """Find, read, parse and validate the config.

    ``env`` (default ``os.environ``) supplies ``${VAR}`` values and
    ``$FACIO_CONFIG``. The result's ``workspace`` is absolute: a relative one
    is taken from the config file's folder, unless ``workspace`` overrides it
    (relative to the current directory, like any command-line path).
    """
    env = os.environ if env is None else env
    file = find_config(path, env=env)
    data = read_jsonc(file)
    return parse_config(data, base_dir=file.parent, env=env, workspace=workspace, source=file)


def read_jsonc(file: Path) -> dict[str, Any]:
    """The JSON object in ``file``, comments allowed."""
    source = str(file)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError("config file does not exist", source=source) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"config file is not UTF-8 text ({exc.reason})", source=source) from exc
    except OSError as exc:
        raise ConfigError(f"cannot read config file: {exc.strerror or exc}", source=source) from exc
    try:
        data = jsonc.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}", source=source
        ) from exc
    if not isinstance(data, dict):
        raise ConfigError(
            f"expected a JSON object at the top level, got {type(data).__name__}", source=source
        )
    return data


def parse_config(
    data: Mapping[str, Any],
    *,
    base_dir: Path,
    env: Mapping[str, str] | None = None,
    workspace: str | Path | None = None,
    source: str | Path | None = None,
) -> FacioConfig:
    """Validate already-parsed config ``data`` (tests and the SDK use it without a file).

    ``base_dir`` anchors a relative ``workspace``; ``source`` names the file in
    errors and becomes ``config_path``.
    """
    env = os.environ if env is None else env
    where = str(source) if source is not None else ""
    resolved = resolve_env(dict(data), env, source=where)
    try:
        config = FacioConfig.model_validate(resolved)
    except ValidationError as exc:
        raise ConfigValidationError(problems_from(exc, FacioConfig), source=where) from exc
    if workspace is not None:
        chosen = Path(workspace).expanduser().absolute()
    else:
        chosen = (base_dir / config.workspace.expanduser()).absolute()
    return config.with_location(
        Path(os.path.normpath(chosen)), Path(source).absolute() if source is not None else None
    )
