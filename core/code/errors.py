"""The errors of code actions; the message is what the model is told.

ToolError (core.errors)
└── CodeError
    ├── SandboxUnavailableError  code.sandbox is "bwrap" and bubblewrap does not work here
    ├── KernelStartError         a kernel did not start (time out, gateway failed)
    └── KernelLostError          a kernel stopped answering mid-cell (killed, crashed)
        └── LimitExceededError   the code reached one of code.limits (the kernel is replaced)
"""

from __future__ import annotations

from core.errors import ToolError

__all__ = [
    "CodeError",
    "KernelLostError",
    "KernelStartError",
    "LimitExceededError",
    "SandboxUnavailableError",
]


class CodeError(ToolError):
    """Code could not be run; the model is told why."""

    def __init__(self, message: str, *, output: str = "") -> None:
        super().__init__(message)
        self.output = output
        """What the code printed before it failed (already streamed to the person)."""


class SandboxUnavailableError(CodeError):
    """A sandbox is required (``code.sandbox: "bwrap"``) and cannot be made here."""


class KernelStartError(CodeError):
    """A Python kernel did not start."""


class KernelLostError(CodeError):
    """The kernel went away while running code; the next code action gets a new one."""


class LimitExceededError(KernelLostError):
    """The code reached a limit of its sandbox; its kernel is stopped and replaced."""

    def __init__(self, message: str, *, limit: str, output: str = "") -> None:
        super().__init__(message, output=output)
        self.limit = limit
        """The limit's name in ``code.limits`` (``"memoryMb"``, …)."""
