"""The fake's HTTP mode: Slack's signed requests to a bolt ``AsyncApp`` behind aiohttp.

The signing is checked against slack_sdk's own ``SignatureVerifier``; bolt
accepts what the fake signs and answers 401 to forged, unsigned, stale and
tampered requests; unanswered or failed events come again with
``X-Slack-Retry-Num``/``X-Slack-Retry-Reason``.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from aiohttp import web
from slack_bolt.async_app import AsyncAck, AsyncRespond
from slack_sdk.signature import SignatureVerifier

from tests.fakes.slack_http import (
    Signing,
    event_body,
    post_event,
    post_interactive,
    signed_headers,
    url_verification,
)
from tests.fakes.slack_payloads import block_actions, event_callback, message_event
from tests.fakes.slack_server import FakeSlack
from tests.integration.fakes.bolt_support import http_app, new_app


@pytest.mark.parametrize(
    ("signing", "valid"),
    [("valid", True), ("forged", False), ("stale", False), ("tampered", False),
     ("omitted", False)],
)  # fmt: skip
def test_the_signature_is_slacks_as_slack_sdk_verifies_it(signing: Signing, valid: bool) -> None:
    secret = "8f742231b10e8888abcd99yyyzzz85a5"
    body, _ = event_body({"type": "event_callback", "event": {"type": "app_mention"}})
    headers = signed_headers(secret, body, signing=signing)
    verifier = SignatureVerifier(secret)
    timestamp = headers.get("X-Slack-Request-Timestamp")
    signature = headers.get("X-Slack-Signature")
    assert verifier.is_valid(body, timestamp, signature) is valid
    if signing == "valid":
        assert timestamp is not None
        assert signature == verifier.generate_signature(timestamp=timestamp, body=body)


async def test_events_and_clicks_reach_a_bolt_app_over_http(slack: FakeSlack) -> None:
    alice = slack.add_user("alice")
    general = slack.add_channel("general", members=[alice])
    app = new_app(slack, signing_secret=slack.signing_secret)
    mentions: list[dict[str, Any]] = []

    @app.event("app_mention")
    async def on_mention(event: dict[str, Any]) -> None:
        mentions.append(event)

    @app.event("message")
    async def on_message() -> None:
        return None

    @app.action("approve")
    async def approve(ack: AsyncAck, respond: AsyncRespond) -> None:
        await ack()
        await respond(replace_original=True, text="Approved")

    async with http_app(app) as url:
        slack.set_request_url(url)
        said = slack.say(alice, general, f"<@{slack.bot_user_id}> deploy?")
        await slack.until(lambda: all(d.acked for d in said.deliveries) and mentions)
        card = [
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "action_id": "approve",
                        "text": {"type": "plain_text", "text": "Approve"},
                        "value": "ap1:approve",
                    }
                ],
            }
        ]
        posted = await app.client.chat_postMessage(
            channel=general.id, text="Deploy?", blocks=card, thread_ts=said.ts
        )  # fmt: skip
        click = slack.click(alice, general, posted["ts"], "approve")
        await slack.until(lambda: click.acked and slack.sent(general.id)[0]["text"] == "Approved")
    assert mentions[0]["text"].endswith("deploy?")
    assert all(d.mode == "http" and d.attempts[0].status == 200 for d in said.deliveries)
    assert click.latency is not None and click.latency < 3.0
    assert slack.sent(general.id)[0]["thread_ts"] == said.ts


@pytest.mark.parametrize("signing", ["forged", "omitted", "stale", "tampered"])
async def test_a_request_slack_did_not_sign_is_refused_with_401(
    slack: FakeSlack, signing: Signing
) -> None:
    alice = slack.add_user("alice")
    app = new_app(slack, signing_secret=slack.signing_secret)
    reached: list[Any] = []

    @app.event("message")
    async def on_message(event: dict[str, Any]) -> None:
        reached.append(event)

    @app.action("approve")
    async def approve(ack: AsyncAck) -> None:
        reached.append("click")
        await ack()

    dm = slack.dm(alice)
    event = event_callback(message_event(alice, dm, "hi", ts="1700000000.000100"))
    message = {"ts": "1700000000.000200", "text": "card", "type": "message"}
    button = {"type": "button", "action_id": "approve", "value": "x",
              "text": {"type": "plain_text", "text": "Approve"}}  # fmt: skip
    click = block_actions(alice, dm, message, button, "b1", response_url=f"{slack.url}/response/x")
    async with http_app(app) as url:
        refused = await post_event(url, event, slack.signing_secret, signing=signing)
        refused_click = await post_interactive(url, click, slack.signing_secret, signing=signing)
        accepted = await post_event(url, event, slack.signing_secret)
        await asyncio.sleep(0.05)
    assert (refused.status, refused_click.status, accepted.status) == (401, 401, 200)
    assert len(reached) == 1


async def test_url_verification_is_answered_with_the_challenge(slack: FakeSlack) -> None:
    app = new_app(slack, signing_secret=slack.signing_secret)
    async with http_app(app) as url:
        reply = await url_verification(url, slack.signing_secret, challenge="c-123")
    assert reply.status == 200 and reply.json() == {"challenge": "c-123"}


async def test_an_event_the_app_failed_or_was_too_slow_for_comes_again_with_retry_headers() -> None:
    seen: list[tuple[str | None, str | None]] = []

    async def flaky(request: web.Request) -> web.Response:
        seen.append((request.headers.get("X-Slack-Retry-Num"),
                     request.headers.get("X-Slack-Retry-Reason")))  # fmt: skip
        if len(seen) == 1:
            return web.Response(status=500)
        if len(seen) == 2:
            await asyncio.sleep(1.5)
        return web.Response(status=200)

    server = web.Application()
    server.router.add_post("/events", flaky)
    runner = web.AppRunner(server, shutdown_timeout=0.2)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        with FakeSlack(ack_timeout=0.5, retry_delays=(0.0, 0.0, 0.0)) as slack:
            slack.set_request_url(f"http://127.0.0.1:{runner.addresses[0][1]}/events")
            alice = slack.add_user("alice")
            started = time.monotonic()
            (delivery,) = slack.say(alice, slack.dm(alice), "hello").deliveries
            await slack.until(lambda: delivery.done, timeout=5)
    finally:
        await runner.cleanup()
    assert delivery.acked and time.monotonic() - started < 3
    assert [a.error for a in delivery.attempts] == ["http_error", "http_timeout", None]
    assert seen == [(None, None), ("1", "http_error"), ("2", "http_timeout")]
