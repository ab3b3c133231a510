"""Chat channels: one package per platform plus the local ones (terminal, api).

Platform adapters run in the gateway (:mod:`channels.gateway`), one package
each, registered in :mod:`channels.registry`: :mod:`channels.telegram` so
far (Slack and Discord follow its pattern). The HTTP API channel is
:mod:`channels.api`; the terminal channel (``facio chat``) lives in
:mod:`channels.terminal`.
"""

__all__: list[str] = []
