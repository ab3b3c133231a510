"""The distributed runtime's worker side: the session drain protocol on Redis,
durable approvals, the outbox, and the arq worker. See docs/runtime.md."""

from workers.approval_record import ApprovalRecord, DecideOutcome, DecideResult, Decision
from workers.approvals import ApprovalStore
from workers.inbox import Submitted, TurnRequest, request_stop, submit
from workers.outbox import Outbox
from workers.outbox_reader import OutboxReader
from workers.redis_server import EmbeddedRedis, RedisUnavailableError
from workers.stores import RedisPermissionStore, RedisSessionStore

__all__ = [
    "ApprovalRecord",
    "ApprovalStore",
    "DecideOutcome",
    "DecideResult",
    "Decision",
    "EmbeddedRedis",
    "Outbox",
    "OutboxReader",
    "RedisPermissionStore",
    "RedisSessionStore",
    "RedisUnavailableError",
    "Submitted",
    "TurnRequest",
    "request_stop",
    "submit",
]
