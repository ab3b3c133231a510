"""The agent loop."""

from core.agent.agent import Agent
from core.agent.settings import AgentSettings

__all__ = ["Agent", "AgentSettings"]
