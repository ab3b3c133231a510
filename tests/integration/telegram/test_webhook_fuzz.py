"""The webhook against generated updates (Hypothesis): Telegram-shaped ones with odd
values (ids at the edges, entities pointing outside the text, commands, topics, files,
clicks with any data) and plain garbage. The only answers are 200 (handled, or
malformed and skipped) and 401 (no secret); no update makes a handler fail, and the
gateway keeps serving."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from channels.gateway import Gateway
from channels.telegram.webhook import SECRET_HEADER, derive_secret
from tests.fakes.telegram_server import FakeTelegram
from tests.integration.telegram.support import tg_config
from tests.ports import free_port

EXAMPLES = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

ids = st.one_of(
    st.sampled_from([100, 200, 666, 0, -1, 2**31, 2**52, -(10**13)]), st.integers(-(2**63), 2**63)
)
people = st.fixed_dictionaries(
    {"id": ids, "is_bot": st.booleans(), "first_name": st.text(max_size=20)},
    optional={"username": st.sampled_from(["alice", "bob", "boss", ""]) | st.text(max_size=12)},
)
chats = st.fixed_dictionaries(
    {
        "id": ids,
        "type": st.sampled_from(["private", "group", "supergroup", "channel", "secret"]),
    },
    optional={"is_forum": st.booleans(), "title": st.text(max_size=10)},
)
entities = st.lists(
    st.fixed_dictionaries(
        {
            "type": st.sampled_from(["bot_command", "mention", "bold", "pre", "url", "weird"]),
            "offset": st.integers(-3, 60),
            "length": st.integers(-3, 60),
        },
        optional={"language": st.text(max_size=8), "user": people},
    ),
    max_size=4,
)
texts = st.one_of(
    st.text(max_size=60),
    st.sampled_from(["/new", "/stop", "/help", "/start", "/schedules", "/unschedule x"]),
    st.text(max_size=10).map(lambda t: "/new@facio_test_bot " + t),
)
files = st.fixed_dictionaries(
    {"file_id": st.text(max_size=12), "file_unique_id": st.text(max_size=12)},
    optional={
        "file_size": ids,
        "file_name": st.text(max_size=30),
        "mime_type": st.text(max_size=20),
    },
)


def _messages(depth: int = 1) -> st.SearchStrategy[dict[str, Any]]:
    optional: dict[str, st.SearchStrategy[Any]] = {
        "from": people,
        "text": texts,
        "entities": entities,
        "caption": st.text(max_size=30),
        "message_thread_id": ids,
        "is_topic_message": st.booleans(),
        "document": files,
        "photo": st.lists(files.map(lambda f: {**f, "width": 1, "height": 1}), max_size=2),
    }
    if depth:
        optional["reply_to_message"] = _messages(depth - 1)
    return st.fixed_dictionaries(
        {"message_id": ids, "date": st.integers(0, 2**40), "chat": chats}, optional=optional
    )


clicks = st.fixed_dictionaries(
    {"id": st.text(max_size=20), "from": people, "chat_instance": st.text(max_size=10)},
    optional={
        "data": st.one_of(st.text(max_size=80), st.sampled_from(["a:x:approve", "a::", "::::"])),
        "message": _messages(0),
    },
)
updates = st.one_of(
    st.builds(lambda i, m: {"update_id": i, "message": m}, ids, _messages()),
    st.builds(lambda i, m: {"update_id": i, "edited_message": m}, ids, _messages()),
    st.builds(lambda i, c: {"update_id": i, "callback_query": c}, ids, clicks),
    st.dictionaries(st.text(max_size=10), st.integers() | st.text(max_size=10), max_size=3),
)
bodies = st.one_of(
    updates.map(lambda u: json.dumps(u).encode()),
    st.binary(max_size=200),
    st.integers(65, 5_000).map(lambda n: b'{"update_id": 1, "message": ' * n),
)


@pytest.fixture
def tg() -> Iterator[FakeTelegram]:
    with FakeTelegram() as fake:
        yield fake


@pytest.fixture
async def hook(redis_url: str, tmp_path: Path, tg: FakeTelegram) -> AsyncIterator[str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}/tg/hook"
    config = tg_config(tmp_path, tg, mode="webhook", webhookUrl=url)
    config = config.model_copy(
        update={"gateway": config.gateway.model_copy(update={"host": "127.0.0.1", "port": port})}
    )
    async with Gateway(config, redis_url):  # no worker: turns just queue
        await tg.until(lambda: tg.webhook)
        yield url


@EXAMPLES
@given(body=bodies, signed=st.sampled_from([True, True, True, False]))
async def test_any_update_is_answered_200_or_401_and_never_fails_a_handler(
    hook: str, tg: FakeTelegram, body: bytes, signed: bool, caplog: pytest.LogCaptureFixture
) -> None:
    headers = {"Content-Type": "application/json"}
    if signed:
        headers[SECRET_HEADER] = derive_secret(tg.token)
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        async with aiohttp.ClientSession() as client:
            async with client.post(hook, data=body, headers=headers) as reply:
                assert reply.status == (200 if signed else 401), await reply.text()
            async with client.get(hook.rsplit("/tg/", 1)[0] + "/healthz") as health:
                assert health.status in (200, 503)  # serving (degraded is still an answer)
    skipped = any("malformed" in r.getMessage() for r in caplog.records)
    event("skipped as malformed" if skipped else "handled" if signed else "refused")
    failed = [r for r in caplog.records if r.levelno >= logging.ERROR and not _aiohttp_orphan(r)]
    assert not failed, [r.getMessage() for r in failed]


def _aiohttp_orphan(record: logging.LogRecord) -> bool:
    """asyncio's note that the garbage collector found one of aiohttp's own idle
    keep-alive connection tasks (``RequestHandler.start``) of an earlier example still
    pending (aio-libs/aiohttp#7551): whenever a collection happens to run, not a
    handler of facio failing."""
    message = record.getMessage()
    return (
        record.name == "asyncio"
        and message.startswith("Task was destroyed but it is pending!")
        and "coro=<RequestHandler.start()" in message
    )
