"""Files people share with the bot, fetched from Slack into the workspace.

A ``file_share`` message carries its files' ``url_private_download``; the
download needs the bot token as a Bearer header (and the ``files:read``
scope): without it Slack answers its sign-in page, HTML, after a redirect —
that is told apart from a file by the redirect and its content type. The
token is sent only to Slack's own hosts (``*.slack.com``) or to ``apiBase``'s
host, whatever URL an event names. A file whose event has no URL
(``file_access: check_file_info``) is looked up with ``files.info`` first.
Where it lands and how size limits apply is :mod:`channels.chat.files`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp

from channels.chat.files import check_size, save_upload
from channels.chat.intake import Incoming, IncomingFile
from channels.slack.errors import RequestRefused, SlackUnreachable
from channels.slack.web import SlackApi
from core.inbound import Attachment

__all__ = ["DOWNLOAD_TIMEOUT", "FileSaver"]

DOWNLOAD_TIMEOUT = 120
CHUNK = 64 * 1024


class FileSaver:
    """Downloads shared files into the workspace (the chat layer's ``FileSource``)."""

    def __init__(
        self,
        api: SlackApi,
        session: aiohttp.ClientSession,
        token: str,
        workspace: Path,
        max_size: int,
        *,
        api_host: str = "",
    ) -> None:
        self.api = api
        self.session = session
        self.token = token
        self.workspace = workspace
        self.max_size = max_size
        self.api_host = api_host

    def _trusted(self, url: str) -> bool:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        if parts.scheme not in ("https", "http"):
            return False
        if parts.scheme == "https" and (host == "slack.com" or host.endswith(".slack.com")):
            return True
        return bool(self.api_host) and host == self.api_host

    async def save(self, incoming: Incoming, file: IncomingFile, name: str) -> Attachment:
        """Download ``file`` of ``incoming`` as ``uploads/<name>``; its path relative to
        the workspace."""
        check_size(file.size, self.max_size)
        url = file.ref
        if url.startswith("id:"):
            info = await self.api.get("files.info", file=url[3:])
            found = info.get("file") or {}
            check_size(
                found.get("size") if isinstance(found.get("size"), int) else None, self.max_size
            )
            url = str(found.get("url_private_download") or found.get("url_private") or "")
        if not self._trusted(url):
            raise RequestRefused(f"a shared file's URL is not Slack's ({urlsplit(url).hostname})")
        try:
            relative = await save_upload(
                self._chunks(url), self.workspace, incoming.session_key, name, self.max_size
            )
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise SlackUnreachable(f"downloading a file failed: {type(exc).__name__}") from exc
        return Attachment(path=relative.as_posix(), mime_type=file.mime_type, name=file.name)

    async def _chunks(self, url: str) -> AsyncIterator[bytes]:
        headers = {"Authorization": f"Bearer {self.token}"}
        timeout = aiohttp.ClientTimeout(total=DOWNLOAD_TIMEOUT)
        async with self.session.get(
            url, headers=headers, timeout=timeout, allow_redirects=False
        ) as reply:
            if reply.status in (301, 302, 303, 307, 308) or reply.content_type == "text/html":
                raise RequestRefused(
                    "Slack answered a file download with its sign-in page: the app needs the "
                    "files:read scope (reinstall it after adding the scope)"
                )
            if reply.status != 200:
                raise SlackUnreachable(f"downloading a file failed: HTTP {reply.status}")
            async for chunk in reply.content.iter_chunked(CHUNK):
                yield chunk
