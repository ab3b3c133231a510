"""`code`: the Python kernels behind the code-action tool (`ipybox_execute_ipython_cell`).

How kernels are kept, started and stopped is docs/code-actions.md; the
seconds a cell may run are `agent.executionTimeout` (approval waits excluded).
"""

from __future__ import annotations

from pydantic import Field

from core.config.models_base import ConfigModel, PositiveSeconds, Seconds


class CodeConfig(ConfigModel):
    """Code actions: one IPython kernel per session, started ahead of need."""

    pool_size: int = Field(default=1, ge=0, le=16)
    """Kernels started ahead of need, so that a session's first code action does not
    wait seconds for one (each costs ~100 MB while it waits); 0 starts them on demand."""

    max_kernels: int = Field(default=16, ge=1)
    """Most kernels one process keeps (waiting ones included); past it, the least
    recently used idle session kernel is stopped to make room."""

    idle_timeout: Seconds = 900
    """Seconds a session's kernel may sit unused before it is stopped (its variables
    are lost; the next code action starts a new kernel and says so); 0 never stops it."""

    kernel_init_timeout: PositiveSeconds = 60
    """Seconds to wait for a kernel to start (about 3 s on an idle machine, 10 s and
    more when several start at once on a small one)."""

    max_output_chars: int = Field(default=20_000, ge=200)
    """Characters of one code action's output that the model sees and that stream to
    the chat; the rest is cut from the middle, and the result says so."""

    env: dict[str, str] = Field(default_factory=dict, repr=False)
    """Environment variables of the kernel. It inherits nothing else from facio's
    environment (only `PATH`), so API keys are not in its `os.environ`; the code
    runs as facio's OS user, though, and can read what that user can."""
