"""`worker`: how many sessions one worker process runs at once."""

from __future__ import annotations

from pydantic import Field

from core.config.models_base import ConfigModel

__all__ = ["WorkerConfig"]


class WorkerConfig(ConfigModel):
    """A `facio worker` (and the worker inside `facio up`)."""

    max_jobs: int = Field(default=1000, ge=1, le=100_000)
    """Sessions one worker runs at once: turns waiting on the model, running tools, or
    holding an approval. A waiting turn costs little (a few KB and no Redis traffic of its
    own), so this bounds memory and the model API's concurrency, not CPU; code actions
    are bounded apart (`code.maxKernels`). When every slot is taken and work waits, turns
    holding an approval park at once, freeing theirs. `facio worker --max-jobs` overrides it."""
