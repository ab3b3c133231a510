"""ipybox's kernel client, made to keep all output, carry the gateway's token, read reports.

- A cell ends only once all of its output has arrived (:class:`OrderedKernelClient`).
- Every request to the kernel gateway carries its token: the gateway listens
  on 127.0.0.1, where any local process could reach it, code in another
  session's sandbox included (with ``network: on``).
- A kernel that reached a limit says so (``kernel_link.LIMIT_MIME``): the
  cell ends with :class:`LimitReached` instead of its error.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
from ipybox.kernel_mgr.client import ExecutionResult, KernelClient

from core.code.kernel_link import LIMIT_MIME
from core.code.paths import write_new

__all__ = ["KernelDiedError", "LimitReached", "OrderedKernelClient"]

logger = logging.getLogger(__name__)


class KernelDiedError(RuntimeError):
    """The kernel process died mid-cell (the gateway gives up on it)."""


class LimitReached(RuntimeError):
    """The cell reached a limit of its sandbox (the kernel said so)."""

    def __init__(self, limit: str) -> None:
        super().__init__(f"the cell reached code.limits.{limit}")
        self.limit = limit


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

    _ws: Any
    _kernel_id: str | None
    _session_id: str | None

    def __init__(self, *, token: str, kernel_name: str, **kwargs: Any) -> None:
        """``token``: the gateway's; ``kernel_name``: the kernelspec to start."""
        super().__init__(**kwargs)
        self.token = token
        self.kernel_name = kernel_name

    @property
    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"token {self.token}"}

    @property
    def kernel_ws_url(self) -> str:
        return f"{super().kernel_ws_url}&token={self.token}"

    async def _create_kernel(self) -> str:
        async with (
            aiohttp.ClientSession(headers=self._headers) as session,
            session.post(self.base_http_url, json={"name": self.kernel_name}) as response,
        ):
            response.raise_for_status()
            kernel = await response.json()
            return str(kernel["id"])

    async def _interrupt_kernel(self) -> None:
        url = f"{self.kernel_http_url}/interrupt"
        async with (
            aiohttp.ClientSession(headers=self._headers) as session,
            session.post(url, json={"kernel_id": self._kernel_id}) as response,
        ):
            logger.debug("kernel interrupted: HTTP %s", response.status)

    async def disconnect(self) -> None:
        """Close the websocket and shut the kernel down (the gateway stops with it anyway)."""
        if self._ws:
            self._ws.close()
            self._ws = None
        if self._kernel_id:
            async with (
                aiohttp.ClientSession(headers=self._headers) as session,
                session.delete(self.kernel_http_url),
            ):
                pass
            self._kernel_id = None
            self._session_id = None

    async def stream(
        self, code: str, timeout: float | None = None
    ) -> AsyncIterator[str | ExecutionResult]:
        """``timeout`` is unused: ipybox's executor passes None and keeps the time itself."""
        request_id = uuid.uuid4().hex
        await self._send_request(_execute_request(code, request_id, self._session_id))
        chunks: list[str] = []
        images: list[Path] = []
        limits: list[str] = []
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
                async for text in self._display(content["data"], images, limits):
                    chunks.append(text)
                    yield text
        if limits:
            raise LimitReached(limits[0])
        if reply["content"]["status"] == "error":
            self._raise_error(error or reply)
        if any(_asks_exit(item) for item in reply["content"].get("payload", ())):
            # the kernel stops 0.1 s after its reply, and the gateway restarts a bare one
            raise KernelDiedError("the code ended the kernel (exit() or quit())")
        yield ExecutionResult(text="".join(chunks).strip() if chunks else None, images=images)

    async def _display(
        self, data: dict[str, Any], images: list[Path], limits: list[str]
    ) -> AsyncIterator[str]:
        if LIMIT_MIME in data:  # a report from the kernel, not output
            limits.append(str(data[LIMIT_MIME].get("limit", "")))
            return
        if "text/plain" in data:
            yield data["text/plain"]
        if "image/png" in data:
            png, name = base64.b64decode(data["image/png"]), f"{uuid.uuid4().hex[:8]}.png"
            try:
                images.append(await asyncio.to_thread(write_new, self.images_dir, name, png))
            except OSError as exc:  # images/ is not a folder facio may write in (a link)
                yield f"[facio] the image was not saved: {self.images_dir.name}/: {exc.strerror}"


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
