"""The fake Slack's Web API through the real slack_sdk ``AsyncWebClient``.

What is shown: Slack's auth and scope answers, Slack's validation errors as
``SlackApiError`` with the right ``error``, message history, and faults
(429 waited out by ``AsyncRateLimitErrorRetryHandler``, 5xx, HTML, a drop).
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from tests.fakes.slack_server import FakeSlack
from tests.fakes.slack_workspace import Channel, User


def _client(slack: FakeSlack, token: str | None = None, **options: Any) -> AsyncWebClient:
    return AsyncWebClient(
        token=token if token is not None else slack.bot_token, base_url=slack.api_url, **options
    )


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _button(label: str = "Approve", **fields: Any) -> dict[str, Any]:
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": label},
        "action_id": "approve",
        "value": "a1:approve",
        **fields,
    }


async def _error(call: Any) -> dict[str, Any]:
    with pytest.raises(SlackApiError) as caught:
        await call
    return dict(caught.value.response.data)


@pytest.fixture
def people(slack: FakeSlack) -> tuple[User, User, Channel]:
    alice, bob = slack.add_user("alice"), slack.add_user("bob")
    return alice, bob, slack.add_channel("general", members=[alice])


async def test_auth_test_names_the_bot_and_the_scopes_header_lists_the_tokens_scopes(
    slack: FakeSlack,
) -> None:
    reply = await _client(slack).auth_test()
    assert reply["team_id"] == slack.team_id and reply["user_id"] == slack.bot_user_id
    assert reply["bot_id"] == slack.bot_id and reply["url"].startswith("https://")
    assert set(reply.headers["x-oauth-scopes"].split(",")) == set(slack.scopes)


@pytest.mark.parametrize(
    ("token", "method", "error"),
    [
        ("", "auth.test", "not_authed"),
        ("xoxb-not-the-token", "auth.test", "invalid_auth"),
        ("app", "chat.postMessage", "not_allowed_token_type"),
        ("bot", "apps.connections.open", "not_allowed_token_type"),
        ("bot", "chat.unfurlEverything", "unknown_method"),
    ],
)
async def test_tokens_are_checked_like_slack(
    slack: FakeSlack, token: str, method: str, error: str
) -> None:
    bearer = {"app": slack.app_token, "bot": slack.bot_token}.get(token, token)
    data = await _error(_client(slack, bearer).api_call(method, json={"channel": "C1"}))
    assert data["error"] == error
    assert slack.calls(method)[-1].error == error


async def test_a_missing_scope_is_named_with_what_the_token_has() -> None:
    with FakeSlack(scopes=("chat:write",)) as slack:
        data = await _error(_client(slack).reactions_add(channel="C1", name="eyes", timestamp="1"))
    assert data["error"] == "missing_scope" and data["needed"] == "reactions:write"
    assert data["provided"] == "chat:write"


async def test_a_message_is_posted_updated_and_deleted_and_every_state_is_kept(
    slack: FakeSlack, people: tuple[User, User, Channel]
) -> None:
    _, _, general = people
    client = _client(slack)
    card = [_section("Run `ls`?"), {"type": "actions", "elements": [_button()]}]
    posted = await client.chat_postMessage(channel=general.id, text="Run ls?", blocks=card)
    ts = posted["ts"]
    assert posted["channel"] == general.id and posted["message"]["bot_id"] == slack.bot_id
    await client.chat_update(channel=general.id, ts=ts, text="Approved by alice")  # blocks kept
    assert slack.sent(general.id)[0]["blocks"][1]["elements"][0]["action_id"] == "approve"
    await client.chat_update(channel=general.id, ts=ts, text="Approved by alice", blocks=[])
    assert "blocks" not in slack.sent(general.id)[0]
    await client.chat_delete(channel=general.id, ts=ts)
    assert slack.sent(general.id) == []
    states = slack.versions(general.id, ts)
    assert [v.via for v in states] == [
        "chat.postMessage",
        "chat.update",
        "chat.update",
        "chat.delete",
    ]
    assert [len(v.blocks) for v in states] == [2, 2, 0, 0] and states[-1].deleted
    data = await _error(client.chat_update(channel=general.id, ts=ts, text="again"))
    assert data["error"] == "message_not_found"


async def test_replies_go_into_the_thread_and_a_reply_ts_means_its_thread(
    slack: FakeSlack, people: tuple[User, User, Channel]
) -> None:
    alice, _, general = people
    said = slack.say(alice, general, "a question")
    client = _client(slack)
    first = await client.chat_postMessage(channel=general.id, text="one", thread_ts=said.ts)
    await client.chat_postMessage(channel=general.id, text="two", thread_ts=first["ts"])
    assert [m["text"] for m in slack.sent(general.id, thread_ts=said.ts)] == ["one", "two"]
    thread = slack.messages(general.id, said.ts)
    assert thread[0]["reply_count"] == 2 and thread[0]["thread_ts"] == said.ts
    assert [m["text"] for m in slack.messages(general.id)] == ["a question"]


def _blocks_with(**change: Any) -> list[dict[str, Any]]:
    element = _button(**change.pop("button", {}))
    return [{"type": "actions", "elements": [element]}, *change.pop("more", [])]


@pytest.mark.parametrize(
    ("blocks", "pointer"),
    [
        ([_section("x" * 3001)], "/blocks/0/text/text"),
        ([_section("fine")] * 51, "/blocks"),
        (
            _blocks_with(button={"text": {"type": "plain_text", "text": "y" * 76}}),
            "/blocks/0/elements/0/text/text",
        ),
        (_blocks_with(button={"action_id": "a" * 256}), "/blocks/0/elements/0/action_id"),
        (_blocks_with(button={"value": "v" * 2001}), "/blocks/0/elements/0/value"),
        (
            _blocks_with(button={"text": {"type": "mrkdwn", "text": "*Go*"}}),
            "/blocks/0/elements/0/text/type",
        ),
        (
            [{"type": "actions", "elements": [_button(), _button()]}],
            "/blocks/0/elements/1/action_id",
        ),
        (
            [{"type": "actions", "elements": [_button(action_id=f"b{i}") for i in range(26)]}],
            "/blocks/0/elements",
        ),
        (
            [{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}],
            "/blocks/0/text/text",
        ),
        ([{"type": "header", "text": {"type": "mrkdwn", "text": "*h*"}}], "/blocks/0/text/type"),
        (
            [{"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}] * 11}],
            "/blocks/0/elements",
        ),
        (
            [{"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 11}],
            "/blocks/0/fields",
        ),
        ([{"type": "section", "text": {"type": "mrkdwn", "text": ""}}], "/blocks/0/text/text"),
        ([{"type": "section"}], "/blocks/0"),
        ([{"type": "sparkles"}], "/blocks/0"),
        (
            [dict(_section("a"), block_id="b1"), dict(_section("b"), block_id="b1")],
            "/blocks/1/block_id",
        ),
    ],
)
async def test_block_kit_violations_are_invalid_blocks_with_slacks_pointers(
    slack: FakeSlack, people: tuple[User, User, Channel], blocks: list[Any], pointer: str
) -> None:
    _, _, general = people
    data = await _error(
        _client(slack).chat_postMessage(channel=general.id, text="t", blocks=blocks)
    )
    assert data["error"] == "invalid_blocks"
    assert any(e.endswith(f"[json-pointer:{pointer}]") for e in data["errors"]), data["errors"]
    assert all(m.startswith("[ERROR] ") for m in data["response_metadata"]["messages"])
    assert slack.sent(general.id) == []


async def test_message_errors_have_slacks_names(
    slack: FakeSlack, people: tuple[User, User, Channel]
) -> None:
    alice, bob, general = people
    outside = slack.add_channel("random", members=[alice], bot_member=False)
    secret = slack.add_channel("secret", members=[alice], private=True, bot_member=False)
    client = _client(slack)
    cases = {
        "msg_too_long": client.chat_postMessage(channel=general.id, text="x" * 40_001),
        "no_text": client.api_call("chat.postMessage", json={"channel": general.id}),
        "not_in_channel": client.chat_postMessage(channel=outside.id, text="hi"),
        "channel_not_found": client.chat_postMessage(channel=secret.id, text="hi"),
        "user_not_in_channel": client.chat_postEphemeral(
            channel=general.id, user=bob.id, text="only you"
        ),
    }
    for error, call in cases.items():
        assert (await _error(call))["error"] == error
    assert (await client.chat_postMessage(channel=general.id, text="x" * 40_000))["ok"]


async def test_malformed_blocks_in_a_form_post_are_invalid_blocks_format(
    slack: FakeSlack, people: tuple[User, User, Channel]
) -> None:
    _, _, general = people
    client = _client(slack)
    data = await _error(
        client.api_call(
            "chat.postMessage", data={"channel": general.id, "text": "t", "blocks": "[{not json"}
        )
    )
    assert data["error"] == "invalid_blocks_format"
    form = {"channel": general.id, "blocks": json.dumps([_section("from a form")])}
    assert (await client.api_call("chat.postMessage", data=form))["ok"]
    assert slack.sent(general.id)[0]["blocks"][0]["text"]["text"] == "from a form"


async def test_only_the_bots_messages_can_be_updated(
    slack: FakeSlack, people: tuple[User, User, Channel]
) -> None:
    alice, _, general = people
    said = slack.say(alice, general, "mine")
    client = _client(slack)
    data = await _error(client.chat_update(channel=general.id, ts=said.ts, text="yours"))
    assert data["error"] == "cant_update_message"
    assert (await _error(client.chat_delete(channel=general.id, ts=said.ts)))["error"] == (
        "cant_delete_message"
    )


async def test_ephemerals_and_reactions(
    slack: FakeSlack, people: tuple[User, User, Channel]
) -> None:
    alice, _, general = people
    said = slack.say(alice, general, "hello")
    client = _client(slack)
    await client.chat_postEphemeral(
        channel=general.id, user=alice.id, text="just you", thread_ts=said.ts
    )
    (note,) = slack.ephemerals(general.id, alice.id)
    assert (
        note.text == "just you" and note.thread_ts == said.ts and note.via == "chat.postEphemeral"
    )
    await client.reactions_add(channel=general.id, name="eyes", timestamp=said.ts)
    assert slack.reactions(general.id, said.ts) == {"eyes": [slack.bot_user_id]}
    again = client.reactions_add(channel=general.id, name="eyes", timestamp=said.ts)
    assert (await _error(again))["error"] == "already_reacted"
    await client.reactions_remove(channel=general.id, name="eyes", timestamp=said.ts)
    gone = client.reactions_remove(channel=general.id, name="eyes", timestamp=said.ts)
    assert (await _error(gone))["error"] == "no_reaction"


async def test_users_conversations_and_a_dm_opened_by_user_id(
    slack: FakeSlack, people: tuple[User, User, Channel]
) -> None:
    alice, _, general = people
    client = _client(slack)
    user = (await client.users_info(user=alice.id))["user"]
    assert user["name"] == "alice" and user["is_bot"] is False
    assert (await _error(client.users_info(user="U0NOBODY")))["error"] == "user_not_found"
    channel = (await client.conversations_info(channel=general.id))["channel"]
    assert channel["is_channel"] and channel["is_member"] and channel["name"] == "general"
    posted = await client.chat_postMessage(channel=alice.id, text="hi in private")
    dm = slack.dm(alice)
    assert posted["channel"] == dm.id and dm.id.startswith("D")
    info = (await client.conversations_info(channel=dm.id))["channel"]
    assert info["is_im"] and info["user"] == alice.id


async def test_assistant_status_and_an_app_without_the_feature(
    slack: FakeSlack, people: tuple[User, User, Channel]
) -> None:
    alice, _, _ = people
    dm = slack.dm(alice)
    said = slack.say(alice, dm, "help")
    client = _client(slack)
    await client.assistant_threads_setStatus(
        channel_id=dm.id, thread_ts=said.ts, status="is thinking…"
    )
    assert slack.statuses(dm.id)[0]["status"] == "is thinking…"
    wrong = client.assistant_threads_setStatus(channel_id=dm.id, thread_ts="1.2", status="x")
    assert (await _error(wrong))["error"] == "invalid_thread_ts"
    slack.assistant_unavailable("not_allowed_token_type")
    refused = client.assistant_threads_setStatus(channel_id=dm.id, thread_ts=said.ts, status="")
    assert (await _error(refused))["error"] == "not_allowed_token_type"


async def test_files_need_the_bot_token_to_download(
    slack: FakeSlack, people: tuple[User, User, Channel]
) -> None:
    alice, _, general = people
    small = slack.add_file("notes.txt", b"hello file", user=alice, mimetype="text/plain")
    big = slack.add_file("big.bin", None, user=alice, size=3 * 1024 * 1024 + 5)
    said = slack.share_file(alice, general, small, "see attached")
    shared = slack.messages(general.id)[-1]
    assert shared["ts"] == said.ts and shared["files"][0]["id"] == small.id
    info = (await _client(slack).files_info(file=small.id))["file"]
    auth = {"Authorization": f"Bearer {slack.bot_token}"}
    async with aiohttp.ClientSession() as http:
        async with http.get(info["url_private_download"], headers=auth) as reply:
            assert reply.status == 200 and await reply.read() == b"hello file"
        async with http.get(info["url_private"]) as reply:  # no token: Slack's sign-in page
            assert reply.status == 200 and reply.content_type == "text/html"
        big_url = (await _client(slack).files_info(file=big.id))["file"]["url_private"]
        async with http.get(big_url, headers=auth) as reply:
            assert reply.content_length == big.size and len(await reply.read()) == big.size


async def test_a_429_is_waited_out_by_slack_sdks_rate_limit_handler(
    slack: FakeSlack, people: tuple[User, User, Channel]
) -> None:
    _, _, general = people
    client = _client(slack, retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=1)])
    posted = await client.chat_postMessage(channel=general.id, text="draft")
    slack.fail("chat.update", 429, retry_after=0)  # slack_sdk sleeps Retry-After + random()
    await client.chat_update(channel=general.id, ts=posted["ts"], text="final")
    limited, retried = slack.calls("chat.update")
    assert (limited.status, limited.error, retried.status) == (429, "ratelimited", 200)
    assert slack.sent(general.id)[0]["text"] == "final"


async def test_a_rate_limit_window_answers_429_with_retry_after(
    slack: FakeSlack, people: tuple[User, User, Channel]
) -> None:
    _, _, general = people
    slack.rate_limit("chat.postMessage", calls=2, per=30)
    client = _client(slack)
    for text in ("one", "two"):
        await client.chat_postMessage(channel=general.id, text=text)
    with pytest.raises(SlackApiError) as caught:
        await client.chat_postMessage(channel=general.id, text="three")
    assert caught.value.response.status_code == 429
    assert int(caught.value.response.headers["Retry-After"]) >= 29


async def test_server_errors_html_and_a_dropped_connection(
    slack: FakeSlack, people: tuple[User, User, Channel]
) -> None:
    _, _, general = people
    client = _client(slack, retry_handlers=[])
    slack.fail("chat.postMessage", 500)
    slack.fail_raw("chat.postMessage")
    slack.fail("chat.postMessage", 200, "fatal_error")
    for status in (500, 502, 200):
        with pytest.raises(SlackApiError) as caught:
            await client.chat_postMessage(channel=general.id, text="hi")
        assert caught.value.response.status_code == status
    slack.drop("chat.postMessage")
    with pytest.raises(aiohttp.ClientError):
        await client.chat_postMessage(channel=general.id, text="hi")
    assert slack.sent(general.id) == []
    assert (await client.chat_postMessage(channel=general.id, text="hi"))["ok"]


async def test_a_lost_answer_comes_after_the_post_landed(
    slack: FakeSlack, people: tuple[User, User, Channel]
) -> None:
    _, _, general = people
    client = _client(slack, retry_handlers=[])
    slack.lose_answers("chat.postMessage")  # posted, then the connection is cut
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await client.chat_postMessage(channel=general.id, text="cut")
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=0.3)) as session:
        hung = AsyncWebClient(token=slack.bot_token, base_url=slack.api_url, session=session)
        slack.lose_answers("chat.postMessage", hang=2.0)  # posted, then no answer in time
        with pytest.raises(TimeoutError):
            await hung.chat_postMessage(channel=general.id, text="hung")
    assert [m["text"] for m in slack.sent(general.id)] == ["cut", "hung"]
    assert (await client.chat_postMessage(channel=general.id, text="answered"))["ok"]


FACIO = {"event_type": "facio_post", "event_payload": {"id": "p1"}}


async def test_metadata_is_kept_with_the_message_and_shown_only_when_asked(
    slack: FakeSlack, people: tuple[User, User, Channel]
) -> None:
    _, _, general = people
    client = _client(slack)
    posted = await client.chat_postMessage(channel=general.id, text="tagged", metadata=FACIO)
    assert posted["message"]["metadata"] == FACIO
    form = {"channel": general.id, "text": "by form", "metadata": json.dumps(FACIO)}
    assert (await client.api_call("chat.postMessage", data=form))["ok"]
    await client.chat_update(channel=general.id, ts=posted["ts"], text="edited")  # kept
    plain = (await client.conversations_history(channel=general.id))["messages"]
    assert [m["text"] for m in plain] == ["by form", "edited"]
    assert all("metadata" not in m for m in plain)  # hidden unless asked for
    full = await client.conversations_history(channel=general.id, include_all_metadata=True)
    assert [m["metadata"] for m in full["messages"]] == [FACIO, FACIO]


@pytest.mark.parametrize(
    "metadata",
    [
        "{not json",
        json.dumps([FACIO]),
        {"event_type": "facio_post"},
        {"event_payload": {"id": "p1"}},
        {"event_type": 7, "event_payload": {"id": "p1"}},
        {"event_type": "", "event_payload": {"id": "p1"}},
        {"event_type": "facio_post", "event_payload": ["p1"]},
    ],
)
async def test_malformed_metadata_is_invalid_metadata_format(
    slack: FakeSlack, people: tuple[User, User, Channel], metadata: Any
) -> None:
    _, _, general = people
    body = {"channel": general.id, "text": "t", "metadata": metadata}
    data = await _error(_client(slack).api_call("chat.postMessage", json=body))
    assert data["error"] == "invalid_metadata_format"
    assert slack.sent(general.id) == []


async def test_history_and_replies_read_a_window(
    slack: FakeSlack, people: tuple[User, User, Channel]
) -> None:
    alice, _, general = people
    client = _client(slack)
    first = slack.say(alice, general, "first")
    tss = [(await client.chat_postMessage(channel=general.id, text=t))["ts"] for t in "abc"]
    after = await client.conversations_history(channel=general.id, oldest=first.ts)
    assert [m["text"] for m in after["messages"]] == ["c", "b", "a"]
    since_a = await client.conversations_history(channel=general.id, oldest=tss[0], inclusive=1)
    assert [m["text"] for m in since_a["messages"]] == ["c", "b", "a"]
    page = await client.conversations_history(channel=general.id, limit=2)
    assert [m["text"] for m in page["messages"]] == ["c", "b"] and page["has_more"]
    for text in ("r1", "r2"):
        await client.chat_postMessage(channel=general.id, text=text, thread_ts=first.ts)
    r2 = slack.sent(general.id, thread_ts=first.ts)[-1]["ts"]
    thread = await client.conversations_replies(channel=general.id, ts=first.ts, oldest=tss[-1])
    assert [m["text"] for m in thread["messages"]] == ["first", "r1", "r2"]  # parent first
    late = await client.conversations_replies(channel=general.id, ts=first.ts, oldest=r2)
    assert [m["text"] for m in late["messages"]] == ["first"]
    short = await client.conversations_replies(channel=general.id, ts=first.ts, limit=2)
    assert [m["text"] for m in short["messages"]] == ["first", "r1"] and short["has_more"]


async def test_history_replies_and_opening_a_dm(
    slack: FakeSlack, people: tuple[User, User, Channel]
) -> None:
    alice, _, general = people
    client = _client(slack)
    question = slack.say(alice, general, "question")
    answer = await client.chat_postMessage(channel=general.id, text="answer", thread_ts=question.ts)
    slack.say(alice, general, "thanks", thread_ts=answer["ts"])
    history = (await client.conversations_history(channel=general.id))["messages"]
    assert [m["text"] for m in history] == ["question"] and history[0]["reply_count"] == 2
    thread = (await client.conversations_replies(channel=general.id, ts=question.ts))["messages"]
    assert [m["text"] for m in thread] == ["question", "answer", "thanks"]
    opened = await client.conversations_open(users=alice.id)
    assert opened["channel"]["id"] == slack.dm(alice).id
    outside = slack.add_channel("random", members=[alice], bot_member=False)
    refused = client.conversations_history(channel=outside.id)
    assert (await _error(refused))["error"] == "not_in_channel"


async def test_the_token_may_be_a_form_field_but_not_a_json_field(slack: FakeSlack) -> None:
    anonymous = AsyncWebClient(base_url=slack.api_url)
    form = await anonymous.api_call("auth.test", data={"token": slack.bot_token})
    assert form["user_id"] == slack.bot_user_id
    async with aiohttp.ClientSession() as http:  # slack_sdk moves it to the header itself
        body = {"token": slack.bot_token}
        async with http.post(f"{slack.api_url}auth.test", json=body) as reply:
            assert (reply.status, await reply.json()) == (200, {"ok": False, "error": "not_authed"})
