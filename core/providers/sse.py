"""Server-Sent Events, parsed as the WHATWG HTML standard says (§9.2.6).

Both model APIs stream their answers as ``text/event-stream``; this is the one
parser they share. It follows the standard's rules rather than the shape of
any one API, so a proxy that re-chunks the stream, switches to CRLF or sends
comments as keep-alives changes nothing:

- lines end in CRLF, LF or CR (a CR at the end of a network chunk waits for the
  next chunk, in case an LF follows);
- a line starting with ``:`` is a comment; ``field: value`` loses one space
  after the colon; a line without a colon is a field with an empty value;
- ``data`` lines accumulate, joined with ``\\n``; a blank line dispatches the
  event, unless no ``data`` line came (then only the type is reset);
- ``id`` sets the last event id, which *persists* across events (ids with a
  NUL are ignored); ``retry`` and unknown fields are ignored: we never
  reconnect, a model call is not resumable;
- a leading byte order mark is dropped and bytes decode as UTF-8 with
  replacement characters.

At the end of the stream an event without its closing blank line is **not
dispatched**, as the standard requires: a stream cut mid-event is truncated,
and the providers report it as such rather than act on half an event.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass

import httpx

__all__ = ["SSEDecoder", "SSEEvent", "aiter_sse"]

_EOL = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True)
class SSEEvent:
    """One dispatched event."""

    event: str
    """The event type; "message" when the stream gave none."""
    data: str
    id: str | None
    """The last event id seen so far in the stream (None when there was none)."""


class SSEDecoder:
    """Incremental parser: feed bytes as they arrive, collect the events they complete."""

    def __init__(self) -> None:
        self._text = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._buffer = ""
        self._started = False
        self._event = ""
        self._data: list[str] = []
        self._last_id: str | None = None

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        """Parse a chunk; return the events it completed (often none)."""
        return self._consume(self._text.decode(chunk), final=False)

    def close(self) -> list[SSEEvent]:
        """End of stream: finish the last line; an unterminated event is discarded."""
        events = self._consume(self._text.decode(b"", final=True), final=True)
        self._event = ""
        self._data = []
        return events

    def _consume(self, text: str, *, final: bool) -> list[SSEEvent]:
        if not self._started and text:
            self._started = True
            text = text.removeprefix("\ufeff")
        buffer = self._buffer + text
        events: list[SSEEvent] = []
        start = 0
        for match in _EOL.finditer(buffer):
            if match.group() == "\r" and match.end() == len(buffer) and not final:
                break  # maybe the first half of a CRLF split across chunks
            event = self._line(buffer[start : match.start()])
            if event is not None:
                events.append(event)
            start = match.end()
        rest = buffer[start:]
        if final and rest:
            self._line(rest)  # cannot dispatch: only a blank line does that
            rest = ""
        self._buffer = rest
        return events

    def _line(self, line: str) -> SSEEvent | None:
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None
        name, colon, value = line.partition(":")
        if colon:
            value = value.removeprefix(" ")
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        elif name == "id" and "\0" not in value:
            self._last_id = value
        return None

    def _dispatch(self) -> SSEEvent | None:
        event, data = self._event, self._data
        self._event, self._data = "", []
        if not data:
            return None
        return SSEEvent(event=event or "message", data="\n".join(data), id=self._last_id)


async def aiter_sse(source: httpx.Response | AsyncIterable[bytes]) -> AsyncIterator[SSEEvent]:
    """The events of a streaming body, as they complete.

    Args:
        source: a streaming ``httpx.Response`` (its decoded body is read) or any
            async iterable of byte chunks.
    """
    chunks = source.aiter_bytes() if isinstance(source, httpx.Response) else source
    decoder = SSEDecoder()
    async for chunk in chunks:
        for event in decoder.feed(chunk):
            yield event
    for event in decoder.close():
        yield event
