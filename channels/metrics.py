"""Counters of the gateway process and their Prometheus text exposition.

No client library: the exposition format (``# HELP``/``# TYPE`` lines, then
``name{label="value"} number``) is a few lines of code, and the gateway's
figures are plain monotonic counters, one histogram (approval latency) and a
few gauges read from Redis at scrape time. A :class:`Metrics` object is shared by everything in one
gateway (the HTTP API now, the channel adapters and the outbox consumer
later); the worker side registers its own counters with :meth:`Metrics.counter`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

from channels.runtime import DecideOutcome, DecideResult

__all__ = ["APPROVAL_LATENCY_BUCKETS", "CONTENT_TYPE", "Counter", "Gauge", "Histogram", "Metrics"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
"""The media type Prometheus expects for the text format."""

APPROVAL_LATENCY_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 300.0, 900.0, 3600.0, 4 * 3600.0, 86400.0)
"""Upper bounds (seconds) of the approval latency buckets: a person answers in
seconds when the buttons are in front of them, in hours when they are not."""


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _sample(name: str, labels: dict[str, str], value: float) -> str:
    if not labels:
        return f"{name} {_number(value)}"
    inner = ",".join(f'{key}="{_escape(val)}"' for key, val in labels.items())
    return f"{name}{{{inner}}} {_number(value)}"


@dataclass
class Counter:
    """A monotonic counter, optionally split by a fixed set of labels."""

    name: str
    help: str
    labels: tuple[str, ...] = ()
    _values: dict[tuple[str, ...], float] = field(default_factory=dict, repr=False)

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        """Add ``amount`` (>= 0) to the series named by ``labels`` (exactly the declared ones)."""
        if amount < 0:
            raise ValueError(f"{self.name}: a counter only goes up")
        if set(labels) != set(self.labels):
            raise ValueError(f"{self.name}: labels must be {self.labels}, got {tuple(labels)}")
        key = tuple(str(labels[name]) for name in self.labels)
        self._values[key] = self._values.get(key, 0.0) + amount

    def value(self, **labels: str) -> float:
        """The current value of one series (0 when it never moved)."""
        return self._values.get(tuple(str(labels[name]) for name in self.labels), 0.0)

    def samples(self) -> list[tuple[dict[str, str], float]]:
        """Every series that moved: its labels and value."""
        return [
            (dict(zip(self.labels, key, strict=True)), value)
            for key, value in sorted(self._values.items())
        ]

    def render(self) -> list[str]:
        lines = [f"# HELP {self.name} {_escape(self.help)}", f"# TYPE {self.name} counter"]
        if not self.labels and not self._values:
            lines.append(_sample(self.name, {}, 0.0))
        for key, value in sorted(self._values.items()):
            lines.append(_sample(self.name, dict(zip(self.labels, key, strict=True)), value))
        return lines


@dataclass
class Histogram:
    """Observations counted into cumulative buckets, with their sum and count."""

    name: str
    help: str
    buckets: tuple[float, ...]
    """Upper bounds, ascending; ``+Inf`` is implied."""
    _counts: list[int] = field(default_factory=list, repr=False)
    _sum: float = 0.0
    _count: int = 0

    def __post_init__(self) -> None:
        if list(self.buckets) != sorted(set(self.buckets)):
            raise ValueError(f"{self.name}: bucket bounds must ascend, without repeats")
        self._counts = [0] * len(self.buckets)

    def observe(self, value: float) -> None:
        """Count one observation (a negative one, from clocks that disagree, counts as 0)."""
        value = max(value, 0.0)
        for index, bound in enumerate(self.buckets):
            if value <= bound:
                self._counts[index] += 1
        self._sum += value
        self._count += 1

    @property
    def count(self) -> int:
        return self._count

    @property
    def sum(self) -> float:
        return self._sum

    def render(self) -> list[str]:
        lines = [f"# HELP {self.name} {_escape(self.help)}", f"# TYPE {self.name} histogram"]
        for bound, count in zip(self.buckets, self._counts, strict=True):
            lines.append(_sample(f"{self.name}_bucket", {"le": _number(bound)}, count))
        lines.append(_sample(f"{self.name}_bucket", {"le": "+Inf"}, self._count))
        lines.append(_sample(f"{self.name}_sum", {}, self._sum))
        lines.append(_sample(f"{self.name}_count", {}, self._count))
        return lines


@dataclass(frozen=True)
class Gauge:
    """A value read at scrape time (queue depth, pending approvals)."""

    name: str
    help: str
    value: float

    def render(self) -> list[str]:
        return [
            f"# HELP {self.name} {_escape(self.help)}",
            f"# TYPE {self.name} gauge",
            _sample(self.name, {}, self.value),
        ]


class Metrics:
    """The gateway's counters; one instance per process, shared by its parts."""

    def __init__(self) -> None:
        self._counters: dict[str, Counter] = {}
        self.turns_submitted = self.counter(
            "facio_turns_submitted_total", "Turns queued by this gateway (duplicates excluded)."
        )
        self.approval_decisions = self.counter(
            "facio_approval_decisions_total",
            "Approval decide attempts by outcome (decided, not_found, already_decided, …).",
            ("outcome",),
        )
        self.http_requests = self.counter(
            "facio_http_requests_total",
            "HTTP requests answered, by route pattern and status code.",
            ("route", "status"),
        )
        self.errors = self.counter(
            "facio_errors_total", "Unexpected errors caught at a request or loop boundary."
        )
        self.approval_latency = Histogram(
            "facio_approval_latency_seconds",
            "Seconds from an approval's creation to its decision, for decisions made "
            "through this gateway (expiries excluded).",
            APPROVAL_LATENCY_BUCKETS,
        )

    def record_decision(self, result: DecideResult) -> None:
        """Count a decide attempt by outcome; time the approval when it was decided.

        Every place that decides (the API, a chat button) calls this once per attempt.
        """
        self.approval_decisions.inc(outcome=result.outcome.value)
        record = result.record
        if result.outcome is DecideOutcome.DECIDED and record and record.decided_at is not None:
            self.approval_latency.observe(record.decided_at - record.created_at)

    def counter(self, name: str, help: str, labels: tuple[str, ...] = ()) -> Counter:
        """Register a counter (or return the one already registered under ``name``)."""
        existing = self._counters.get(name)
        if existing is not None:
            if existing.labels != labels:
                raise ValueError(f"{name} is registered with labels {existing.labels}")
            return existing
        created = Counter(name, help, labels)
        self._counters[name] = created
        return created

    def render(self, gauges: Iterable[Gauge] = ()) -> str:
        """The exposition text: every counter, the approval latency, then the gauges given."""
        lines: list[str] = []
        for counter in self._counters.values():
            lines.extend(counter.render())
        lines.extend(self.approval_latency.render())
        for gauge in gauges:
            lines.extend(gauge.render())
        return "\n".join(lines) + "\n"
