"""HTTP mode: events and clicks on the gateway's path, signed as Slack signs them; bad requests."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis.asyncio import Redis

from channels.slack.http import MAX_BODY
from tests.fakes.slack_http import (
    Signing,
    post_event,
    post_interactive,
    post_signed,
    sign,
    url_verification,
)
from tests.fakes.slack_payloads import event_callback, message_event
from tests.fakes.slack_server import FakeSlack
from tests.integration.slack.support import card_of, running, slack_config, texts

HELLO = "Hi *there*! Ask me `anything`."


@pytest.fixture
async def http_gateway(
    slack: FakeSlack, redis: Redis, redis_url: str, tmp_path: Path
) -> AsyncIterator[tuple[str, str]]:
    """A gateway in http mode (no worker): its Request URL and the signing secret."""
    alice = slack.add_user("alice")
    config = slack_config(tmp_path, slack, allow=[alice.id], mode="http", appToken="")
    async with running(config, redis_url, slack, worker=False) as gateway:
        yield gateway.url + "/slack/events", slack.signing_secret


async def test_events_and_clicks_arrive_over_http_and_a_retry_is_one_turn(
    slack: FakeSlack, redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    alice = slack.add_user("alice")
    general = slack.add_channel("general", members=[alice])
    config = slack_config(tmp_path, slack, allow=[alice.id], mode="http", appToken="")
    async with running(config, redis_url, slack) as gateway:
        url = gateway.url + "/slack/events"
        assert (await url_verification(url, slack.signing_secret, challenge="c-1")).json() == {
            "challenge": "c-1"
        }
        said = slack.say(alice, general, f"<@{slack.bot_user_id}> hello")
        await slack.until(lambda: HELLO in texts(slack, general.id, said.ts))
        retry = await post_event(url, said.deliveries[0].payload, slack.signing_secret, retry_num=1)
        assert retry.status == 200
        slack.say(alice, general, "remember the deploy", thread_ts=said.ts)
        card = await slack.until(lambda: card_of(slack, general.id))
        click = slack.click(alice, general, card["ts"], "facio.approval.approve")
        await slack.until(lambda: "Done, saved." in texts(slack, general.id, said.ts))
    assert texts(slack, general.id, said.ts).count(HELLO) == 1
    assert all(d.mode == "http" and d.attempts[0].status == 200 for d in said.deliveries)
    assert click.acked and click.latency is not None and click.latency < 3
    assert not slack.connections(open_only=False)  # no Socket Mode in http mode


@pytest.mark.parametrize("signing", ["forged", "omitted", "stale", "tampered"])
async def test_what_slack_did_not_sign_is_refused_and_reaches_nothing(
    slack: FakeSlack, redis: Redis, redis_url: str, tmp_path: Path, signing: Signing
) -> None:
    alice = slack.add_user("alice")
    dm = slack.dm(alice)
    config = slack_config(tmp_path, slack, allow=[alice.id], mode="http", appToken="")
    async with running(config, redis_url, slack, worker=False) as gateway:
        url = gateway.url + "/slack/events"
        event = event_callback(message_event(alice, dm, "hello", ts="1700000000.000100"))
        refused = await post_event(url, event, slack.signing_secret, signing=signing)
        message = {"ts": "1700000000.000200", "text": "card", "type": "message"}
        click = await post_interactive(url, {"type": "block_actions", "message": message,
                                             "user": {"id": alice.id}, "actions": []},
                                       slack.signing_secret, signing=signing)  # fmt: skip
        verify = await url_verification(url, slack.signing_secret, signing=signing)
    assert (refused.status, click.status, verify.status) == (401, 401, 401)
    assert "challenge" not in verify.body
    assert not await redis.keys("facio:inbox:*") and not await redis.keys("facio:seen:*")
    assert not [c for c in slack.calls() if c.method not in ("auth.test",)]


async def _post_raw(
    url: str, body: bytes, secret: str, content_type: str = "application/json"
) -> tuple[int, str]:
    now = str(int(time.time()))
    headers = {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": now,
        "X-Slack-Signature": sign(secret, now, body),
    }
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=body, headers=headers) as reply,
    ):
        return reply.status, await reply.text()


async def test_malformed_deep_non_utf8_and_oversize_bodies_get_a_short_4xx(
    slack: FakeSlack, redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    alice = slack.add_user("alice")
    dm = slack.dm(alice)
    config = slack_config(tmp_path, slack, allow=[alice.id], mode="http", appToken="")
    secret = slack.signing_secret
    async with running(config, redis_url, slack, worker=False) as gateway:
        url = gateway.url + "/slack/events"
        cases = {
            "not json": b"{not json",
            "not an object": b"[1, 2, 3]",
            "deep": b'{"a":' * 5000 + b"1" + b"}" * 5000,
            "not utf-8": b'{"type": "event_callback", "x": "\xff\xfe"}',
            "event not an object": json.dumps({"type": "event_callback", "event": "x"}).encode(),
            "team not text": json.dumps(
                {"type": "event_callback", "team_id": 5, "event": {"type": "message"}}
            ).encode(),
            "form without payload": b"hello=world",
            "payload not json": b"payload=%7Bnope",
        }
        answers = {
            name: await _post_raw(
                url,
                body,
                secret,
                "application/x-www-form-urlencoded" if name.startswith(("form", "payload")) else
                "application/json",
            )
            for name, body in cases.items()
        }  # fmt: skip
        big = await post_signed(url, b"{" + b" " * MAX_BODY + b"}", "application/json", secret)
        event = event_callback(message_event(alice, dm, "still fine", ts="1700000000.000300"))
        fine = await post_event(url, event, secret)
    for name, (status, text) in answers.items():
        assert status == 400, (name, status, text)
        assert len(text) < 200
    assert big.status == 413 and len(big.body) < 200
    assert fine.status == 200


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    body=st.one_of(
        st.binary(max_size=300),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=20),
            lambda inner: (
                st.lists(inner, max_size=4)
                | st.dictionaries(
                    st.sampled_from(
                        [
                            "type",
                            "event",
                            "team_id",
                            "user",
                            "actions",
                            "channel",
                            "container",
                            "team",
                            "message",
                            "text",
                            "ts",
                            "payload",
                        ]
                    ),
                    inner,
                    max_size=5,
                )
            ),
            max_leaves=20,
        ).map(lambda v: json.dumps(v).encode()),
    ),
    form=st.booleans(),
)
async def test_any_signed_body_gets_an_answer_below_500(
    http_gateway: tuple[str, str], body: bytes, form: bool
) -> None:
    """Hypothesis: whatever a signed request carries, never a 5xx and never the body echoed."""
    url, secret = http_gateway
    if form:
        body = b"payload=" + body
    content_type = "application/x-www-form-urlencoded" if form else "application/json"
    status, text = await _post_raw(url, body, secret, content_type)
    assert status < 500, (status, text)
    assert len(text) < 300
