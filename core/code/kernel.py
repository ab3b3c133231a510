"""One IPython kernel: started, bound to a session's folder, probed, stopped.

A kernel is started before anyone needs it (the pool), so it starts in the
workspace and is *bound* to a session on first use: its working directory
becomes the session's folder (and is put back there after every cell, as
ipybox does), images are saved in the folder's ``images/``.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Mapping
from pathlib import Path

from core.code.executor import KernelExecutor
from core.code.procs import ProcessRegistry
from core.code.ptc import PtcServer

__all__ = ["Kernel"]

logger = logging.getLogger(__name__)

STOP_TIMEOUT = 15.0

# 1. ipybox's shell-approval hook and the generated MCP APIs import from the
# mcpygen package, whose __init__ also loads its code generator: ~2 s and
# ~95 MB in the kernel, on the first `!cmd` or MCP call. The kernel only needs
# two small client modules, so the package is registered without running its
# __init__; any other name loads the whole package, as a plain import would.
# 2. ipybox wraps %%bash and %%sh for approval before IPython has loaded them:
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
            from mcpygen.tool_exec.approval.client import ApprovalRequestor
            return ApprovalRequestor
        if name.startswith("__") or loaded:
            raise AttributeError(name)
        loaded.append(True)
        spec.loader.exec_module(package)
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
            print(f"[facio] working directory reset to {{cwd}}")

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
    ) -> Kernel:
        """Start a kernel; TimeoutError when it is not ready within ``init_timeout``."""
        executor = KernelExecutor(
            registry=registry,
            servers=servers,
            cwd=workspace,
            kernel_env=dict(env),
            kernel_init_timeout=init_timeout,
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
        await self.executor.execute(BOOT_CODE, timeout=timeout)
        self.executor.track()

    async def bind(self, cwd: Path, images: Path) -> None:
        """Serve the session whose folder is ``cwd`` (its working directory from now on)."""
        cwd.mkdir(parents=True, exist_ok=True)
        await self.executor.execute(BIND_CODE.format(cwd=str(cwd)), timeout=30)
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
