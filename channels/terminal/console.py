"""Terminal input and output that cooperate with the event loop.

Input: :class:`LineReader` reads stdin in one daemon thread and hands each
line to the loop through an ``asyncio.Queue``, so the loop keeps streaming
answers and handling Ctrl-C while the person types. It reads the file
descriptor with ``os.read`` rather than ``sys.stdin``: a daemon thread parked
inside a buffered reader holds its lock, and interpreter shutdown would then
abort trying to take it.

Output: :class:`Console` writes text as it arrives (flushed, so streaming is
visible), remembers whether the cursor is mid-line so blocks stay apart, and
dims secondary text only when stdout is a terminal and ``NO_COLOR`` is unset.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import os
import sys
import threading
from collections.abc import Mapping
from typing import TextIO

__all__ = ["Console", "LineReader", "color_enabled"]

DIM = "\x1b[2m"
RESET = "\x1b[0m"
READ_SIZE = 4096


def color_enabled(stream: TextIO, env: Mapping[str, str] | None = None) -> bool:
    """True when ANSI styles may be used: a terminal, and no ``NO_COLOR`` (no-color.org)."""
    env = os.environ if env is None else env
    if env.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class LineReader:
    """Lines from a file descriptor, delivered to the event loop; None once at EOF.

    Lines typed while nothing is reading wait in the queue (type-ahead);
    :meth:`discard_pending` drops them where stale input must not count,
    such as an approval prompt.
    """

    def __init__(self, fd: int = 0) -> None:
        self.fd = fd
        self.echoes = os.isatty(fd)
        """A terminal echoes what is typed, Enter included: the cursor is then at a line start."""
        self._queue: asyncio.Queue[str | None] = asyncio.Queue()
        self._thread: threading.Thread | None = None
        self._eof = False

    def start(self) -> None:
        """Start the reader thread (once); must be called from the running loop."""
        if self._thread is not None:
            return
        loop = asyncio.get_running_loop()
        self._thread = threading.Thread(
            target=self._pump, args=(loop,), name="facio-stdin", daemon=True
        )
        self._thread.start()

    def _pump(self, loop: asyncio.AbstractEventLoop) -> None:
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        pending = ""
        while True:
            try:
                data = os.read(self.fd, READ_SIZE)
            except OSError:
                data = b""  # a closed or revoked terminal reads as end of input
            pending += decoder.decode(data, final=not data)
            *lines, pending = pending.split("\n")
            for line in lines:
                self._deliver(loop, line.removesuffix("\r"))
            if not data:
                if pending:
                    self._deliver(loop, pending)
                self._deliver(loop, None)
                return

    def _deliver(self, loop: asyncio.AbstractEventLoop, line: str | None) -> None:
        # A closed loop means the program is exiting and nobody reads any more.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(self._queue.put_nowait, line)

    async def read_line(self) -> str | None:
        """The next line without its line end, or None at end of input (then always None)."""
        if self._eof:
            return None
        self.start()
        line = await self._queue.get()
        if line is None:
            self._eof = True
        return line

    def discard_pending(self) -> None:
        """Drop lines typed ahead; an end of input among them is kept."""
        while not self._queue.empty():
            if self._queue.get_nowait() is None:
                self._eof = True


class Console:
    """Writes to a text stream, flushing each write, tracking the cursor column."""

    def __init__(
        self, out: TextIO | None = None, err: TextIO | None = None, *, color: bool | None = None
    ) -> None:
        self.out = out if out is not None else sys.stdout
        self.err = err if err is not None else sys.stderr
        self.color = color_enabled(self.out) if color is None else color
        self._mid_line = False

    @property
    def is_terminal(self) -> bool:
        """True when the output goes to a terminal (someone is watching it)."""
        isatty = getattr(self.out, "isatty", None)
        return bool(isatty and isatty())

    def write(self, text: str, *, dim: bool = False) -> None:
        """Write ``text`` as is (dimmed when asked and allowed) and flush."""
        if not text:
            return
        self.out.write(f"{DIM}{text}{RESET}" if dim and self.color else text)
        self.out.flush()
        self._mid_line = not text.endswith("\n")

    def line(self, text: str = "", *, dim: bool = False) -> None:
        """Write ``text`` on a line of its own."""
        self.end_line()
        self.write(text, dim=dim)
        self.write("\n")

    def typed_line(self, reader: LineReader) -> None:
        """Note that a line was just typed; its echoed Enter (on a terminal) ended the line."""
        if reader.echoes:
            self._mid_line = False

    def end_line(self) -> None:
        """Move to the start of a line unless already there."""
        if self._mid_line:
            self.write("\n")

    def error(self, text: str) -> None:
        """A message on stderr, on its own line."""
        self.end_line()
        self.err.write(text + "\n")
        self.err.flush()
