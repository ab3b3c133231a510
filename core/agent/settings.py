"""The knobs of one agent, independent of where they came from (config, SDK)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AgentSettings:
    model: str = "default"
    """The model name the provider is asked for (without the ``provider:`` prefix)."""
    system_prompt: str = ""
    max_turns: int = 50
    """Model calls one ``stream()`` may make before it stops and says so."""
    approval_timeout: float = 3600.0
    """Seconds a pending approval waits; then it counts as rejected."""
    execution_timeout: float = 300.0
    """Seconds one tool call may run (approval waits excluded)."""
    max_tokens: int = 4096
    max_subagents: int = 0
    """Subagents (``subagent_task``) running at once per turn; 0: the tool is not offered."""

    def __post_init__(self) -> None:
        if self.max_subagents < 0:
            raise ValueError(f"max_subagents must be 0 or more, not {self.max_subagents}")
