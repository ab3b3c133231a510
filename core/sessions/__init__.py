"""Session histories: the SessionStore seam and its in-process implementations."""

from core.sessions.jsonl import JsonlSessionStore
from core.sessions.store import MemorySessionStore, SessionStore

__all__ = ["JsonlSessionStore", "MemorySessionStore", "SessionStore"]
