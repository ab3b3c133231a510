"""The console's routes over plain HTTP: the redirect, the files, the security headers."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path, PurePosixPath

import pytest
from redis.asyncio import Redis

from channels.console import SECURITY_HEADERS
from channels.console.routes import static_files
from tests.integration.api.support import TOKEN, api_config, running

ROOT = Path(__file__).resolve().parents[3]


async def test_root_redirects_and_the_page_loads_without_a_token(
    redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    async with running(api_config(tmp_path), redis_url, token=None) as (_, client):
        async with client.get("/", allow_redirects=False) as response:
            assert response.status == 302
            assert response.headers["Location"] == "/console/"
        async with client.get("/console/") as response:
            assert response.status == 200
            assert response.content_type == "text/html"
            page = await response.text()
            for name, value in SECURITY_HEADERS.items():
                assert response.headers[name] == value
        assert '<script type="module" src="/console/js/main.js">' in page
        assert TOKEN not in page
        async with client.get("/console/js/main.js") as response:
            assert response.status == 200
            assert response.content_type == "text/javascript"
            assert response.headers["X-Content-Type-Options"] == "nosniff"
        async with client.get("/console/console.css") as response:
            assert response.content_type == "text/css"
        for missing in ("/console/nope.js", "/console/%2e%2e/routes.py", "/console/js/../../x"):
            async with client.get(missing) as response:
                assert response.status == 404, missing
        async with client.get("/api/v1/runtime") as response:  # what the page calls needs it
            assert response.status == 401


def test_the_policy_allows_no_inline_script_or_style() -> None:
    policy = dict(
        part.strip().split(" ", 1)
        for part in SECURITY_HEADERS["Content-Security-Policy"].split(";")
    )
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self'"
    assert policy["connect-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert "unsafe" not in SECURITY_HEADERS["Content-Security-Policy"]


def test_the_files_build_the_page_from_text_never_from_markup() -> None:
    files = static_files()
    page = files["index.html"].decode()
    assert re.findall(r"<script(?![^>]*\bsrc=)", page) == []  # every script is a file
    assert not re.search(r"\sstyle=|<style|\son[a-z]+=", page)
    scripts = {name: body.decode() for name, body in files.items() if name.endswith(".js")}
    assert {"js/main.js", "js/dom.js", "js/sse.js", "js/api.js"} <= set(scripts)
    for name, source in scripts.items():
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
            assert sink not in source.replace("no innerHTML", ""), (name, sink)
        assert "new Function" not in source, name
        assert "localStorage" not in source, name  # the token stays in this tab only
        assert "http://" not in source and "https://" not in source, name  # no CDN


def test_every_console_file_ships_in_the_wheel() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = project["tool"]["setuptools"]["package-data"]["channels.console"]
    for name in static_files():
        assert any(PurePosixPath("static", name).match(p) for p in patterns), name


@pytest.mark.parametrize("path", ["/console", "/"])
async def test_the_redirects_carry_the_headers_too(
    redis: Redis, redis_url: str, tmp_path: Path, path: str
) -> None:
    async with (
        running(api_config(tmp_path), redis_url) as (_, client),
        client.get(path, allow_redirects=False) as response,
    ):
        assert response.status == 302
        assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")
