"""Chat channels: one package per platform plus the local ones (terminal, api).

Platform adapters run in the gateway (:mod:`channels.gateway`), one package
each, registered in :mod:`channels.registry`: :mod:`channels.telegram` and
:mod:`channels.discord` so far (Slack follows their pattern), both translation
on top of the shared chat layer, :mod:`channels.chat`. The HTTP API channel is
:mod:`channels.api`; the terminal channel (``facio chat``) lives in
:mod:`channels.terminal`.
"""

__all__: list[str] = []
