"""The runtime benchmark's table (tests/bench/test_runtime.py)."""

from __future__ import annotations

from typing import Any

from tests.bench.runtime_support import Stat
from workers.worker import POLL_DELAY

Report = dict[str, Any]


def _ms(value: float) -> str:
    return f"{value * 1000:.2f}"


def _row(label: str, s: Stat, base: float | None = None) -> str:
    ratio = f"{s.median / base:7.1f}" if base else ""
    return f"{label:58} {_ms(s.median):>9} {_ms(s.p99):>8} {s.n:4} {ratio}"


def print_report(report: Report) -> None:
    """Print every figure of ``report``, with N and the SDK ratio where it applies."""
    base = report["sdk_jsonl"].median
    print("\n\nruntime benchmark (gateway + worker processes, redis-server over TCP, AOF on)")
    print(f"{'inbound → turn start':58} {'median ms':>9} {'p99 ms':>8} {'N':>4} {'× SDK':>7}")
    rows = [
        ("SDK in process, JSONL store (baseline): → first event", report["sdk_jsonl"]),
        ("SDK in process, memory store: → first event", report["sdk_memory"]),
        ("POST /messages → turn_started (worker stamp)", report["start_api"][0]),
        ("POST /messages → turn_started seen on SSE", report["start_api"][1]),
        ("submit() → turn_started, doorbell", report["start_direct"]),
        (f"submit() → turn_started, no doorbell (poll {POLL_DELAY}s)", report["start_poll"]),
    ]
    for label, s in rows:
        print(_row(label, s, base))
    print(f"\n{'approval click → tool_output':58} {'median ms':>9} {'p99 ms':>8} {'N':>4}")
    held = report["held"][0].median
    for label, key in (("held (approvalHold 120)", "held"), ("parked (approvalHold 0)", "parked")):
        stamped, seen = report[key]
        print(_row(f"{label}, worker stamp", stamped, held))
        print(_row(f"{label}, seen on SSE", seen))
    print("  (ratio: × held, worker stamp)")
    print(f"\nidle CPU over {report['idle_seconds']:.0f} s (% of one core)")
    for name, value in report["idle"].items():
        print(f"  {name:14} {value:6.2f} %")
    memory = report["memory"]
    sessions, turns = memory["sessions"], memory["turns"]
    kib = 1024
    print(f"\nmemory per idle session ({sessions} sessions × {turns} turns)")
    print(
        f"  redis used_memory growth per session: {memory['redis_used_per_session'] / kib:.2f} KiB"
    )
    for name, value in memory["families"].items():
        print(f"    {name:26} {value / kib:8.2f} KiB")
    print(
        f"  one session: history {memory['history_len']} messages = {memory['history_sample']} B,"
        f" event stream {memory['events_len']} entries = {memory['events_sample']} B"
    )
    rss = report["rss"]
    print(
        f"  worker RSS growth per new session (1 turn each, {rss['sessions']} sessions,"
        f" after {sessions * turns} warm-up turns):"
        f" {rss['per_session'] / kib:.2f} KiB (RSS {rss['mb']:.1f} MiB)"
    )
