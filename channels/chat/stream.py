"""A streamed answer: one message (or a few) that grows by edits.

The first chunk of a step sends a message; later chunks edit it, at most
once per ``interval`` (at least the platform's group interval in group chats).
A chunk that arrives too early is held and written by a timer when the
interval is up, so a pause in the stream never leaves text unshown. Past the
platform's message limit the answer continues in a new message (the
platform's :meth:`~channels.chat.platform.ChatPlatform.markdown` splits it);
a message is edited only when its part changed, so the platform never sees
an edit that changes nothing.

The ``response`` event carries the step's whole text: its render is
authoritative — every part is set to the final text, new parts are sent,
leftovers deleted — whatever the chunks did before. When the platform is
unreachable it is tried again (:data:`FINAL_TRIES` times, backing off) rather
than leave the answer half shown: the session's later events wait meanwhile.
A message whose send may have landed although its answer was lost
(:class:`~channels.chat.errors.MaybeDelivered`) is never sent again as it
was: its id is unknown (it cannot be edited), so only a final text that
differs from what it was sent with goes out once more, as a new message.

State is small and recoverable: per ``(turn, agent)`` the text so far, the
message ids and a fingerprint of what each shows, in Redis
(``facio:<platform>:stream:…``, one hour). A gateway restarted mid-answer
picks the same messages up instead of starting new ones, and the final
render fixes whatever chunks were lost in between.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic

from channels.chat.errors import ChatError, MaybeDelivered, PlatformUnreachable
from channels.chat.log import platform_log
from channels.chat.platform import ChatPlatform, MessageRef, PartT, Target
from channels.runtime import RuntimeClient, text
from core.backoff import Backoff

__all__ = ["STREAM_TTL", "Streams"]

logger = logging.getLogger(__name__)

STREAM_TTL = 3600
FINAL_TRIES = 5
"""Tries of a final answer's write while the platform is unreachable (about 30 s)."""
MAX_STREAMS = 1000
UNKNOWN = ""
"""The id of a message whose send may have landed, its answer lost."""
"""Streams kept in memory; older ones are reloaded from Redis if they ever continue."""


@dataclass
class _Stream:
    key: str
    target: Target
    text: str = ""
    ids: list[str] = field(default_factory=list)
    shown: list[str] = field(default_factory=list)
    last_write: float = -1e9
    finished: bool = False
    timer: asyncio.Task[None] | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def dump(self) -> str:
        return json.dumps({"text": self.text, "ids": self.ids, "shown": self.shown})


class Streams(Generic[PartT]):
    """The answers streaming in this gateway on one platform, per turn and agent."""

    def __init__(
        self,
        runtime: RuntimeClient,
        platform: ChatPlatform[PartT],
        *,
        interval: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        retry_delay: float = 1.0,
    ) -> None:
        """``interval``: seconds between edits (the platform's default when None);
        ``retry_delay``: the first wait before a final answer is tried again."""
        self.retry_delay = retry_delay
        self.runtime = runtime
        self.platform = platform
        self.interval = platform.limits.edit_interval if interval is None else interval
        self.clock = clock
        self.log = platform_log(logger, platform.name)
        self._streams: OrderedDict[str, _Stream] = OrderedDict()
        self._timers: set[asyncio.Task[None]] = set()

    def _key(self, turn_id: str, agent_id: str) -> str:
        return self.runtime.key(self.platform.name, "stream", turn_id, agent_id)

    def _interval(self, target: Target) -> float:
        if target.group:
            return max(self.interval, self.platform.limits.group_edit_interval)
        return self.interval

    async def _get(self, turn_id: str, agent_id: str, target: Target) -> _Stream:
        key = self._key(turn_id, agent_id)
        stream = self._streams.get(key)
        if stream is None:
            stream = _Stream(key, target)
            raw = await self.runtime.redis.get(key)
            if raw is not None:
                saved = json.loads(text(raw))
                stream.text, stream.shown = saved["text"], saved["shown"]
                stream.ids = [str(i) for i in saved["ids"]]
            self._streams[key] = stream
            while len(self._streams) > MAX_STREAMS:
                self._streams.popitem(last=False)
        self._streams.move_to_end(key)
        return stream

    async def chunk(self, turn_id: str, agent_id: str, target: Target, content: str) -> None:
        """Append a chunk; write now if the interval allows, else let a timer do it."""
        stream = await self._get(turn_id, agent_id, target)
        async with stream.lock:
            stream.text += content
            await self.runtime.redis.set(stream.key, stream.dump(), ex=STREAM_TTL)
            wait = stream.last_write + self._interval(target) - self.clock()
            if wait <= 0:
                await self._write(stream)
                return
        if stream.timer is None:
            stream.timer = asyncio.create_task(self._later(stream, wait))
            self._timers.add(stream.timer)
            stream.timer.add_done_callback(self._timers.discard)

    async def _later(self, stream: _Stream, wait: float) -> None:
        await asyncio.sleep(wait)
        async with stream.lock:
            stream.timer = None
            if not stream.finished:
                await self._write(stream)

    async def final(self, turn_id: str, agent_id: str, target: Target, content: str) -> None:
        """The step's whole text: make the messages show exactly it, then forget the stream."""
        stream = await self._get(turn_id, agent_id, target)
        async with stream.lock:
            stream.finished = True
            stream.text = content
            backoff = Backoff(self.retry_delay, cap=16.0)
            for _ in range(FINAL_TRIES - 1):
                if await self._write(stream, final=True):
                    break
                await asyncio.sleep(backoff.next())
            else:
                await self._write(stream, final=True)
        self._streams.pop(stream.key, None)
        await self.runtime.redis.delete(stream.key)

    async def _write(self, stream: _Stream, *, final: bool = False) -> bool:
        """Bring the messages in line with the text (send, edit, delete); False when the
        platform was unreachable (worth another try), True otherwise (a refusal is logged:
        trying again would not help)."""
        parts = self.platform.markdown(stream.text)
        target = stream.target
        try:
            for index, part in enumerate(parts):
                if index < len(stream.ids):
                    if stream.shown[index] == part.key():
                        continue
                    if stream.ids[index] == UNKNOWN:  # sent, maybe: it cannot be edited
                        if final:  # the final text differs from what it was sent with
                            await self._send(stream, part, index)
                        continue
                    await self.platform.edit(MessageRef(target.chat, stream.ids[index]), part)
                    stream.shown[index] = part.key()
                else:
                    await self._send(stream, part, index)
            while final and parts and len(stream.ids) > len(parts):
                gone = stream.ids.pop()
                stream.shown.pop()
                if gone != UNKNOWN:
                    await self.platform.delete(MessageRef(target.chat, gone))
        except PlatformUnreachable as exc:
            self.log.warning("streaming the answer in %s failed: %s", target, exc)
            return False
        except ChatError as exc:
            self.log.warning("streaming the answer in %s failed: %s", target, exc)
        finally:
            stream.last_write = self.clock()
            if not final:
                await self.runtime.redis.set(stream.key, stream.dump(), ex=STREAM_TTL)
        return True

    async def _send(self, stream: _Stream, part: PartT, index: int) -> None:
        """Send ``part`` as the stream's message ``index``. When its answer is lost after
        sending (:class:`MaybeDelivered`) the part counts as shown, under an unknown id:
        it is not sent again unless the final text of that part differs from it."""
        try:
            sent_id = (await self.platform.send(stream.target, part)).id
        except MaybeDelivered as exc:
            self.log.warning("answer part in %s may not have arrived: %s", stream.target, exc)
            sent_id = UNKNOWN
        if index < len(stream.ids):
            stream.ids[index], stream.shown[index] = sent_id, part.key()
        else:
            stream.ids.append(sent_id)
            stream.shown.append(part.key())

    async def discard(self, turn_id: str) -> None:
        """The turn is over: forget its streams (an answer cut short keeps what it showed)."""
        prefix = self._key(turn_id, "")
        for key in [k for k in self._streams if k.startswith(prefix)]:
            self._streams.pop(key).finished = True
            await self.runtime.redis.delete(key)

    async def close(self) -> None:
        for timer in list(self._timers):
            timer.cancel()
        for timer in list(self._timers):
            with contextlib.suppress(asyncio.CancelledError):
                await timer
