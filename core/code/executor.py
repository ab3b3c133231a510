"""ipybox's CodeExecutor, with the host in charge of processes and MCP servers.

ipybox (pinned at 0.9.2) runs a kernel as: an in-process tool server (MCP
calls and approvals from the kernel), a Jupyter kernel gateway subprocess,
and a kernel client. This module swaps all three, through ipybox's own
``_executor`` seam:

- :class:`~core.code.tool_server.HostToolServer` runs only the
  ``ptcServers`` of the config, with the host's parameters;
- :class:`OwnedKernelGateway` starts the gateway in its own session, armed
  to die with this process, and records its processes in the registry;
- :class:`OrderedKernelClient` does not lose output that arrives after the
  kernel's reply.

And it replaces ipybox's ``execute``, which *accepts* every approval the
code raises while it runs, with one that rejects them all: approvals are
asked only by a cell (``core.code.cell``), through ``stream``.

Importing this module imports ipybox (about two seconds): the toolset loads
it in a thread, on first use.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import sys
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import psutil
from ipybox import ApprovalRequest, CodeExecutionResult, CodeExecutor
from ipybox.kernel_mgr.client import ExecutionResult, KernelClient
from ipybox.kernel_mgr.server import KernelGateway
from websockets.exceptions import ConnectionClosed

from core.code.procs import ProcessRegistry, pdeathsig_command
from core.code.ptc import PtcServer
from core.code.tool_server import HostToolServer

__all__ = ["KernelDiedError", "KernelExecutor", "OrderedKernelClient", "OwnedKernelGateway"]

LOG_LEVEL = "WARNING"

logger = logging.getLogger(__name__)


class OwnedKernelGateway(KernelGateway):  # type: ignore[misc]
    """A kernel gateway that dies with this process and is listed in the registry."""

    def __init__(self, registry: ProcessRegistry, **kwargs: Any) -> None:
        self.registry = registry
        super().__init__(**kwargs)

    async def start(self) -> None:
        jupyter = Path(sys.prefix) / "bin" / "jupyter"
        command = [
            str(jupyter),
            "kernelgateway",
            f"--KernelGatewayApp.ip={self.host}",
            f"--KernelGatewayApp.port={self.port}",
            "--KernelGatewayApp.log_level=WARN",
            "--KernelGatewayApp.port_retries=0",
            "--KernelGatewayApp.answer_yes=True",
        ]
        env = {"PATH": os.environ.get("PATH", "")} | self.env
        self._process = await asyncio.create_subprocess_exec(
            *pdeathsig_command(command),
            cwd=self.working_dir,
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
            start_new_session=True,
        )
        self.registry.track(self.name, [self._process.pid])

    async def stop(self, timeout: float = 10) -> None:
        try:
            await super().stop(timeout)
        finally:
            self.registry.forget(self.name)

    @property
    def name(self) -> str:
        """The gateway's name in the registry."""
        return f"gateway-{self.port}"

    def track(self) -> None:
        """Record the gateway's current processes (call after its kernel started)."""
        self.registry.track(self.name, self.pids())

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def pids(self) -> list[int]:
        """The gateway and everything under it (the kernel, its subprocesses)."""
        pid = self.pid
        if pid is None:
            return []
        try:
            children = psutil.Process(pid).children(recursive=True)
        except psutil.Error:
            return [pid]
        return [pid, *(child.pid for child in children)]


class KernelDiedError(RuntimeError):
    """The kernel process died mid-cell (the gateway restarts a fresh one, or gives up)."""


_KERNEL_GONE = ("restarting", "dead")
"""Gateway statuses (no parent request) that say the kernel process went away."""


class OrderedKernelClient(KernelClient):  # type: ignore[misc]
    """ipybox's kernel client, ending a cell only once all of its output has arrived.

    A kernel sends output on its IOPub channel and the execute reply on its
    shell channel; the gateway's websocket carries both in no guaranteed
    order. ipybox 0.9.2 stops reading at the reply, so output still on its
    way is lost: here about one cell in six printed nothing while another
    kernel was starting. The request's IOPub ``status: idle`` comes after
    all of its output, so a cell ends at the reply *and* the idle status.
    """

    async def stream(
        self, code: str, timeout: float | None = None
    ) -> AsyncIterator[str | ExecutionResult]:
        """``timeout`` is unused: ipybox's executor passes None and keeps the time itself."""
        request_id = uuid.uuid4().hex
        await self._send_request(_execute_request(code, request_id, self._session_id))
        chunks: list[str] = []
        images: list[Path] = []
        error: dict[str, Any] | None = None
        reply: dict[str, Any] | None = None
        idle = False
        while reply is None or not idle:
            message = await self._read_message()
            kind = message["msg_type"]
            content = message["content"]
            if kind == "status" and content.get("execution_state") in _KERNEL_GONE:
                raise KernelDiedError(
                    f"the kernel process died (gateway status: {content['execution_state']})"
                )
            if message["parent_header"].get("msg_id") != request_id:
                continue
            if kind == "status":
                idle = idle or content.get("execution_state") == "idle"
            elif kind == "execute_reply":
                reply = message
            elif kind == "error":
                error = message
            elif kind == "stream":
                chunks.append(content["text"])
                yield content["text"]
            elif kind in ("execute_result", "display_data"):
                async for text in self._display(content["data"], images):
                    chunks.append(text)
                    yield text
        if reply["content"]["status"] == "error":
            self._raise_error(error or reply)
        if any(_asks_exit(item) for item in reply["content"].get("payload", ())):
            # the kernel stops 0.1 s after its reply, and the gateway restarts a bare one
            raise KernelDiedError("the code ended the kernel (exit() or quit())")
        yield ExecutionResult(text="".join(chunks).strip() if chunks else None, images=images)

    async def _display(self, data: dict[str, Any], images: list[Path]) -> AsyncIterator[str]:
        if "text/plain" in data:
            yield data["text/plain"]
        if "image/png" in data:
            self.images_dir.mkdir(parents=True, exist_ok=True)
            path = self.images_dir / f"{uuid.uuid4().hex[:8]}.png"
            await asyncio.to_thread(path.write_bytes, base64.b64decode(data["image/png"]))
            images.append(path)


def _asks_exit(payload: dict[str, Any]) -> bool:
    return payload.get("source") == "ask_exit" and not payload.get("keepkernel")


def _execute_request(code: str, request_id: str, session_id: str | None) -> dict[str, Any]:
    return {
        "header": {
            "username": "",
            "version": "5.0",
            "session": session_id,
            "msg_id": request_id,
            "msg_type": "execute_request",
        },
        "parent_header": {},
        "channel": "shell",
        "content": {
            "code": code,
            "silent": False,
            "store_history": False,
            "user_expressions": {},
            "allow_stdin": False,
        },
        "metadata": {},
        "buffers": {},
    }


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

    def __init__(
        self,
        *,
        registry: ProcessRegistry,
        servers: Mapping[str, PtcServer],
        cwd: Path,
        kernel_env: dict[str, str],
        kernel_init_timeout: float,
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
        self.gateway: OwnedKernelGateway | None = None

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
        tool_server = HostToolServer(
            self.servers,
            cwd=self.cwd,
            host=self.tool_server_host,
            port=self.tool_server_port,
            approval_required=True,
            approval_timeout=None,
            log_level=self.log_level,
        )
        env = self.kernel_env | {
            "TOOL_SERVER_HOST": self.tool_server_host,
            "TOOL_SERVER_PORT": str(self.tool_server_port),
        }
        async with tool_server:
            gateway = OwnedKernelGateway(
                self.registry,
                host=self.kernel_gateway_host,
                port=self.kernel_gateway_port,
                working_dir=self.cwd,
                log_level=self.log_level,
                env=env,
            )
            async with gateway:
                self.gateway = gateway
                await _wait_for_port(self.kernel_gateway_host, self.kernel_gateway_port, deadline)
                client = OrderedKernelClient(
                    host=self.kernel_gateway_host,
                    port=self.kernel_gateway_port,
                    images_dir=self.images_dir,
                    approve_shell_cmds=True,
                    tool_server_host=self.tool_server_host,
                    tool_server_port=self.tool_server_port,
                    kernel_init_timeout=max(1.0, deadline - time.monotonic()),
                )
                try:
                    async with client:
                        yield client
                finally:
                    self.gateway = None
