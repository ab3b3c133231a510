"""The failed sign-in limiter: a sliding window per address, bounded memory."""

from __future__ import annotations

from channels.api.ratelimit import FailureLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_an_address_is_limited_after_the_limit_until_its_oldest_failure_ages_out() -> None:
    clock = Clock()
    limiter = FailureLimiter(3, 60.0, clock=clock)
    for step in range(3):
        assert limiter.retry_after("a") is None
        limiter.failed("a")
        clock.now += 10 * (step + 1)  # failures at 1000, 1010, 1030
    clock.now = 1050.0
    assert limiter.retry_after("a") == 10  # the one at 1000 ages out at 1060
    assert limiter.retry_after("b") is None  # others are not affected
    clock.now = 1060.0
    assert limiter.retry_after("a") is None  # one slot free again
    limiter.failed("a")
    clock.now = 1069.5
    assert limiter.retry_after("a") == 1  # the one at 1010 ages out at 1070 (whole seconds, up)


def test_memory_stays_bounded_and_aged_addresses_go_first() -> None:
    clock = Clock()
    limiter = FailureLimiter(2, 60.0, clock=clock, max_clients=3)
    for client in ("a", "b", "c"):
        limiter.failed(client)
        limiter.failed(client)
    clock.now += 61  # a, b, c age out
    limiter.failed("d")
    assert all(limiter.retry_after(c) is None for c in "abc")
    limiter.failed("d")
    for client in ("e", "f", "g"):  # all recent: the longest known go
        limiter.failed(client)
    assert len(limiter._failures) <= 3
    assert limiter.retry_after("d") is None
