"""ipybox's CodeExecutor, with the host in charge of processes, MCP servers and the sandbox.

ipybox (pinned at 0.9.2) runs a kernel as: an in-process tool server (MCP
calls and approvals from the kernel), a Jupyter kernel gateway subprocess,
and a kernel client. This module swaps all three, through ipybox's own
``_executor`` seam, and gives each kernel a run folder
(:class:`~core.code.rundir.RunDir`):

- :class:`~core.code.tool_server.HostToolServer` runs only the
  ``ptcServers`` of the config, with the host's parameters, on unix sockets
  in the run folder (the kernel finds its own through ``FACIO_TOOL_SOCKET``);
- :class:`~core.code.gateway.OwnedKernelGateway` starts the gateway in its
  own session, armed to die with this process, guarded by a token; with a
  sandbox, its kernel is started in bubblewrap (:mod:`core.code.sandbox`);
- :class:`~core.code.client.OrderedKernelClient` does not lose output that
  arrives after the kernel's reply.

It replaces ipybox's ``stream`` only to reach the tool server's approval
channel on facio's own socket, and its ``execute``, which *accepts* every approval
the code raises while it runs, with one that rejects them all: approvals
are asked only by a cell (``core.code.cell``), through ``stream``.

Importing this module imports ipybox (about two seconds): the toolset loads
it in a thread, on first use.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

from ipybox import ApprovalRequest, CodeExecutionChunk, CodeExecutionResult, CodeExecutor
from ipybox.code_exec import CodeExecutionError, _build_budget, _Cancelled, _StreamWorker
from ipybox.kernel_mgr.client import ExecutionError, ExecutionResult, KernelClient
from mcpygen.tool_exec.approval.client import ApprovalClient
from websockets.asyncio.client import unix_connect
from websockets.exceptions import ConnectionClosed

from core.code.client import OrderedKernelClient
from core.code.gateway import OwnedKernelGateway
from core.code.kernel_link import SOCKET_ENV
from core.code.procs import ProcessRegistry
from core.code.ptc import PtcServer
from core.code.rundir import RunDir
from core.code.sandbox import Sandbox, SandboxPolicy
from core.code.tool_server import HostToolServer

__all__ = ["KernelExecutor"]

LOG_LEVEL = "WARNING"
PLAIN_KERNEL = "python"
"""The kernelspec of a kernel without a sandbox: ipybox's (Jupyter's own Python)."""

logger = logging.getLogger(__name__)


class _SocketApprovalClient(ApprovalClient):  # type: ignore[misc]
    """mcpygen's approval client, on the tool server's unix socket."""

    def __init__(self, socket: Path, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.socket = socket

    async def connect(self) -> None:
        self._conn = await unix_connect(str(self.socket), self._uri)
        self._task = asyncio.create_task(self._recv())


async def _wait_for_port(host: str, port: int, deadline: float) -> None:
    """Wait until something listens on ``host:port`` (the gateway has booted)."""
    while True:
        try:
            _reader, writer = await asyncio.open_connection(host, port)
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"the kernel gateway did not listen on port {port}") from None
            await asyncio.sleep(0.1)
            continue
        writer.close()
        return


class KernelExecutor(CodeExecutor):  # type: ignore[misc]
    """A CodeExecutor on a :class:`HostToolServer` and an :class:`OwnedKernelGateway`.

    Approvals are always on, for MCP calls and for shell escapes (``!cmd``,
    ``%%bash``); ipybox's own approval timeout is off (facio's applies).
    """

    _cancel_event: asyncio.Event | None

    def __init__(
        self,
        *,
        registry: ProcessRegistry,
        servers: Mapping[str, PtcServer],
        cwd: Path,
        kernel_env: dict[str, str],
        kernel_init_timeout: float,
        sandbox: SandboxPolicy | None = None,
    ) -> None:
        super().__init__(
            tool_server_host="127.0.0.1",
            kernel_gateway_host="127.0.0.1",
            kernel_env=kernel_env,
            kernel_init_timeout=kernel_init_timeout,
            approval_timeout=None,
            log_level=LOG_LEVEL,
            approve_tool_calls=True,
            approve_shell_cmds=True,
        )
        self.registry = registry
        self.servers = dict(servers)
        self.cwd = cwd
        self.policy = sandbox
        self.run: RunDir | None = None
        """The kernel's run folder (from its start)."""
        self.sandbox: Sandbox | None = None
        """The kernel's sandbox, when it has one (from its start)."""
        self.gateway: OwnedKernelGateway | None = None

    async def stream(
        self, code: str, timeout: float | None = None, chunks: bool = False
    ) -> AsyncIterator[ApprovalRequest | CodeExecutionChunk | CodeExecutionResult]:
        """ipybox's ``stream``, reaching the approval channel on the tool server's socket."""
        self._cancel_event = asyncio.Event()
        worker = _StreamWorker(lambda: self._client.stream(code, timeout=None))
        budget = _build_budget(timeout, worker.queue, cancel=self._cancel_event)
        assert self.run is not None  # started
        approvals = _SocketApprovalClient(self.run.host_socket, callback=worker.queue.put)
        async with approvals:
            await worker.start()
            finalize_timeout: float | None = None
            try:
                while True:
                    item = await budget.next_item()
                    if isinstance(item, _Cancelled):
                        finalize_timeout = 2.0
                        await self._client.interrupt_and_drain()
                        break
                    if isinstance(item, ApprovalRequest):
                        budget.pause()
                        item.on_decision(budget.on_decision)
                        yield item
                    elif isinstance(item, str):
                        if chunks:
                            yield CodeExecutionChunk(text=item)
                    elif isinstance(item, ExecutionError):
                        raise CodeExecutionError(item.args[0])
                    elif isinstance(item, Exception):
                        raise item
                    elif isinstance(item, ExecutionResult):
                        yield CodeExecutionResult(text=item.text, images=item.images)
                        break
            except (TimeoutError, asyncio.CancelledError):
                finalize_timeout = 2.0
                await self._client.interrupt_and_drain()
                raise
            finally:
                self._cancel_event = None
                await budget.cancel_pending()
                await worker.finalize(timeout=finalize_timeout)

    async def execute(self, code: str, timeout: float | None = None) -> CodeExecutionResult:
        """Run ``code`` that is facio's own (boot, binding, a probe), rejecting every approval.

        ipybox's ``execute`` accepts every approval raised while it runs: a
        thread that a timed-out cell left running would have its shell
        commands and MCP calls granted without anyone asked. Nothing here is
        the person's code, so nothing it raises may be granted.
        """
        result = CodeExecutionResult(text=None, images=[])
        async for item in self.stream(code, timeout=timeout):
            if isinstance(item, ApprovalRequest):
                logger.warning("refused %s: raised while facio's own code ran", item)
                try:
                    await item.reject()
                except (RuntimeError, ConnectionClosed) as exc:  # the execution ended meanwhile
                    logger.info("refusal not delivered (%s): %s", item, exc)
            elif isinstance(item, CodeExecutionResult):
                result = item
        return result

    def set_images_dir(self, folder: Path) -> None:
        """Where the kernel's images are saved from now on (a session's folder)."""
        self._client.images_dir = folder

    def pids(self) -> list[int]:
        """The kernel's processes: the gateway and the kernel (and what the code started)."""
        return self.gateway.pids() if self.gateway is not None else []

    def track(self) -> None:
        """Record the kernel's processes in the registry (after a start or a reset)."""
        if self.gateway is not None:
            self.gateway.track()

    @asynccontextmanager
    async def _executor(self) -> AsyncIterator[KernelClient]:
        deadline = time.monotonic() + self.kernel_init_timeout
        token = secrets.token_urlsafe(24)
        run = self.run = RunDir.create()
        env = self.kernel_env | {SOCKET_ENV: str(run.tool_socket)}
        options: tuple[str, ...] = ()
        async with AsyncExitStack() as stack:
            stack.callback(run.remove)
            if self.policy is not None:
                self.sandbox = Sandbox(self.policy, run)
                await asyncio.to_thread(self.sandbox.prepare)
                env |= self.sandbox.gateway_env()
                options = self.sandbox.gateway_options
            await stack.enter_async_context(
                HostToolServer(
                    self.servers,
                    cwd=self.cwd,
                    kernel_socket=run.tool_socket,
                    host_socket=run.host_socket,
                    approval_required=True,
                    approval_timeout=None,
                    log_level=self.log_level,
                )
            )
            gateway = OwnedKernelGateway(
                self.registry,
                token=token,
                options=options,
                host=self.kernel_gateway_host,
                port=self.kernel_gateway_port,
                working_dir=self.cwd,
                log_level=self.log_level,
                env=env,
            )
            await stack.enter_async_context(gateway)
            self.gateway = gateway
            stack.callback(setattr, self, "gateway", None)
            await _wait_for_port(self.kernel_gateway_host, self.kernel_gateway_port, deadline)
            client = OrderedKernelClient(
                token=token,
                kernel_name=self.sandbox.kernel_name if self.sandbox else PLAIN_KERNEL,
                host=self.kernel_gateway_host,
                port=self.kernel_gateway_port,
                images_dir=self.images_dir,
                approve_shell_cmds=True,
                kernel_init_timeout=max(1.0, deadline - time.monotonic()),
            )
            yield await stack.enter_async_context(client)
