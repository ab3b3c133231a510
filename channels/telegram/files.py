"""Files people send: saved under the workspace, referenced in the agent's prompt.

Photos (the largest size), documents, audio, video, voice notes, video notes
and animations are fetched with ``getFile`` and the Bot API's file download
(``/file/bot<token>/<path>``, through the same injected session as every
other call) into ``<workspace>/uploads/telegram/<chat>/<message>-<name>``.
A file above ``maxFileSize`` — by its announced size, or by what actually
arrives — is refused before or while downloading, and nothing half-written
stays behind.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from aiogram import Bot
from aiogram.methods import GetFile
from aiogram.types import Message

from channels.telegram.errors import TelegramChannelError, TelegramUnreachable
from channels.telegram.send import Sender
from core.inbound import Attachment

__all__ = ["FileSaver", "FileTooLarge", "incoming_file"]

UPLOADS = Path("uploads") / "telegram"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class FileTooLarge(TelegramChannelError):
    """A file above the channel's ``maxFileSize``."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"the file is {size / 1e6:.1f} MB; the limit is {limit / 1e6:.1f} MB")


@dataclass(frozen=True, slots=True)
class IncomingFile:
    file_id: str
    name: str
    mime_type: str
    size: int | None
    kind: str


def incoming_file(message: Message) -> IncomingFile | None:
    """The file a message carries, if any (stickers are not files here: they are emoji)."""
    if message.photo:
        photo = max(message.photo, key=lambda p: p.width * p.height)
        return IncomingFile(photo.file_id, "photo.jpg", "image/jpeg", photo.file_size, "photo")
    for kind in ("document", "audio", "video", "voice", "video_note", "animation"):
        item = getattr(message, kind, None)
        if item is not None:
            name = getattr(item, "file_name", None) or f"{kind}.bin"
            mime = getattr(item, "mime_type", None) or "application/octet-stream"
            return IncomingFile(item.file_id, name, mime, item.file_size, kind)
    return None


class FileSaver:
    """Downloads files into the workspace."""

    def __init__(self, bot: Bot, sender: Sender, workspace: Path, max_size: int) -> None:
        self.bot = bot
        self.sender = sender
        self.workspace = workspace
        self.max_size = max_size

    async def save(self, message: Message, item: IncomingFile) -> Attachment:
        """Download ``item`` of ``message``; its path relative to the workspace."""
        if item.size is not None and item.size > self.max_size:
            raise FileTooLarge(item.size, self.max_size)
        info = await self.sender.call(GetFile(file_id=item.file_id), f"chat {message.chat.id}")
        if info.file_size is not None and info.file_size > self.max_size:
            raise FileTooLarge(info.file_size, self.max_size)
        if not info.file_path:
            raise TelegramUnreachable(f"getFile gave no path for a file in chat {message.chat.id}")
        safe = _UNSAFE.sub("_", Path(item.name).name).strip("._")[:80] or item.kind
        relative = UPLOADS / str(message.chat.id) / f"{message.message_id}-{safe}"
        await self._download(info.file_path, self.workspace / relative)
        return Attachment(path=relative.as_posix(), mime_type=item.mime_type, name=item.name)

    async def _download(self, file_path: str, destination: Path) -> None:
        url = self.bot.session.api.file_url(self.bot.token, file_path)
        destination.parent.mkdir(parents=True, exist_ok=True)
        partial = destination.with_name(destination.name + ".part")
        size = 0
        try:
            with partial.open("wb") as out:
                async for chunk in self.bot.session.stream_content(url, timeout=120):
                    size += len(chunk)
                    if size > self.max_size:
                        raise FileTooLarge(size, self.max_size)
                    out.write(chunk)
            partial.replace(destination)
        except aiohttp.ClientResponseError as exc:  # its text holds the URL, token and all
            raise TelegramUnreachable(f"downloading a file failed: HTTP {exc.status}") from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise TelegramUnreachable(f"downloading a file failed: {type(exc).__name__}") from exc
        finally:
            with contextlib.suppress(FileNotFoundError):
                partial.unlink()
