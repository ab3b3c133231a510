"""Reading a drain job from its payload (workers.queue.drain_job): what a worker
trusts from Redis before it starts a job without arq's checks."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from workers.inbox import DRAIN_JOB
from workers.queue import drain_job, dumps


def _payload(function: object = DRAIN_JOB, args: object = ("api:s",), **extra: object) -> bytes:
    job = {"t": None, "f": function, "a": args, "k": {}, "et": 1_700_000_000_000, **extra}
    return dumps(job)


def test_a_drain_job_gives_its_session_and_enqueue_time() -> None:
    assert drain_job(_payload()) == ("api:s", 1_700_000_000_000)


def test_anything_else_is_left_to_arq() -> None:
    for payload in (
        None,
        b"",
        b"\xff\xfe",
        b"[]",
        b"{}",
        _payload(function="other"),
        _payload(args=[]),
        _payload(args=["a", "b"]),
        _payload(args=[7]),
        _payload(k={"x": 1}),
        _payload(et="soon"),
        _payload(et=True),
    ):
        assert drain_job(payload) is None, payload


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(st.binary(max_size=300))
def test_any_bytes_are_read_or_refused_never_raise(raw: bytes) -> None:
    job = drain_job(raw)
    assert job is None or (isinstance(job[0], str) and isinstance(job[1], int))


@given(
    st.fixed_dictionaries(
        {
            "f": st.sampled_from([DRAIN_JOB, "other"]) | json_values,
            "a": st.lists(st.text() | json_values, max_size=2) | json_values,
            "k": st.just({}) | json_values,
            "et": st.integers() | json_values,
        },
        optional={"t": json_values},
    )
)
def test_any_json_object_is_read_only_when_it_is_a_drain_job(fields: dict[str, object]) -> None:
    job = drain_job(json.dumps(fields).encode())
    if job is not None:
        assert fields["f"] == DRAIN_JOB and fields["a"] == [job[0]] and fields["k"] == {}
        assert fields["et"] == job[1]
