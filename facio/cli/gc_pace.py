"""The garbage collector's pace in facio's long-running processes.

``facio worker``, ``facio up`` and ``facio gateway`` call :func:`pace_gc`
before they start serving; the SDK and the short commands leave the
interpreter's settings alone (they are the embedding program's to choose).

CPython's default thresholds (700, 10, 10) move every container that lives
through about 7,000 allocations into the oldest generation, and collect that
generation whenever the objects moved there since its last collection reach a
quarter of those in it — whether they have been freed meanwhile or not. A
worker holding 10,000 waiting turns holds about 2.2 million objects; with the
defaults the churn of its ordinary work (lease renewals, polls, new turns)
triggered a full collection about every 50 s, each stopping its event loop for
1.3-1.7 s — every turn's progress, and a new message's start, waited. With
:data:`THRESHOLDS` the same worker ran 200 s without a full collection, its
loop never late by more than 0.1 s; a young collection then scans at most
50,000 objects, a few milliseconds (docs/runtime.md, "What a turn costs").
"""

from __future__ import annotations

import gc

__all__ = ["THRESHOLDS", "pace_gc"]

THRESHOLDS = (50_000, 20, 100)
"""Young generation size, then how many collections of each generation run before
the next older one is considered."""


def pace_gc() -> None:
    """Set :data:`THRESHOLDS` for this process."""
    gc.set_threshold(*THRESHOLDS)
