"""``${VAR}`` references in config values, resolved from the environment.

Syntax, in any string value (never in keys):

- ``${VAR}``: the variable's value; unset is an error naming the key path.
- ``${VAR:-default}``: the default when the variable is unset *or empty*
  (as in the shell); the default is taken literally, up to the first ``}``.
- ``$${``: a literal ``${`` (``"$${HOME}"`` → ``"${HOME}"``). A ``$`` not
  followed by ``{`` needs no escaping.

Values stay strings: ``"port": "${PORT:-8765}"`` becomes ``"8765"`` and the
models turn it into a number, so type errors are reported like any other.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from core.config.problems import ConfigProblem, ConfigValidationError, dotted

__all__ = ["resolve_env"]

_REF = re.compile(r"\$\$\{|\$\{(?P<body>[^}]*)(?P<close>\}?)")
_BODY = re.compile(r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>.*))?", re.DOTALL)


def resolve_env(data: Any, env: Mapping[str, str], *, source: str = "") -> Any:
    """A copy of parsed JSON ``data`` with every reference in its strings resolved.

    Raises:
        ConfigValidationError: listing every unset variable and malformed reference.
    """
    problems: list[ConfigProblem] = []
    resolved = _resolve(data, env, [], problems)
    if problems:
        raise ConfigValidationError(problems, source=source)
    return resolved


def _resolve(
    value: Any, env: Mapping[str, str], loc: list[str | int], problems: list[ConfigProblem]
) -> Any:
    if isinstance(value, str):
        return _substitute(value, env, dotted(loc), problems)
    if isinstance(value, dict):
        return {key: _resolve(item, env, [*loc, key], problems) for key, item in value.items()}
    if isinstance(value, list):
        return [_resolve(item, env, [*loc, i], problems) for i, item in enumerate(value)]
    return value


def _substitute(text: str, env: Mapping[str, str], path: str, problems: list[ConfigProblem]) -> str:
    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$${":
            return "${"
        if not match.group("close"):
            problems.append(
                ConfigProblem(path, "unterminated '${' (write '$${' for a literal '${')")
            )
            return match.group(0)
        body = _BODY.fullmatch(match.group("body"))
        if body is None:
            problems.append(
                ConfigProblem(
                    path,
                    f"invalid reference {match.group(0)!r}: expected ${{VAR}} or ${{VAR:-default}}",
                )
            )
            return match.group(0)
        name, default = body.group("name"), body.group("default")
        if default is not None:
            return env.get(name) or default
        if name not in env:
            problems.append(
                ConfigProblem(
                    path,
                    f"environment variable {name} is not set "
                    f"(set it, or give a default: ${{{name}:-default}})",
                )
            )
            return ""
        return env[name]

    return _REF.sub(replace, text)
