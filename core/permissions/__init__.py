"""Permission rules: which tool calls may run without asking."""

from core.permissions.manager import PERMISSIONS_FILE, PermissionManager
from core.permissions.store import FilePermissionStore, MemoryPermissionStore, PermissionStore

__all__ = [
    "PERMISSIONS_FILE",
    "FilePermissionStore",
    "MemoryPermissionStore",
    "PermissionManager",
    "PermissionStore",
]
