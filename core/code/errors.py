"""The errors of code actions; the message is what the model is told.

ToolError (core.errors)
└── CodeError
    ├── KernelStartError   a kernel did not start (time out, gateway failed)
    └── KernelLostError    a kernel stopped answering mid-cell (killed, crashed)
"""

from __future__ import annotations

from core.errors import ToolError

__all__ = ["CodeError", "KernelLostError", "KernelStartError"]


class CodeError(ToolError):
    """Code could not be run; the model is told why."""

    def __init__(self, message: str, *, output: str = "") -> None:
        super().__init__(message)
        self.output = output
        """What the code printed before it failed (already streamed to the person)."""


class KernelStartError(CodeError):
    """A Python kernel did not start."""


class KernelLostError(CodeError):
    """The kernel went away while running code; the next code action gets a new one."""
