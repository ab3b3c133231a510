"""Counters of the gateway process and their Prometheus text exposition.

No client library: the exposition format (``# HELP``/``# TYPE`` lines, then
``name{label="value"} number``) is a few lines of code, and the gateway's
figures are plain monotonic counters plus a few gauges read from Redis at
scrape time. A :class:`Metrics` object is shared by everything in one
gateway (the HTTP API now, the channel adapters and the outbox consumer
later); the worker side registers its own counters with :meth:`Metrics.counter`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

__all__ = ["CONTENT_TYPE", "Counter", "Gauge", "Metrics"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
"""The media type Prometheus expects for the text format."""


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

    def render(self) -> list[str]:
        lines = [f"# HELP {self.name} {_escape(self.help)}", f"# TYPE {self.name} counter"]
        if not self.labels and not self._values:
            lines.append(_sample(self.name, {}, 0.0))
        for key, value in sorted(self._values.items()):
            lines.append(_sample(self.name, dict(zip(self.labels, key, strict=True)), value))
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
        """The exposition text: every counter, then the gauges given."""
        lines: list[str] = []
        for counter in self._counters.values():
            lines.extend(counter.render())
        for gauge in gauges:
            lines.extend(gauge.render())
        return "\n".join(lines) + "\n"
