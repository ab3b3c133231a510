"""The chat layer's errors: one base that every platform's errors derive from.

    ChatError (FacioError)
    ├── FileTooLarge      a file above the channel's limit: refused with a note
    └── <platform>Error   each platform's own tree (channels.telegram.errors, …),
                          mapped from its library's errors in one place there

The shared layer catches :class:`ChatError` where a platform call may fail
for a reason retrying will not fix (a blocked bot, a deleted chat): it logs
the failure with the chat and goes on. Redis errors are not chat errors: they
propagate, so the update is retried or the event left pending.
"""

from __future__ import annotations

from core.errors import FacioError

__all__ = ["ChatError", "FileTooLarge"]


class ChatError(FacioError):
    """Base of the errors a chat platform raises."""


class FileTooLarge(ChatError):
    """A file above the channel's ``maxFileSize``."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"the file is {size / 1e6:.1f} MB; the limit is {limit / 1e6:.1f} MB")
