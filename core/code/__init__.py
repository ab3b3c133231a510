"""Code actions: Python in per-session IPython kernels (ipybox), with approvals.

The toolset (``CodeToolset``) offers ``ipybox_execute_ipython_cell`` and
``ipybox_reset``; see docs/code-actions.md for kernels, the pool, working
folders, the sandbox (``core.code.sandbox``: bubblewrap, OS limits),
programmatic MCP calls (``ptcServers``) and process hygiene. Importing this
package does not import ipybox: that happens in a thread on the toolset's
first use.
"""

from core.code.errors import (
    CodeError,
    KernelLostError,
    KernelStartError,
    LimitExceededError,
    SandboxUnavailableError,
)
from core.code.toolset import CODE_TOOL_NAMES, EXECUTE_TOOL, RESET_TOOL, CodeToolset

__all__ = [
    "CODE_TOOL_NAMES",
    "EXECUTE_TOOL",
    "RESET_TOOL",
    "CodeError",
    "CodeToolset",
    "KernelLostError",
    "KernelStartError",
    "LimitExceededError",
    "SandboxUnavailableError",
]
