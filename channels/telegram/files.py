"""Files people send to the bot, fetched from the Bot API into the workspace.

Photos (the largest size), documents, audio, video, voice notes, video notes
and animations are fetched with ``getFile`` and the Bot API's file download
(``/file/bot<token>/<path>``, through the same injected session as every
other call); where they land and how size limits apply is
:mod:`channels.chat.files`.
"""

from __future__ import annotations

from pathlib import Path

import aiohttp
from aiogram import Bot
from aiogram.methods import GetFile

from channels.chat.files import check_size, save_upload
from channels.chat.intake import Incoming, IncomingFile
from channels.telegram.errors import TelegramUnreachable
from channels.telegram.send import Sender
from core.inbound import Attachment

__all__ = ["FileSaver"]


class FileSaver:
    """Downloads files into the workspace (the chat layer's ``FileSource``)."""

    def __init__(self, bot: Bot, sender: Sender, workspace: Path, max_size: int) -> None:
        self.bot = bot
        self.sender = sender
        self.workspace = workspace
        self.max_size = max_size

    async def save(self, incoming: Incoming, file: IncomingFile, name: str) -> Attachment:
        """Download ``file`` of ``incoming`` as ``uploads/<name>``; its path relative to
        the workspace."""
        check_size(file.size, self.max_size)
        chat = incoming.target.chat
        info = await self.sender.call(GetFile(file_id=file.ref), f"chat {chat}")
        check_size(info.file_size, self.max_size)
        if not info.file_path:
            raise TelegramUnreachable(f"getFile gave no path for a file in chat {chat}")
        url = self.bot.session.api.file_url(self.bot.token, info.file_path)
        try:
            chunks = self.bot.session.stream_content(url, timeout=120)
            relative = await save_upload(
                chunks, self.workspace, incoming.session_key, name, self.max_size
            )
        except aiohttp.ClientResponseError as exc:  # its text holds the URL, token and all
            raise TelegramUnreachable(f"downloading a file failed: HTTP {exc.status}") from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise TelegramUnreachable(f"downloading a file failed: {type(exc).__name__}") from exc
        return Attachment(path=relative.as_posix(), mime_type=file.mime_type, name=file.name)
