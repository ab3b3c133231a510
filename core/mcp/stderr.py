"""A stdio server's stderr, into facio's log instead of the terminal.

A server writes its own log and its tracebacks to stderr. Left alone that
would land on the terminal chat's screen; here it goes through a pipe to the
``core.mcp.stderr`` logger (INFO, one record per line, secrets redacted), and
the last lines are kept so that a failure report can say what the server said.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import os
from typing import IO, TextIO

from core.mcp.transport import Redactor

__all__ = ["StderrLog"]

logger = logging.getLogger("core.mcp.stderr")

TAIL_LINES = 20
MAX_LINE = 2000
"""Characters kept of one stderr line (the rest is cut)."""


class StderrLog:
    """A pipe for one server process's stderr, drained into the log by a task."""

    def __init__(self, server: str, redact: Redactor) -> None:
        self.server = server
        self._redact = redact
        self._tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
        read_fd, write_fd = os.pipe()
        self._reader: IO[bytes] = os.fdopen(read_fd, "rb", buffering=0)
        self.writer: TextIO = os.fdopen(write_fd, "w")
        """Give this to the process as its stderr, then call :meth:`spawned`."""
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Begin draining the pipe."""
        self._task = asyncio.create_task(self._drain(), name=f"mcp-stderr-{self.server}")

    def spawned(self) -> None:
        """The process holds its own copy of the write end now: close ours, so the
        pipe ends (and the drain stops) when the process does."""
        if not self.writer.closed:
            self.writer.close()

    def tail(self, lines: int = 3) -> str:
        """The last lines the server wrote, redacted, joined with " | "."""
        return " | ".join(list(self._tail)[-lines:])

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        transport, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), self._reader
        )
        buffer = b""
        try:
            while chunk := await reader.read(4096):
                buffer += chunk
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    self._line(line)
                if len(buffer) > MAX_LINE:
                    self._line(buffer)
                    buffer = b""
            if buffer:
                self._line(buffer)
        finally:
            transport.close()

    def _line(self, raw: bytes) -> None:
        text = self._redact(raw.decode("utf-8", "replace").rstrip()[:MAX_LINE])
        if text:
            self._tail.append(text)
            logger.info("mcp server %s: %s", self.server, text)

    async def aclose(self) -> None:
        """Stop draining (after what is buffered has been logged) and close the pipe."""
        self.spawned()
        if self._task is None:
            self._reader.close()
            return
        try:
            await asyncio.wait_for(asyncio.shield(self._task), 1.0)
        except TimeoutError:
            # A grandchild of the server may hold the pipe open; stop reading anyway.
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
