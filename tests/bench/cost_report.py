"""The runtime cost benchmark's table (tests/bench/test_runtime_cost.py): each figure,
its plain-arq (or facio-at-rest) baseline from the same run, and the ratio."""

from __future__ import annotations

from typing import Any

from tests.bench.cost_commands import Commands
from tests.bench.cost_load import Drained
from tests.bench.runtime_support import Stat

Report = dict[str, Any]


def _ratio(value: float, base: float) -> str:
    return f"{value / base:8.2f}×" if base else "       —"


def _line(label: str, value: str, base: str, ratio: str) -> None:
    print(f"  {label:46} {value:>16} {base:>16} {ratio:>9}")


def _pct(value: float) -> str:
    return f"{value:.2f} %"


def _ms(s: Stat) -> str:
    return f"{s.median * 1000:.1f} / {s.p99 * 1000:.1f}"


def _waiting(r: Report) -> None:
    print(
        "\nwaiting turns (% of one core over 10 s, 30 s with 10,000;"
        " baseline: plain arq, the same jobs sleeping)"
    )
    _line("", "facio", "arq", "ratio")
    for n_key, cpu_key in (("first", "cpu_first"), ("most", "cpu_most")):
        n, arq_n = r[f"in_flight_{n_key}"], r[f"arq_in_flight_{n_key}"]
        _line(f"in flight (asked {n_key})", str(n), str(arq_n), "")
        for proc in ("worker", "redis"):
            ours, base = r[cpu_key][proc], r[f"arq_{cpu_key}"][proc]
            _line(f"  {proc} CPU with {n:,} in flight", _pct(ours), _pct(base), _ratio(ours, base))
        _line(f"  gateway CPU with {n:,} in flight", _pct(r[cpu_key]["gateway"]), "—", "")
    _line(
        "facio at rest: worker / redis / gateway",
        " / ".join(f"{r['cpu_idle'][p]:.2f}" for p in ("worker", "redis", "gateway")) + " %",
        "",
        "",
    )
    _line(
        f"worker RSS with {r['in_flight_most']:,} in flight", f"{r['rss_most_mb']:.0f} MiB", "", ""
    )
    print("\nnew message → turn_started, median / p99 ms (baseline: none in flight)")
    idle = r["start_idle"]
    for key, label in (
        ("start_first", "with 1,000 in flight"),
        ("start_most", "with 10,000 in flight"),
    ):
        _line(f"{label} (N={r[key].n})", _ms(r[key]), _ms(idle), _ratio(r[key].median, idle.median))
    arq = r["arq_start_first"]
    _line(f"arq beside 1,000 sleeping jobs, poll 0.5 s (N={arq.n})", _ms(arq), "", "")


def _commands(r: Report) -> None:
    ours, base = r["commands"], r["arq_commands"]
    assert isinstance(ours, Commands) and isinstance(base, Commands)
    print(f"\nRedis commands per plain turn (MONITOR, N={ours.units}; baseline: a plain arq job)")
    _line("", "facio", "arq", "ratio")
    _line(
        "sent by the processes (a script call is one)",
        f"{ours.client:.1f}",
        f"{base.client:.1f}",
        _ratio(ours.client, base.client),
    )
    _line("run inside scripts", f"{ours.script:.1f}", f"{base.script:.1f}", "")
    _line("all", f"{ours.total:.1f}", f"{base.total:.1f}", _ratio(ours.total, base.total))
    _line(
        "background, per second (subtracted)",
        f"{ours.background_per_s:.1f}",
        f"{base.background_per_s:.1f}",
        "",
    )
    trips, arq_trips = r["round_trips"], r["arq_round_trips"]
    _line(
        "worker round trips per turn (in process)",
        f"{trips:.1f}",
        f"{arq_trips:.1f}",
        _ratio(trips, arq_trips),
    )
    print("  facio's most frequent: " + ", ".join(f"{k} {v:.1f}" for k, v in ours.top))
    print("  arq's most frequent:   " + ", ".join(f"{k} {v:.1f}" for k, v in base.top))


def _load(r: Report) -> None:
    print(
        "\nbacklog of 400 drained, model 50 ms, --max-jobs 50 (median of rounds;"
        " baseline: arq jobs sleeping 50 ms)"
    )
    _line("", "facio", "arq", "ratio")
    for count in (1, 2):
        ours, base = r[f"load_{count}"], r[f"arq_load_{count}"]
        assert isinstance(ours, Drained) and isinstance(base, Drained)
        _line(
            f"{count} worker(s): turns/s",
            f"{ours.per_s:.1f}",
            f"{base.per_s:.1f}",
            _ratio(ours.per_s, base.per_s),
        )
        _line(
            f"{count} worker(s): CPU ms per turn, all processes",
            f"{ours.total_cpu_ms:.2f}",
            f"{base.total_cpu_ms:.2f}",
            _ratio(ours.total_cpu_ms, base.total_cpu_ms),
        )
        for kind in ("worker", "gateway", "redis"):
            _line(
                f"    {kind}",
                f"{ours.cpu_ms[kind]:.2f}",
                f"{base.cpu_ms.get(kind, 0):.2f}" if kind in base.cpu_ms else "—",
                "",
            )
    one, two = r["load_1"], r["load_2"]
    _line(
        "second worker: turns/s, 2 workers vs 1",
        f"{two.per_s:.1f}",
        f"{one.per_s:.1f}",
        _ratio(two.per_s, one.per_s),
    )


def _history(r: Report) -> None:
    short, long = r["history"][0], r["history"][max(r["history"])]
    print("\nworker CPU ms per turn vs history length (baseline: empty history)")
    _line("", f"{max(r['history'])} messages", "0 messages", "ratio")
    _line(
        "a session's first turn on this worker",
        f"{long.first_ms:.2f}",
        f"{short.first_ms:.2f}",
        _ratio(long.first_ms, short.first_ms),
    )
    _line(
        "its later turns",
        f"{long.later_ms:.2f}",
        f"{short.later_ms:.2f}",
        _ratio(long.later_ms, short.later_ms),
    )
    extra = long.first_ms - short.first_ms
    print("  a first turn's extra CPU vs reading the history with the raw libraries")
    _line("", "facio", "raw libraries", "ratio")
    _line(
        f"{max(r['history'])} messages, CPU ms per history",
        f"{extra:.2f}",
        f"{long.raw_read_ms:.2f}",
        _ratio(extra, long.raw_read_ms),
    )


def print_cost_report(report: Report) -> None:
    print(
        "\n\nruntime cost beside plain arq 0.28 (gateway + workers, redis-server over TCP, AOF on)"
    )
    _waiting(report)
    _commands(report)
    _load(report)
    _history(report)
