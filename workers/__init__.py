"""The distributed runtime's workers (arq jobs, drain protocol, outbox, cron).

Built by the distributed-runtime issue; empty until then.
"""

__all__: list[str] = []
