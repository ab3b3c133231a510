"""The Jupyter kernel gateway of one kernel: owned by this process, guarded by a token.

The gateway runs outside any sandbox, as facio's user; with a sandbox, the
kernel it starts is bubblewrap around the IPython kernel (a kernelspec whose
command is ``core/code/sandbox/launch.py``), and it reaches the kernel's ZMQ
sockets as unix sockets in the kernel's run folder (``transport: ipc``).

- It listens on 127.0.0.1 and answers only requests with its token (passed
  as ``KG_AUTH_TOKEN``, which the gateway keeps from the kernel's environment).
- It does not restart a kernel that died: that kernel's cell fails, and the
  next code action gets a new kernel (a limit breach ends that way too).
- It is started through :func:`~core.code.procs.pdeathsig_command` and its
  processes are recorded in the registry.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import psutil
from ipybox.kernel_mgr.server import KernelGateway

from core.code.procs import ProcessRegistry, pdeathsig_command

__all__ = ["OwnedKernelGateway"]

DEATH_CHECK = 1.0
"""Seconds between the gateway's checks that its kernel lives (Jupyter's default is 3)."""


class OwnedKernelGateway(KernelGateway):  # type: ignore[misc]
    """A kernel gateway that dies with this process and is listed in the registry."""

    def __init__(
        self,
        registry: ProcessRegistry,
        *,
        token: str,
        options: Sequence[str] = (),
        **kwargs: Any,
    ) -> None:
        """``options``: more ``--Class.trait=value`` arguments (the sandbox's)."""
        self.registry = registry
        self.token = token
        self.options = list(options)
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
            "--KernelRestarter.restart_limit=0",
            f"--KernelRestarter.time_to_dead={DEATH_CHECK}",
            *self.options,
        ]
        env = {"PATH": os.environ.get("PATH", "")} | self.env | {"KG_AUTH_TOKEN": self.token}
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
