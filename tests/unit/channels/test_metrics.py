"""The Prometheus histogram of the gateway's metrics (approval latency)."""

from __future__ import annotations

import pytest

from channels.metrics import Histogram, Metrics


def test_buckets_are_cumulative_with_sum_and_count() -> None:
    histogram = Histogram("h_seconds", "Help.", (1.0, 5.0, 60.0))
    for value in (0.5, 1.0, 3.0, 120.0, -2.0):  # -2: clocks that disagree count as 0
        histogram.observe(value)
    assert histogram.render() == [
        "# HELP h_seconds Help.",
        "# TYPE h_seconds histogram",
        'h_seconds_bucket{le="1"} 3',
        'h_seconds_bucket{le="5"} 4',
        'h_seconds_bucket{le="60"} 4',
        'h_seconds_bucket{le="+Inf"} 5',
        "h_seconds_sum 124.5",
        "h_seconds_count 5",
    ]
    assert (histogram.count, histogram.sum) == (5, 124.5)


def test_bucket_bounds_must_ascend() -> None:
    with pytest.raises(ValueError, match="ascend"):
        Histogram("h", "Help.", (5.0, 1.0))


def test_the_approval_latency_is_exposed_before_any_decision() -> None:
    text = Metrics().render()
    assert "# TYPE facio_approval_latency_seconds histogram" in text
    assert 'facio_approval_latency_seconds_bucket{le="+Inf"} 0' in text
    assert "facio_approval_latency_seconds_count 0" in text
