"""What ``facio doctor``'s checks report: one line each, and the exit code."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Check", "print_checks"]


@dataclass(frozen=True)
class Check:
    """One line of the report: ``ok``, ``warn`` (``ok`` and ``warn``) or ``FAIL``."""

    name: str
    ok: bool
    detail: str
    warn: bool = False


def print_checks(checks: Sequence[Check]) -> int:
    """Print ``ok|warn|FAIL  name: detail`` per check; 1 when any failed (a warning is none)."""
    for check in checks:
        mark = "FAIL" if not check.ok else "warn" if check.warn else "ok  "
        print(f"{mark}  {check.name}: {check.detail}")
    return 0 if all(c.ok for c in checks) else 1
