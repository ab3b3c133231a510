"""`code`: the Python kernels behind the code-action tool (`ipybox_execute_ipython_cell`).

How kernels are kept, started and stopped, and what the sandbox lets them
see, is docs/code-actions.md; the seconds a cell may run are
`agent.executionTimeout` (approval waits excluded).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from core.config.models_base import ConfigModel, PositiveSeconds, Seconds

SandboxMode = Literal["auto", "bwrap", "off"]
NetworkMode = Literal["on", "off"]


class CodeLimits(ConfigModel):
    """What a sandboxed kernel may use, enforced by the OS (resource limits).

    A breach ends the cell as a tool error that names the limit; the kernel is
    then restarted clean (its variables are lost). Only sandboxed kernels have
    limits: with `code.sandbox` off there are none.
    """

    memory_mb: int = Field(default=2048, ge=256)
    """MiB of memory each process of the kernel may allocate (`RLIMIT_DATA`: the kernel
    and every process it starts, each on its own; an idle kernel takes about 130 of
    its own, thread stacks included); the private `/tmp` and `/dev/shm` hold at most
    this much each too."""

    cpu_seconds: int = Field(default=3600, ge=1)
    """CPU seconds each process may use (`RLIMIT_CPU`): the kernel from its first cell
    for as long as it lives (it outlives a turn: a session's kernel stops when idle for
    `code.idleTimeout`), every process the code starts from its own start."""

    processes: int = Field(default=256, ge=32)
    """Processes and threads the kernel and everything it starts may have at once
    (`RLIMIT_NPROC`, counted per sandbox; an idle kernel has about 15): a fork bomb
    stops there."""

    file_size_mb: int = Field(default=1024, ge=1)
    """Largest file, in MiB, the code may write (`RLIMIT_FSIZE`)."""


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
    environment (only `PATH`), so API keys are not in its `os.environ`."""

    sandbox: SandboxMode = "auto"
    """Where kernels run: `"bwrap"` in a bubblewrap sandbox (its own session folder
    read-write, the Python environment read-only, nothing else of the machine's files
    or processes; code actions refuse to start without it), `"auto"` the same where
    bubblewrap works on this machine and else without a sandbox (with a warning at
    start and in `facio doctor`), `"off"` as facio's OS user, seeing what it sees."""

    network: NetworkMode = "on"
    """Whether sandboxed code may reach the network; `"off"` leaves it a loopback of its
    own (its link to facio for MCP calls and approvals still works). Without a sandbox
    the code always has the network."""

    limits: CodeLimits = Field(default_factory=CodeLimits)
    """Memory, CPU time, processes and file size of each sandboxed kernel."""
