"""The code-action toolset: ``ipybox_execute_ipython_cell`` and ``ipybox_reset``.

One :class:`CodeToolset` per Facio (per bot and process) owns a
:class:`~core.code.pool.KernelPool`. It is cheap until used: :meth:`warm_up`
(``Facio.start``) or the first ``tools()`` call (an agent starting) chooses
the sandbox (``code.sandbox``: bubblewrap is tried once per process), loads
ipybox in a thread, cleans up kernels left by a facio process that died, and
starts warming the pool in the background; with ``ptcServers`` the first
``tools()`` also generates their Python APIs, which the tool's description
lists. See docs/code-actions.md.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from core.code.continuity import KernelMarks
from core.code.errors import CodeError, KernelLostError, KernelStartError
from core.code.output import CellResult, model_text
from core.code.paths import CodePaths
from core.code.pool import KernelPool
from core.code.procs import ProcessRegistry
from core.code.ptc import ApiModule, PtcServer, generate_apis
from core.code.sandbox import SandboxPolicy, choose_policy
from core.config.models import FacioConfig
from core.config.models_code import CodeConfig
from core.config.models_servers import McpServerConfig
from core.events import CodeExecutionOutput
from core.shown import error_text, scrub
from core.tools.tool import Tool, ToolContext

if TYPE_CHECKING:
    from core.code.kernel import Kernel

__all__ = ["CODE_TOOL_NAMES", "EXECUTE_TOOL", "RESET_TOOL", "CodeToolset"]

logger = logging.getLogger(__name__)

EXECUTE_TOOL = "ipybox_execute_ipython_cell"
RESET_TOOL = "ipybox_reset"
CODE_TOOL_NAMES = (EXECUTE_TOOL, RESET_TOOL)

EXECUTE_DESCRIPTION = """\
Run Python code in a stateful IPython kernel (Jupyter). Variables, imports and \
definitions persist between calls in this conversation (until ipybox_reset, or \
until the kernel is stopped after a long idle time: the result then says so). \
The working directory is this conversation's folder; files written there stay \
(files the person sent are in its uploads/ folder). \
The result is the cell's output (print what you want to see; the value of a \
last expression is shown too); images are saved as files and their paths \
listed; an exception comes back with its traceback. `!command` and `%%bash` \
run shell commands, each after the person approves it. Execution time is \
limited and very long output is cut in the middle."""

RESET_DESCRIPTION = """\
Restart this conversation's Python kernel: every variable, import and \
definition is gone (files in the working directory stay). Use it when the \
kernel is in a bad state."""

UNRESPONSIVE = (
    " The kernel did not respond to the interrupt and was stopped: the next code action "
    "runs in a new kernel, without the earlier variables."
)
RESPONSIVE = " The kernel is still running: what was defined before the interrupt is kept."


def _api_section(apis: Sequence[ApiModule]) -> str:
    if not apis:
        return ""
    first = apis[0]
    lines = [
        "",
        "",
        "Python APIs of MCP servers can be imported in the code (each call asks the "
        "person for approval unless a rule allows it), for example:",
        f"    from mcptools.{first.server} import {first.module}",
        f"    result = {first.module}.run({first.module}.Params(...))",
        "print(inspect.getsource(module)) shows a module's parameters and result. Modules:",
    ]
    lines += [
        f"- mcptools.{api.server}.{api.module}" + (f": {api.summary}" if api.summary else "")
        for api in apis
    ]
    return "\n".join(lines)


def _load_engine() -> None:
    """Import ipybox and the kernel modules (seconds of work: run it in a thread)."""
    importlib.import_module("core.code.cell")


class CodeToolset:
    """Code execution in per-session kernels, with a warm pool; a :class:`Toolset`."""

    def __init__(
        self,
        config: CodeConfig,
        workspace: os.PathLike[str] | str,
        *,
        ptc_servers: Mapping[str, McpServerConfig] | None = None,
        tools: Sequence[str] = CODE_TOOL_NAMES,
    ) -> None:
        """``tools`` limits which of the two tools are offered."""
        self.config = config
        self.names = tuple(name for name in CODE_TOOL_NAMES if name in tools)
        self.paths = CodePaths(Path(workspace).absolute())
        self.servers = {
            name: PtcServer.from_config(name, server)
            for name, server in (ptc_servers or {}).items()
        }
        self.pool = KernelPool(
            self._start_kernel,
            size=config.pool_size,
            max_kernels=config.max_kernels,
            idle_timeout=config.idle_timeout,
        )
        self.marks = KernelMarks(self.paths.kernels_dir)
        self.apis: list[ApiModule] = []
        self._registry: ProcessRegistry | None = None
        self.sandbox: SandboxPolicy | None = None
        """How kernels are sandboxed (known once :meth:`ready`); None: not at all."""
        self._tools: list[Tool] | None = None
        self._setup = asyncio.Lock()
        self._ready: asyncio.Task[None] | None = None

    @classmethod
    def from_config(
        cls, config: FacioConfig, *, tools: Sequence[str] = CODE_TOOL_NAMES
    ) -> CodeToolset:
        return cls(config.code, config.workspace, ptc_servers=config.ptc_servers, tools=tools)

    async def tools(self) -> Sequence[Tool]:
        """The two tools; the first call starts the set-up (see the module docstring)."""
        async with self._setup:
            if self._tools is None:
                if self.servers:
                    # the APIs are generated while the kernel side gets ready
                    apis = asyncio.ensure_future(
                        generate_apis(self.servers, self.paths.ptc_root, cwd=self.paths.workspace)
                    )
                    try:
                        await self.ready()
                    except BaseException as exc:
                        apis.cancel()
                        await asyncio.gather(apis, return_exceptions=True)
                        if not isinstance(exc, CodeError):
                            raise
                        logger.warning("code actions are unavailable", exc_info=True)
                    else:
                        self.apis = await apis
                elif self.config.pool_size > 0:
                    self._start_in_background()  # warm kernels while the model thinks
                description = EXECUTE_DESCRIPTION + _api_section(self.apis)
                made = [
                    Tool(
                        self._execute,
                        name=EXECUTE_TOOL,
                        description=description,
                        manages_timeout=True,
                    ),
                    Tool(self._reset, name=RESET_TOOL, description=RESET_DESCRIPTION),
                ]
                self._tools = [t for t in made if t.name in self.names]
        return self._tools

    def warm_up(self) -> None:
        """Start the set-up and the warm pool in the background now, before any agent
        starts (``Facio.start``); returns at once. A first code action then waits for
        the kernel being warmed rather than start another. With ``poolSize`` 0 nothing
        starts until code runs."""
        if self.config.pool_size > 0:
            self._start_in_background()

    def _start_in_background(self) -> None:
        if self._ready is None:
            self._ready = asyncio.create_task(self._prepare(), name="code-toolset-setup")

    async def ready(self) -> None:
        """Wait until code can run: the sandbox chosen, ipybox loaded, kernels of dead
        processes swept, the pool warming. CodeError when that failed."""
        self._start_in_background()
        assert self._ready is not None
        try:
            await asyncio.shield(self._ready)
        except (ImportError, OSError) as exc:
            reason = error_text(exc, self.paths.workspace)
            raise CodeError(f"code execution is unavailable: {reason}") from exc

    async def _prepare(self) -> None:
        self.sandbox = await asyncio.to_thread(
            choose_policy,
            self.config,
            workspace=self.paths.workspace,
            ptc_root=self.paths.ptc_root,
        )
        await asyncio.to_thread(_load_engine)
        registry = ProcessRegistry(self.paths.procs_dir)
        await asyncio.to_thread(registry.sweep)
        self._registry = registry
        self.pool.warm_up()

    async def _start_kernel(self) -> Kernel:
        from core.code.kernel import Kernel

        assert self._registry is not None
        env = dict(self.config.env)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(self.paths.ptc_root), env.get("PYTHONPATH", "")) if p
        )
        # exists before the kernel starts: Python caches a missing sys.path entry as
        # "nothing here" for good, and the APIs may be generated a moment later
        self.paths.ptc_root.mkdir(parents=True, exist_ok=True)
        self.paths.ptc_root.chmod(0o755)  # a sandboxed kernel's user reads it
        try:
            return await Kernel.start(
                registry=self._registry,
                servers=self.servers,
                workspace=self.paths.workspace,
                env=env,
                init_timeout=self.config.kernel_init_timeout,
                sandbox=self.sandbox,
            )
        except Exception as exc:  # the kernel processes are the outside world: map once
            logger.warning("a Python kernel failed to start", exc_info=True)
            if isinstance(exc, TimeoutError):
                limit = self.config.kernel_init_timeout
                reason = f"not ready within {limit:g} s (code.kernelInitTimeout)"
            else:
                reason = error_text(exc, self.paths.workspace) or type(exc).__name__
            raise KernelStartError(f"the Python kernel did not start: {reason}") from exc

    async def _execute(self, code: str, context: ToolContext) -> str:
        """Run Python code.

        Args:
            code: Python code for an IPython cell (`!command` and `%%bash` work too).
        """
        try:
            result, text = await self._run(code, context)
        except Exception as exc:
            # the action ends in one CodeExecutionOutput whatever happened: the
            # chunks streamed so far (if any) are closed, and the person sees why
            shown = error_text(exc, self.paths.workspace)
            error = shown if isinstance(exc, CodeError) else f"{type(exc).__name__}: {shown}"
            output = exc.output if isinstance(exc, CodeError) else ""
            await context.emit(
                CodeExecutionOutput(text=output, error=error, agent_id=context.agent_id)
            )
            raise
        await context.emit(
            CodeExecutionOutput(
                text=result.output,
                images=tuple(str(path) for path in result.images),
                truncated=result.truncated,
                error=result.error or result.timeout,
                agent_id=context.agent_id,
            )
        )
        if result.failed:
            raise CodeError(text)
        return text

    async def _run(self, code: str, context: ToolContext) -> tuple[CellResult, str]:
        """Run ``code`` in the kernel of the context's session and agent; the model's text."""
        await self.ready()
        from core.code.cell import run_cell

        key = (context.session_key, context.agent_id)
        limit = self.config.max_output_chars
        try:
            async with self.pool.lease(key) as kernel:
                if kernel.cwd is None:
                    await self._bind(kernel, key[0])
                assert kernel.cwd is not None
                new_kernel = self.marks.switch(*key, kernel.id)
                try:
                    result = await run_cell(
                        kernel,
                        code,
                        context=context,
                        timeout=context.execution_timeout,
                        limit=limit,
                    )
                except KernelLostError:
                    kernel.broken = True
                    raise
                if result.timeout is not None:
                    responsive = await kernel.responsive()
                    kernel.broken = not responsive
                    result.timeout += RESPONSIVE if responsive else UNRESPONSIVE
        finally:
            broken = self.pool.assigned(key)
            if broken is not None and broken.broken:
                await self.pool.release(key)  # now: it may still be burning CPU
        if result.error is not None:  # a traceback names files by their absolute paths
            result.error = scrub(result.error, self.paths.workspace, cwd=kernel.cwd)
        text = model_text(result, cwd=kernel.cwd, limit=limit, new_kernel=new_kernel)
        return result, text

    async def _bind(self, kernel: Kernel, session_key: str) -> None:
        try:
            cwd = await asyncio.to_thread(self.paths.open_session, session_key)
            await kernel.bind(cwd, self.paths.images_dir(session_key))
        except Exception as exc:  # the kernel's failure, mapped once
            kernel.broken = True
            logger.warning("binding a kernel to session %r failed", session_key, exc_info=True)
            reason = error_text(exc, self.paths.workspace)
            raise KernelLostError(
                f"the Python kernel failed while starting for this conversation: {reason}"
            ) from exc

    async def _reset(self, context: ToolContext) -> str:
        """Restart the Python kernel."""
        await self.release(context.session_key, context.agent_id)
        return (
            "The Python kernel was reset: every variable, import and definition is gone; "
            "files in the working directory stay. The next code action starts from scratch."
        )

    async def release(self, session_key: str, agent_id: str) -> None:
        """Stop the kernel of ``(session_key, agent_id)`` and forget it had one."""
        await self.pool.release((session_key, agent_id))
        self.marks.clear(session_key, agent_id)

    async def forget_session(self, session_key: str) -> None:
        """The session starts over: stop its kernels (every agent's)."""
        for kernel_key in [k for k in self.pool.assigned_keys() if k[0] == session_key]:
            await self.pool.release(kernel_key)
        self.marks.clear(session_key)

    async def aclose(self) -> None:
        """Stop the set-up if it runs, then every kernel; safe to call twice."""
        if self._ready is not None and not self._ready.done():
            self._ready.cancel()
            await asyncio.gather(self._ready, return_exceptions=True)
        await self.pool.aclose()
