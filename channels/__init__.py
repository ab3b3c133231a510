"""Chat channels: one package per platform plus the local ones (terminal, api).

The platform adapters arrive with the channel issues; the terminal channel
(``facio chat``) lives in :mod:`channels.terminal`.
"""

__all__: list[str] = []
