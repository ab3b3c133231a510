"""A code action's output: bounded while it streams, and the text the model reads.

Code can print megabytes. The chat gets the first ``limit`` characters as
they come, then one note; the model gets the beginning and the end (where
results and errors usually are) with the middle cut out and the cut said.
Memory stays bounded by ``limit`` whatever the code prints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["CellResult", "OutputBuffer", "model_text"]

STREAM_CUT = "\n[… more output: the chat shows no more of it …]\n"
NEW_KERNEL = (
    "[Note: this code ran in another Python kernel than the previous code action "
    "(the old one was stopped, or this turn runs in another process): variables, imports "
    "and definitions from earlier code actions may be missing. Recreate what you need.]"
)


class OutputBuffer:
    """Keeps the first and the last characters of a stream of text, and counts the rest."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.total = 0
        self._head_limit = limit // 2
        self._tail_limit = limit - self._head_limit
        self._head: list[str] = []
        self._head_len = 0
        self._tail = ""
        self._cut_said = False

    def add(self, text: str) -> str:
        """Take ``text``; return the part to stream now ("" once past the limit)."""
        room = max(0, self.limit - self.total)
        streamed = text[:room]
        if len(text) > room and not self._cut_said:
            streamed += STREAM_CUT
            self._cut_said = True
        self.total += len(text)
        room = self._head_limit - self._head_len
        if room > 0:
            self._head.append(text[:room])
            self._head_len += min(room, len(text))
            text = text[room:]
        if text:
            self._tail = (self._tail + text)[-self._tail_limit :]
        return streamed

    @property
    def truncated(self) -> bool:
        return self.total > self.limit

    def text(self) -> str:
        """The output as the model sees it: whole, or its two ends around a note."""
        head = "".join(self._head)
        if not self.truncated:
            return (head + self._tail).strip()
        left_out = self.total - len(head) - len(self._tail)
        return (
            f"{head}\n[… {left_out} characters of output left out ({self.total} in all) …]\n"
            f"{self._tail}"
        ).strip()


@dataclass
class CellResult:
    """What running one cell produced."""

    output: str = ""
    truncated: bool = False
    images: list[Path] = field(default_factory=list)
    error: str | None = None
    """The exception and its traceback, when the code raised."""
    timeout: str | None = None
    """Set when the cell ran out of time: what happened to the kernel."""

    @property
    def failed(self) -> bool:
        return self.error is not None or self.timeout is not None


def _cap(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]}\n[… {len(text) - limit} characters left out …]\n{text[-half:]}"


def model_text(result: CellResult, *, cwd: Path, limit: int, new_kernel: bool) -> str:
    """The tool result the model reads for ``result`` (images as paths relative to ``cwd``)."""
    parts: list[str] = [NEW_KERNEL] if new_kernel else []
    parts.append(result.output or ("(no output)" if not result.failed else ""))
    if result.images:
        shown = []
        for image in result.images:
            try:
                shown.append(str(image.relative_to(cwd)))
            except ValueError:
                shown.append(str(image))
        parts.append(f"[images saved: {', '.join(shown)}]")
    if result.error is not None:
        parts.append(f"Error:\n{_cap(result.error, limit)}")
    if result.timeout is not None:
        parts.append(result.timeout)
    return "\n".join(p for p in parts if p)
