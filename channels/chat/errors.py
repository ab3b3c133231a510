"""The chat layer's errors: one base that every platform's errors derive from.

    ChatError (FacioError)
    ├── FileTooLarge         a file above the channel's limit: refused with a note
    ├── FileNotSaved         the file system refused a file (no room, a link in the way)
    ├── PlatformUnreachable  no usable answer (network, 5xx): trying again may help
    └── <platform>Error      each platform's own tree (channels.telegram.errors, …),
                             mapped from its library's errors in one place there (its
                             "unreachable" error also derives from PlatformUnreachable)

The shared layer catches :class:`ChatError` where a platform call may fail
for a reason retrying will not fix (a blocked bot, a deleted chat): it logs
the failure with the chat and goes on. Redis errors are not chat errors: they
propagate, so the update is retried or the event left pending.
"""

from __future__ import annotations

from core.errors import FacioError

__all__ = ["ChatError", "FileNotSaved", "FileTooLarge", "PlatformUnreachable"]


class ChatError(FacioError):
    """Base of the errors a chat platform raises."""


class PlatformUnreachable(ChatError):
    """The platform gave no usable answer after the client's own retries: a later try
    may succeed (the chat layer tries a final answer again rather than lose it)."""


class FileTooLarge(ChatError):
    """A file above the channel's ``maxFileSize``."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"the file is {size / 1e6:.1f} MB; the limit is {limit / 1e6:.1f} MB")


class FileNotSaved(ChatError):
    """A file could not be written in the workspace; the message names the reason and
    the path relative to the workspace, never the server's absolute one."""
