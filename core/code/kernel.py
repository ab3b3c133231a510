"""One IPython kernel: started, bound to a session's folder, probed, stopped.

A kernel is started before anyone needs it (the pool), so it starts in the
workspace and is *bound* to a session on first use: its working directory
becomes the session's folder (and is put back there after every cell, as
ipybox does), images are saved in the folder's ``images/``. A sandboxed
kernel gets that folder, and no other, at binding (``Sandbox.bind``).

Its boot installs ``facio_kernel`` (``core/code/kernel_link.py``), the link
to the host's tool server, and in a sandbox the limit reports; how a
sandboxed kernel failed is told by :meth:`Kernel.lost` and
:meth:`Kernel.breach`.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Mapping
from importlib import resources
from pathlib import Path

from core.code.client import KernelDiedError, LimitReached
from core.code.errors import KernelLostError, LimitExceededError
from core.code.executor import KernelExecutor
from core.code.procs import ProcessRegistry
from core.code.ptc import PtcServer
from core.code.sandbox import Limit, SandboxPolicy, breach_text, exit_limit, exit_text

__all__ = ["Kernel"]

logger = logging.getLogger(__name__)

STOP_TIMEOUT = 15.0

# 1. The link to the host (core/code/kernel_link.py) becomes the module facio_kernel.
LINK_CODE = """\
def _facio_link(source):
    import sys, types
    module = types.ModuleType("facio_kernel")
    exec(compile(source, "<facio_kernel>", "exec"), module.__dict__)
    sys.modules["facio_kernel"] = module
_facio_link({source!r})
del _facio_link
"""

# 2. ipybox's shell-approval hook imports ApprovalRequestor from the mcpygen
# package, whose __init__ also loads its code generator: ~2 s and ~95 MB in
# the kernel, on the first `!cmd`. The package is registered without running
# its __init__, and that name is facio_kernel's (the tool server is on a unix
# socket, which mcpygen's clients cannot reach); any other name loads the whole
# package, as a plain import would, with facio_kernel's two clients in it.
# 3. ipybox wraps %%bash and %%sh for approval before IPython has loaded them:
# the wrapper then calls IPython's lazy placeholder, which finds the wrapper
# again, and every %%bash cell recurses until RecursionError (asking for approval
# each time). The real magics are loaded and put under the wrappers.
BOOT_CODE = """\
def _facio_light_mcpygen():
    import importlib.util, sys
    if "mcpygen" in sys.modules:
        return
    spec = importlib.util.find_spec("mcpygen")
    if spec is None or spec.loader is None:
        return
    package = importlib.util.module_from_spec(spec)
    loaded = []

    def __getattr__(name):
        if name == "ApprovalRequestor" and not loaded:
            return sys.modules["facio_kernel"].ApprovalRequestor
        if name.startswith("__") or loaded:
            raise AttributeError(name)
        loaded.append(True)
        spec.loader.exec_module(package)
        link = sys.modules["facio_kernel"]  # its clients are the ones that reach facio
        package.ApprovalRequestor, package.ToolRunner = link.ApprovalRequestor, link.ToolRunner
        return getattr(package, name)

    package.__getattr__ = __getattr__
    sys.modules["mcpygen"] = package
_facio_light_mcpygen()
del _facio_light_mcpygen


def _facio_fix_shell_magics():
    manager = get_ipython().magics_manager
    cells = manager.magics["cell"]
    wrapped = {}
    for name in ("bash", "sh"):
        wrapper = cells.get(name)
        if getattr(wrapper, "__name__", "") == "_ipybox_magic_wrapper" and wrapper.__defaults__:
            wrapped[name] = wrapper
            cells[name] = wrapper.__defaults__[0]
    if hasattr(manager, "load_lazy"):
        for name in wrapped:
            manager.load_lazy(name, "cell")
    for name, wrapper in wrapped.items():
        wrapper.__defaults__ = (cells[name],)
        cells[name] = wrapper
_facio_fix_shell_magics()
del _facio_fix_shell_magics
"""

# 4. In a sandbox: a MemoryError or a write past the file-size limit is reported.
LIMITS_CODE = """\
import facio_kernel
facio_kernel.install_limit_reports(get_ipython())
del facio_kernel
"""


# In a sandbox, at binding: the kernel's CPU time is limited from here on (its start
# is not counted). The kernel sets it itself (an OS user may lower its own limits;
# setting another process's needs CAP_SYS_RESOURCE, which not every root has); once
# the hard limit is down, the code cannot raise it. SIGKILL follows a second after
# SIGXCPU, should the code ignore that.
CPU_CODE = """\
def _facio_limit_cpu(seconds):
    import math, os, resource
    times = os.times()
    soft = math.ceil(times.user + times.system) + seconds
    resource.setrlimit(resource.RLIMIT_CPU, (soft, soft + 1))
_facio_limit_cpu({seconds})
del _facio_limit_cpu
"""


def boot_code(sandboxed: bool) -> str:
    """What a new kernel runs before anything else."""
    link = resources.files("core.code").joinpath("kernel_link.py").read_text("utf-8")
    code = LINK_CODE.format(source=link) + BOOT_CODE
    return code + LIMITS_CODE if sandboxed else code


BIND_CODE = """\
def _facio_bind(cwd):
    import os
    os.makedirs(cwd, exist_ok=True)
    os.chdir(cwd)

    def _facio_restore_cwd(result=None):
        try:
            current = os.getcwd()
        except FileNotFoundError:
            current = None
        if current != cwd:
            os.makedirs(cwd, exist_ok=True)
            os.chdir(cwd)
            print("[facio] working directory reset to this conversation's folder")

    get_ipython().events.register("post_run_cell", _facio_restore_cwd)
_facio_bind({cwd!r})
del _facio_bind
"""


class Kernel:
    """A running kernel (gateway + IPython kernel) and the session it serves, if any."""

    def __init__(self, executor: KernelExecutor) -> None:
        self.executor = executor
        self.id = uuid.uuid4().hex
        """Names this kernel process (the "another kernel" notes compare it)."""
        self.lock = asyncio.Lock()
        """Held while a cell runs: the pool never stops a kernel in use."""
        self.last_used = time.monotonic()
        self.cwd: Path | None = None
        self.broken = False
        self._stopped = False

    @classmethod
    async def start(
        cls,
        *,
        registry: ProcessRegistry,
        servers: Mapping[str, PtcServer],
        workspace: Path,
        env: Mapping[str, str],
        init_timeout: float,
        sandbox: SandboxPolicy | None = None,
    ) -> Kernel:
        """Start a kernel; TimeoutError when it is not ready within ``init_timeout``."""
        executor = KernelExecutor(
            registry=registry,
            servers=servers,
            cwd=workspace,
            kernel_env=dict(env),
            kernel_init_timeout=init_timeout,
            sandbox=sandbox,
        )
        started = time.monotonic()
        async with asyncio.timeout(init_timeout):
            await executor.start()
        kernel = cls(executor)
        try:
            await kernel._boot(max(1.0, init_timeout - (time.monotonic() - started)))
        except BaseException:
            await kernel.stop()
            raise
        logger.info("kernel %s started in %.1f s", kernel.id[:8], time.monotonic() - started)
        return kernel

    async def _boot(self, timeout: float) -> None:
        code = boot_code(self.executor.sandbox is not None)
        await self.executor.execute(code, timeout=timeout)
        self.executor.track()

    @property
    def sandboxed(self) -> bool:
        return self.executor.sandbox is not None

    async def bind(self, cwd: Path, images: Path) -> None:
        """Serve the session whose folder is ``cwd`` (its working directory from now on)."""
        cwd.mkdir(parents=True, exist_ok=True)
        code = BIND_CODE.format(cwd=str(cwd))
        if self.executor.sandbox is not None and self.executor.policy is not None:
            await self.executor.sandbox.bind(cwd)
            code += CPU_CODE.format(seconds=self.executor.policy.limits.cpu_seconds)
        await self.executor.execute(code, timeout=30)
        self.executor.set_images_dir(images)
        self.cwd = cwd

    async def responsive(self, timeout: float = 5.0) -> bool:
        """Whether the kernel answers a trivial cell (after an interrupt, it should).

        Code the interrupted cell left running (a thread) may raise approvals
        meanwhile: the executor's ``execute`` rejects them all.
        """
        try:
            await self.executor.execute("None", timeout=timeout)
        except Exception as exc:  # noqa: BLE001 - a probe: whatever failed, the answer is "no"
            logger.info("kernel %s did not answer the probe: %r", self.id[:8], exc)
            return False
        return True

    def pids(self) -> list[int]:
        return list(self.executor.pids())

    def lost(self, exc: Exception, output: str) -> KernelLostError:
        """The error of a cell whose kernel failed with ``exc``: which limit, if one."""
        policy, sandbox = self.executor.policy, self.executor.sandbox
        if isinstance(exc, LimitReached) and policy is not None and exc.limit in set(Limit):
            limit = Limit(exc.limit)
            return LimitExceededError(
                breach_text(limit, policy.limits), limit=limit.value, output=output
            )
        code = sandbox.status().exit_code if sandbox is not None else None
        if isinstance(exc, KernelDiedError) and policy is not None and code is not None:
            died = exit_limit(code)
            if died is not None:
                text = breach_text(died, policy.limits)
                return LimitExceededError(text, limit=died.value, output=output)
            reason = f"its process {exit_text(code)}"
        else:
            reason = f"{type(exc).__name__}: {exc}"
        return KernelLostError(
            f"the Python kernel stopped answering ({reason}); the next code action starts a new "
            "one, without the earlier variables",
            output=output,
        )

    def breach(self, output: str) -> LimitExceededError | None:
        """After a cell: the sandbox is at its process limit (a fork bomb, say)."""
        policy, sandbox = self.executor.policy, self.executor.sandbox
        if policy is None or sandbox is None:
            return None
        if sandbox.tasks() < policy.limits.processes:
            return None
        text = breach_text(Limit.PROCESSES, policy.limits)
        return LimitExceededError(text, limit=Limit.PROCESSES.value, output=output)

    @property
    def stopped(self) -> bool:
        return self._stopped

    async def stop(self) -> None:
        """Stop the gateway and its kernel; safe to call twice."""
        if self._stopped:
            return
        self._stopped = True
        try:
            async with asyncio.timeout(STOP_TIMEOUT):
                await self.executor.stop()
        except Exception:  # stopping is best effort; the registry sweeps what is left
            logger.warning("kernel %s did not stop cleanly", self.id[:8], exc_info=True)
