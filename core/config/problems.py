"""One error for a config with several problems, each at its key path.

A person fixing config.json wants every problem at once, not one per run;
``ConfigValidationError`` is a ``ConfigError`` whose message lists them all
and whose ``problems`` keep them apart for tools such as ``facio doctor``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from core.errors import ConfigError


@dataclass(frozen=True)
class ConfigProblem:
    """One problem: the dotted camelCase key path ("" for the whole file) and what is wrong."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class ConfigValidationError(ConfigError):
    """The config has one or more problems; ``path`` is set when there is exactly one."""

    def __init__(self, problems: Sequence[ConfigProblem], *, source: str = "") -> None:
        if not problems:
            raise ValueError("ConfigValidationError needs at least one problem")
        self.problems = tuple(problems)
        if len(self.problems) == 1:
            only = self.problems[0]
            super().__init__(only.message, path=only.path, source=source)
        else:
            lines = "\n".join(f"  {problem}" for problem in self.problems)
            super().__init__(f"{len(self.problems)} problems:\n{lines}", source=source)


def dotted(loc: Sequence[str | int]) -> str:
    """``("cron", 0, "name")`` → ``"cron.0.name"``."""
    return ".".join(str(part) for part in loc)
