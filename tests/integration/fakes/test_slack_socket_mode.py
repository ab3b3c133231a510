"""The fake's Socket Mode with a real bolt ``AsyncApp`` and ``AsyncSocketModeHandler``.

The handler gets its websocket URL from the fake's ``apps.connections.open``
(through the app's ``AsyncWebClient(base_url=…)``), receives envelopes and
acks them; the fake redelivers what is not acked, asks for refreshes, drops
connections and spreads envelopes over several connections.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest
from slack_bolt.async_app import AsyncAck, AsyncRespond

from tests.fakes.slack_payloads import own_message_event
from tests.fakes.slack_server import FakeSlack
from tests.integration.fakes.bolt_support import FAST_PING, new_app, socket_mode

CARD: list[dict[str, Any]] = [
    {"type": "section", "text": {"type": "mrkdwn", "text": "Run `ls`?"}},
    {
        "type": "actions",
        "elements": [
            {"type": "button", "text": {"type": "plain_text", "text": "Approve"},
             "action_id": "approve", "value": "ap1:approve", "style": "primary"},
            {"type": "button", "text": {"type": "plain_text", "text": "Reject"},
             "action_id": "reject", "value": "ap1:reject", "style": "danger"},
        ],
    },
]  # fmt: skip


async def test_a_mention_arrives_as_message_and_app_mention_and_both_are_acked_fast(
    slack: FakeSlack,
) -> None:
    alice = slack.add_user("alice")
    general = slack.add_channel("general", members=[alice])
    seen: list[tuple[str, dict[str, Any]]] = []
    app = new_app(slack)

    @app.event("message")
    async def on_message(body: dict[str, Any]) -> None:
        seen.append(("message", body))

    @app.event("app_mention")
    async def on_mention(body: dict[str, Any]) -> None:
        seen.append(("app_mention", body))

    async with socket_mode(app, slack):
        said = slack.say(alice, general, f"<@{slack.bot_user_id}> hello")
        await slack.until(lambda: all(d.acked for d in said.deliveries) and len(seen) == 2)
    (connection,) = slack.connections(open_only=False)
    hello = connection.sent[0]
    assert hello["type"] == "hello" and hello["connection_info"]["app_id"] == slack.app_id
    kinds = {kind: body for kind, body in seen}
    message, mention = kinds["message"], kinds["app_mention"]
    assert message["event_id"] != mention["event_id"]
    assert message["event"]["ts"] == mention["event"]["ts"] == said.ts
    assert message["event"]["client_msg_id"] == mention["event"]["client_msg_id"]
    assert message["event"]["channel_type"] == "channel" and message["authorizations"]
    for delivery in said.deliveries:
        assert delivery.latency is not None and delivery.latency < 3.0
        assert delivery.ack == {"envelope_id": delivery.id}


async def test_a_click_is_acked_and_answered_through_its_response_url(slack: FakeSlack) -> None:
    alice, bob = slack.add_user("alice"), slack.add_user("bob")
    general = slack.add_channel("general", members=[alice, bob])
    app = new_app(slack)
    clicks: list[dict[str, Any]] = []

    @app.action("approve")
    async def approve(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        clicks.append(body)
        if len(clicks) == 1:
            await respond(replace_original=True, text=f"Approved by <@{body['user']['id']}>")
        else:
            await respond(text="Already decided.", response_type="ephemeral")

    async with socket_mode(app, slack):
        posted = await app.client.chat_postMessage(channel=general.id, text="Run ls?", blocks=CARD)
        ts = posted["ts"]
        first = slack.click(alice, general, ts, "approve")
        await slack.until(lambda: first.acked and slack.sent(general.id)[0].get("edited"))
        late = slack.click(bob, general, ts, "approve", version=0)  # bob's card was not redrawn
        await slack.until(lambda: late.acked and slack.ephemerals(general.id, bob.id))
        with pytest.raises(LookupError):  # the replaced card has no buttons left
            slack.click(bob, general, ts, "approve")
    payload = clicks[0]
    assert payload["type"] == "block_actions" and payload["container"]["message_ts"] == ts
    assert payload["actions"][0]["value"] == "ap1:approve"
    assert payload["response_url"].startswith(slack.url) and payload["trigger_id"]
    (card,) = slack.sent(general.id)
    assert card["ts"] == ts and card["text"] == f"Approved by <@{alice.id}>"
    assert "blocks" not in card
    assert [v.via for v in slack.versions(general.id, ts)] == ["chat.postMessage", "response_url"]
    assert slack.ephemerals(general.id, bob.id)[0].text == "Already decided."
    assert first.latency is not None and first.latency < 3.0


async def test_an_unacked_event_comes_again_with_retry_attempt() -> None:
    with FakeSlack(ack_timeout=0.15, retry_delays=(0.0, 0.0)) as slack:
        alice = slack.add_user("alice")
        dm = slack.dm(alice)
        app = new_app(slack)
        retries: list[list[str]] = []

        @app.middleware
        async def listen(request: Any, next: Any) -> Any:
            retries.append(request.headers.get("x-slack-retry-num", []))
            return await next()

        async with socket_mode(app, slack):
            await slack.until(slack.ready_connections)
            slack.disconnect("warning", close_after=None)  # noise the client must ignore
            said = slack.say(alice, dm, "hello")
            (delivery,) = said.deliveries
            await slack.until(lambda: delivery.done, timeout=5)
        # no listener: bolt answers 404 and sends no ack, so Slack tries again
        assert not delivery.acked
        assert [a.retry_attempt for a in delivery.attempts] == [0, 1, 2]
        assert all(a.error == "timeout" for a in delivery.attempts)
        frames = [f for c in slack.connections(open_only=False) for f in c.sent
                  if f.get("type") == "events_api"]  # fmt: skip
        assert [(f["retry_attempt"], f["retry_reason"]) for f in frames] == [
            (0, ""), (1, "timeout"), (2, "timeout")
        ]  # fmt: skip
        assert {f["payload"]["event_id"] for f in frames} == {delivery.event_id}
        assert len({f["envelope_id"] for f in frames}) == 3
        assert retries == [["0"], ["1"], ["2"]]


async def test_a_refresh_or_a_dropped_connection_is_followed_by_a_new_one(
    slack: FakeSlack,
) -> None:
    alice = slack.add_user("alice")
    dm = slack.dm(alice)
    app = new_app(slack)
    got: list[str] = []

    @app.event("message")
    async def on_message(event: dict[str, Any]) -> None:
        got.append(event["text"])

    async with socket_mode(app, slack, FAST_PING):
        await slack.until(slack.ready_connections)
        slack.disconnect("refresh_requested")
        await slack.until(lambda: len(slack.connections(open_only=False)) == 2)
        await slack.until(slack.ready_connections)
        slack.drop_connections()
        await slack.until(lambda: len(slack.connections(open_only=False)) >= 3, timeout=5)
        await slack.until(lambda: len(slack.connections()) == 1, timeout=5)
        said = slack.say(alice, dm, "still there?")
        await slack.until(lambda: said.deliveries[0].acked)
    assert got == ["still there?"]
    assert len(slack.calls("apps.connections.open")) >= 3
    assert slack.connections(open_only=False)[0].sent[-1]["reason"] == "refresh_requested"


async def test_a_stale_connection_without_pongs_is_replaced(slack: FakeSlack) -> None:
    app = new_app(slack)
    async with socket_mode(app, slack, FAST_PING):
        await slack.until(lambda: slack.connections() and slack.connections()[0].pings)
        slack.mute_pongs()
        await slack.until(lambda: len(slack.connections(open_only=False)) >= 2, timeout=5)
        slack.mute_pongs(False)
        slack.ping()
        await slack.until(lambda: any(c.pongs for c in slack.connections()), timeout=5)


async def test_envelopes_are_spread_over_connections_each_to_one(slack: FakeSlack) -> None:
    alice = slack.add_user("alice")
    dm = slack.dm(alice)
    app = new_app(slack)
    got: list[str] = []

    @app.event("message")
    async def on_message(event: dict[str, Any]) -> None:
        got.append(event["text"])

    async with socket_mode(app, slack), socket_mode(app, slack):
        await slack.until(lambda: len(slack.ready_connections()) == 2)
        assert [c.sent[0]["num_connections"] for c in slack.connections()] == [1, 2]
        said = [slack.say(alice, dm, f"m{i}") for i in range(6)]
        await slack.until(lambda: all(s.deliveries[0].acked for s in said))
    assert sorted(got) == [f"m{i}" for i in range(6)]
    used = [s.deliveries[0].attempts[0].connection for s in said]
    assert set(used) == {1, 2}


async def test_a_socket_url_works_once(slack: FakeSlack) -> None:
    url = (await new_app(slack).client.apps_connections_open(app_token=slack.app_token))["url"]
    async with aiohttp.ClientSession() as http:
        async with http.ws_connect(url) as ws:
            hello = await ws.receive_json(timeout=5)
            assert hello["type"] == "hello" and hello["num_connections"] == 1
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect(url)
    assert refused.value.status == 401


async def test_events_wait_for_a_connection() -> None:
    with FakeSlack() as slack:
        alice = slack.add_user("alice")
        said = slack.say(alice, slack.dm(alice), "sent while the app was down")
        app = new_app(slack)
        got: list[str] = []

        @app.event("message")
        async def on_message(event: dict[str, Any]) -> None:
            got.append(event["text"])

        await asyncio.sleep(0.05)
        assert not said.deliveries[0].attempts
        async with socket_mode(app, slack):
            await slack.until(lambda: said.deliveries[0].acked)
    assert got == ["sent while the app was down"]


async def test_a_redelivered_event_keeps_its_event_id(slack: FakeSlack) -> None:
    alice = slack.add_user("alice")
    app = new_app(slack)
    seen: list[tuple[str, list[str]]] = []

    @app.event("message")
    async def on_message(body: dict[str, Any], request: Any) -> None:
        seen.append((body["event_id"], request.headers.get("x-slack-retry-num", [])))

    async with socket_mode(app, slack):
        (delivery,) = slack.say(alice, slack.dm(alice), "once").deliveries
        await slack.until(lambda: delivery.acked)
        slack.redeliver(delivery)
        await slack.until(lambda: len(seen) == 2)
    assert seen == [(delivery.event_id, ["0"]), (delivery.event_id, ["1"])]


async def test_slash_commands_and_the_bots_own_messages(slack: FakeSlack) -> None:
    alice = slack.add_user("alice")
    dm = slack.dm(alice)
    app = new_app(slack)
    messages: list[dict[str, Any]] = []

    @app.command("/facio")
    async def facio(ack: AsyncAck, respond: AsyncRespond, command: dict[str, Any]) -> None:
        await ack()
        await respond(f"status of {command['text']}: fine")

    @app.event("message")
    async def on_message(event: dict[str, Any]) -> None:
        messages.append(event)

    async with socket_mode(app, slack):
        run = slack.command(alice, dm, "/facio", "workers")
        await slack.until(lambda: run.acked and slack.ephemerals(dm.id, alice.id))
        await app.client.chat_postMessage(channel=dm.id, text="from the bot")
        own = slack.push_event(own_message_event(dm, "pushed", ts=slack.timestamps.next()))
        await slack.until(lambda: own.acked and all(d.acked for d in slack.deliveries()))
    assert slack.ephemerals(dm.id, alice.id)[0].text == "status of workers: fine"
    assert run.payload["command"] == "/facio" and run.type == "slash_commands"
    assert messages == []  # bolt acks and drops its own bot's messages
    echoed = [d for d in slack.deliveries() if d.payload.get("event", {}).get("bot_id")]
    assert [d.payload["event"]["text"] for d in echoed] == ["from the bot", "pushed"]
