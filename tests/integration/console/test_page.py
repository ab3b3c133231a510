"""The console page in headless Chromium against a real gateway, worker and Redis.

One browser for the module; each test gets a fresh Redis database, its own
gateway and worker, and a fresh browser context (no storage carried over).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from redis.asyncio import Redis

from tests.integration.api.support import NOTE, TOKEN, note_file
from tests.integration.console.support import browser_or_skip, chromium, screenshot, stack

browser_or_skip()

from playwright.async_api import Browser, expect  # noqa: E402

pytestmark = pytest.mark.asyncio(loop_scope="module")

XSS = "<img src=x onerror=alert(1)>"


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as launched:
        yield launched


@pytest_asyncio.fixture(loop_scope="module")
async def clean(redis_url: str) -> AsyncIterator[str]:
    client = Redis.from_url(redis_url)
    await client.flushall()
    await client.aclose()
    yield redis_url


async def test_a_wrong_token_is_refused_and_the_right_one_signs_in_and_out(
    browser: Browser, clean: str, tmp_path: Path
) -> None:
    async with stack(browser, clean, tmp_path) as s:
        page = s.page
        await page.goto(s.url + "/")
        assert page.url == s.url + "/console/"  # / redirects to the console
        await page.get_by_label("API token").fill("not-the-token")
        await page.get_by_role("button", name="Sign in").click()
        await expect(page.locator("#sign-in-error")).to_have_text("That token is not right.")
        await expect(page.locator("#nav")).to_be_hidden()
        assert await page.evaluate("sessionStorage.length") == 0

        await page.get_by_label("API token").fill(TOKEN)
        await page.get_by_role("button", name="Sign in").click()
        await expect(page.locator("#nav")).to_be_visible()
        await expect(page.locator("#pending-empty")).to_be_visible()
        assert TOKEN not in page.url
        assert await page.evaluate("document.cookie") == ""
        assert TOKEN not in await page.content()  # the token is not in the page

        await page.reload()  # the tab keeps its sign-in
        await expect(page.locator("#nav")).to_be_visible()

        await page.get_by_role("button", name="Sign out").click()
        await expect(page.get_by_label("API token")).to_be_visible()
        assert await page.evaluate("sessionStorage.length") == 0
        assert s.errors == []


async def test_a_pending_approval_appears_live_and_approve_resumes_the_turn(
    browser: Browser, clean: str, tmp_path: Path
) -> None:
    async with stack(browser, clean, tmp_path) as s:
        page = s.page
        await s.sign_in()
        await expect(page.locator("#feed-state")).to_have_text("live")
        await s.post(NOTE)

        card = page.locator("article.approval")
        await expect(card).to_have_count(1)  # no reload: the feed brought it
        await expect(card.locator("code.tool")).to_have_text("save_note")
        await expect(card.locator(".arg .value")).to_have_text("to buy milk")
        await expect(card.get_by_role("link", name="api:t")).to_be_visible()
        await expect(card.locator(".meta")).to_contain_text("api")  # who asked
        await expect(card.locator("[data-until]")).to_have_text(re.compile(r"^in \d+ (min|h)"))
        await expect(page.locator("#badge")).to_have_text("1")
        await screenshot(page, "console-inbox.png", tmp_path)

        await card.get_by_role("button", name="Approve").click()
        await expect(card.locator(".outcome")).to_have_text("Approved by api")
        await expect(card.get_by_role("button")).to_have_count(0)
        await expect(page.locator("#decided li")).to_have_count(1)
        await expect(page.locator("#badge")).to_be_hidden()

        await card.get_by_role("link", name="api:t").click()
        await expect(page.locator("#session-key")).to_have_text("api:t")
        await expect(page.locator("#history")).to_contain_text(
            'Done, I saved the note "to buy milk".'
        )
        await expect(page.locator("#session-state")).to_have_text("idle")
        assert "to buy milk" in note_file(tmp_path, "api:t").read_text()

        await page.get_by_label("Message to api:t").fill("what are my notes?")
        await page.get_by_role("button", name="Send").click()
        await expect(page.locator("#history")).to_contain_text("Your notes:")
        await screenshot(page, "console-session.png", tmp_path)
        assert s.errors == []


async def test_a_decision_made_over_the_api_updates_the_open_page(
    browser: Browser, clean: str, tmp_path: Path
) -> None:
    async with stack(browser, clean, tmp_path, approvalHold=0) as s:
        page = s.page
        await s.sign_in()
        await expect(page.locator("#feed-state")).to_have_text("live")
        await s.post(NOTE)
        card = page.locator("article.approval")
        await expect(card).to_have_count(1)
        approval_id = await card.get_attribute("data-approval-id")

        async with s.client.post(
            f"/api/v1/approvals/{approval_id}", json={"decision": "reject"}
        ) as response:
            assert response.status == 200
        await expect(card.locator(".outcome")).to_have_text("Rejected by api")
        await expect(card.get_by_role("button")).to_have_count(0)
        await expect(
            page.locator(f'#decided li[data-approval-id="{approval_id}"]')
        ).to_contain_text("Rejected by api")
        await expect(page.locator("#pending-empty")).to_be_visible()
        assert not note_file(tmp_path, "api:t").exists()
        assert s.errors == []


async def test_a_tool_argument_with_markup_renders_as_text_and_runs_nothing(
    browser: Browser, clean: str, tmp_path: Path
) -> None:
    async with stack(browser, clean, tmp_path) as s:
        page = s.page
        await s.sign_in()
        await expect(page.locator("#feed-state")).to_have_text("live")
        await s.post(f"remember {XSS}", session="api:x")
        card = page.locator("article.approval")
        await expect(card.locator(".arg .value")).to_have_text(XSS)
        assert await page.locator("img").count() == 0

        await card.get_by_role("link", name="api:x").click()
        await expect(page.locator("#history .msg.user")).to_contain_text(XSS)
        await expect(page.locator("#session-approvals .arg .value")).to_have_text(XSS)
        assert await page.locator("img").count() == 0
        await page.locator("#session-approvals").get_by_role("button", name="Reject").click()
        await expect(page.locator("#history")).to_contain_text("Rejected: I did not run save_note")
        assert s.dialogs == []  # alert(1) never ran
        assert await page.locator("img").count() == 0
        assert s.errors == []


async def test_sessions_runtime_and_schedules_at_phone_width(
    browser: Browser, clean: str, tmp_path: Path
) -> None:
    async with stack(browser, clean, tmp_path, width=375, approvalHold=0) as s:
        page = s.page
        await s.sign_in()
        await expect(page.locator("#feed-state")).to_have_text("live")
        await s.post(NOTE, session="api:phone")
        await expect(page.locator("article.approval")).to_have_count(1)
        await screenshot(page, "console-phone.png", tmp_path)
        assert await page.evaluate("document.documentElement.scrollWidth") <= 375

        await page.get_by_role("link", name="Sessions").click()
        row = page.locator('tr[data-session="api:phone"]')
        await expect(row.locator(".state")).to_have_text("parked")
        assert await page.evaluate("document.documentElement.scrollWidth") <= 375

        made = {"session": "api:phone", "prompt": "<b>water</b> the plants", "every": 3600}
        async with s.client.post("/api/v1/schedules", json=made) as response:
            assert response.status == 201, await response.text()
            schedule_id = (await response.json())["schedule_id"]
        await page.get_by_role("link", name="Runtime").click()
        await expect(page.locator("#workers-alive .number")).to_have_text("1")
        await expect(page.locator("#approvals-pending .number")).to_have_text("1")
        card = page.locator(f'li.schedule[data-schedule-id="{schedule_id}"]')
        await expect(card).to_contain_text("every 3600 s")
        await expect(card.locator("pre")).to_have_text("<b>water</b> the plants")  # as text
        assert await page.evaluate("document.documentElement.scrollWidth") <= 375
        await card.get_by_role("button", name="Cancel").click()
        await expect(card).to_have_count(0)
        await expect(page.locator("#schedules-title + p.note-line + p.empty")).to_have_text(
            "No schedules."
        )
        async with s.client.get("/api/v1/schedules") as response:
            assert (await response.json())["schedules"] == []

        await page.get_by_role("link", name="Sessions").click()
        await row.get_by_role("link", name="api:phone").click()
        await page.get_by_role("button", name="Stop").click()
        await expect(page.locator("#session-note")).to_have_text("Stop requested.")
        await expect(page.locator("#session-state")).to_have_text("idle")
        await page.get_by_role("button", name="Reset").click()
        await expect(page.locator("#history")).to_contain_text("No history yet.")
        assert s.dialogs == [
            "Cancel this schedule?",
            "Reset api:phone? Its history and session rules go.",
        ]
        assert s.errors == []
