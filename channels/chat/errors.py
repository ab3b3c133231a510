"""The chat layer's errors: one base that every platform's errors derive from.

    ChatError (FacioError)
    ├── FileTooLarge         a file above the channel's limit: refused with a note
    ├── PlatformUnreachable  no usable answer (network, 5xx): trying again may help
    ├── MaybeDelivered       a new message went out and its answer was lost (a timeout, a
    │                        dropped connection): it may have landed, so it is not sent
    │                        again blindly (platforms that can tell say so themselves)
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

__all__ = ["ChatError", "FileTooLarge", "MaybeDelivered", "PlatformUnreachable"]


class ChatError(FacioError):
    """Base of the errors a chat platform raises."""


class PlatformUnreachable(ChatError):
    """The platform gave no usable answer after the client's own retries: a later try
    may succeed (the chat layer tries a final answer again rather than lose it)."""


class MaybeDelivered(ChatError):
    """A new message was sent and the platform's answer never came back: it may be in
    the chat. The platform had no way to tell (Slack reads the conversation back,
    Discord dedupes by nonce; the Bot API can do neither), so sending it again could
    post it twice. The chat layer does not repeat it; a streamed answer's final text is
    sent once more only if it differs from what that message was sent with."""


class FileTooLarge(ChatError):
    """A file above the channel's ``maxFileSize``."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"the file is {size / 1e6:.1f} MB; the limit is {limit / 1e6:.1f} MB")
