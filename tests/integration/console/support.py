"""The console in a real headless Chromium: Debian's ``chromium`` driven by Playwright.

Playwright is pointed at the system browser (``executable_path``); its own
browser download (``playwright install``) is never used. Tests skip with the
reason when the browser or Playwright is missing; ``.ci/run`` installs both
and sets ``FACIO_REQUIRE_BROWSER=1``, which makes a missing one a failure.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
import pytest

from channels.gateway import Gateway
from core.config import FacioConfig
from tests.integration.api.support import TOKEN, api_config, running
from tests.integration.runtime.support import Background

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page

CHROMIUM = os.environ.get("FACIO_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
TIMEOUT_MS = 10_000
"""How long a page expectation may take (a turn takes milliseconds; a loaded CI machine more)."""
SCREENSHOTS = os.environ.get("FACIO_CONSOLE_SCREENSHOTS", "")
"""A folder to write the docs' screenshots to (``docs/img``); unset: a temporary one."""


def browser_or_skip() -> None:
    """Skip the calling module when there is no Chromium or no Playwright (fail instead
    under ``FACIO_REQUIRE_BROWSER=1``: CI must run these)."""
    missing = ""
    if not Path(CHROMIUM).exists():
        missing = f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    else:
        try:
            import playwright.async_api  # noqa: F401
        except ImportError:
            missing = "playwright is not installed (pip install -e .[dev])"
    if not missing:
        return
    if os.environ.get("FACIO_REQUIRE_BROWSER") == "1":
        pytest.fail(missing, pytrace=False)
    pytest.skip(missing, allow_module_level=True)


@contextlib.asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    """A headless Chromium (the system's), with a fresh profile of its own."""
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True, timeout=60_000
        )
        try:
            yield browser
        finally:
            await browser.close()


@dataclass
class Stack:
    """A gateway and an arq worker on the test Redis, an API client, and the page."""

    gateway: Gateway
    client: aiohttp.ClientSession
    page: Page
    config: FacioConfig
    dialogs: list[str] = field(default_factory=list)
    """Text of every alert/confirm the page opened (accepted)."""
    errors: list[str] = field(default_factory=list)
    """Uncaught page errors and console errors (not the browser's notes on refused requests)."""

    @property
    def url(self) -> str:
        return self.gateway.url

    async def sign_in(self, token: str = TOKEN) -> None:
        await self.page.goto(self.url + "/")
        await self.page.get_by_label("API token").fill(token)
        await self.page.get_by_role("button", name="Sign in").click()
        await self.page.locator("#nav").wait_for(state="visible")

    async def post(self, text: str, session: str = "api:t") -> dict[str, Any]:
        async with self.client.post(
            "/api/v1/messages", json={"session": session, "text": text}
        ) as response:
            assert response.status == 202, await response.text()
            body: dict[str, Any] = await response.json()
            return body


@contextlib.asynccontextmanager
async def stack(
    browser: Browser, redis_url: str, tmp_path: Path, *, width: int = 1100, **agent: Any
) -> AsyncIterator[Stack]:
    """Everything one test needs; the page records dialogs and errors."""
    config = api_config(tmp_path, **agent)
    async with (
        running(config, redis_url) as (gateway, client),
        Background(config, redis_url),
    ):
        context = await browser.new_context(viewport={"width": width, "height": 900})
        context.set_default_timeout(TIMEOUT_MS)
        page = await context.new_page()
        result = Stack(gateway, client, page, config)

        async def on_dialog(dialog: Any) -> None:
            result.dialogs.append(dialog.message)
            await dialog.accept()

        page.on("dialog", on_dialog)
        page.on("pageerror", lambda error: result.errors.append(str(error)))
        page.on("console", lambda msg: _console(result.errors, msg))
        try:
            yield result
        finally:
            await context.close()


def _console(errors: list[str], message: Any) -> None:
    """Console errors, less the browser's own note on each refused request (a 401 is expected)."""
    if message.type == "error" and not message.text.startswith("Failed to load resource"):
        errors.append(message.text)


async def screenshot(page: Page, name: str, tmp_path: Path) -> Path:
    """A PNG of the page; into ``FACIO_CONSOLE_SCREENSHOTS`` when set (the docs' pictures)."""
    folder = Path(SCREENSHOTS) if SCREENSHOTS else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    await page.screenshot(path=str(target), full_page=True)
    return target
