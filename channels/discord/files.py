"""Attachments people send to the bot, fetched from Discord's CDN into the workspace.

An attachment's ``url`` (``cdn.discordapp.com/attachments/…``, signed for a
while) is downloaded with a plain HTTP GET — the CDN wants no token — and
streamed to disk; where it lands and how size limits apply (the announced
``size`` first, then what actually arrives) is :mod:`channels.chat.files`.
"""

from __future__ import annotations

from pathlib import Path

import aiohttp

from channels.chat.files import check_size, save_upload
from channels.chat.intake import Incoming, IncomingFile
from channels.discord.errors import DiscordUnreachable
from core.inbound import Attachment

__all__ = ["DOWNLOAD_TIMEOUT", "FileSaver"]

DOWNLOAD_TIMEOUT = 120.0


class FileSaver:
    """Downloads attachments into the workspace (the chat layer's ``FileSource``)."""

    def __init__(self, workspace: Path, max_size: int) -> None:
        self.workspace = workspace
        self.max_size = max_size
        self._session: aiohttp.ClientSession | None = None

    async def save(self, incoming: Incoming, file: IncomingFile, name: str) -> Attachment:
        """Download ``file`` of ``incoming`` as ``uploads/<name>``; its path relative to
        the workspace."""
        check_size(file.size, self.max_size)
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=DOWNLOAD_TIMEOUT)
            )
        try:
            async with self._session.get(file.ref) as response:
                if response.status != 200:
                    raise DiscordUnreachable(
                        f"downloading an attachment failed: HTTP {response.status}"
                    )
                check_size(response.content_length, self.max_size)
                chunks = response.content.iter_chunked(64 * 1024)
                relative = await save_upload(
                    chunks, self.workspace, incoming.session_key, name, self.max_size
                )
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise DiscordUnreachable(
                f"downloading an attachment failed: {type(exc).__name__}"
            ) from exc
        return Attachment(path=relative.as_posix(), mime_type=file.mime_type, name=file.name)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
