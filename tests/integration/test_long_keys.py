"""Session keys as long as facio takes them, end to end: notes, the session folder (code
actions run there) and the history are each the key's own, with short file names.

A 512-character key through the SDK (it takes any string; the API reads keys of up to
512 characters), a 256-character one through the HTTP API and a real worker (the
longest ``POST /messages`` takes). Each key has a twin that differs only at its end,
past any readable prefix a file name could hold: a name cut to length would merge them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

from redis.asyncio import Redis
from yarl import URL

from core.config import parse_config
from core.paths import session_name
from core.sessions import JsonlSessionStore
from core.tools.builtin.notes import notes_file
from facio import Facio
from tests.integration.api.support import TOKEN, post_message, running
from tests.integration.code.support import KERNEL_TIMEOUT
from tests.integration.runtime.support import run_burst

RULES: list[dict[str, Any]] = [
    {
        "on": "user",
        "match": "(?s)^note (?P<what>.+)",
        "toolCalls": [{"name": "save_note", "arguments": {"text": "\\g<what>"}}],
    },
    {"on": "user", "match": "^notes$", "toolCalls": [{"name": "list_notes"}]},
    {
        "on": "user",
        "match": "(?s)^run (?P<code>.+)",
        "toolCalls": [{"name": "ipybox_execute_ipython_cell", "arguments": {"code": "\\g<code>"}}],
    },
    {"on": "tool", "match": "(?s)(?P<out>.*)", "text": "\\g<out>"},
]
TOOLS = ["save_note", "list_notes", "ipybox_execute_ipython_cell"]


def _data(tmp_path: Path) -> dict[str, Any]:
    script = tmp_path / "keys.json"
    script.write_text(json.dumps({"rules": RULES, "fallback": "?"}))
    model = f"scripted:{script}"
    return {
        "workspace": "ws",
        "agent": {"model": model},
        "bots": {"main": {"model": model, "tools": TOOLS, "allow": TOOLS}},
        "code": {"poolSize": 0, "kernelInitTimeout": KERNEL_TIMEOUT},
    }


def _twins(length: int, prefix: str) -> tuple[str, str]:
    body = (prefix + "ключ/é:%2F..;" * length)[:length]
    return body, body[:-1] + "!"


def _check_files(workspace: Path, keys: tuple[str, ...]) -> None:
    names = {session_name(k) for k in keys}
    assert len(names) == len(keys)
    for path in workspace.rglob("*"):
        assert len(path.name.encode()) <= 255, path.name
    for key in keys:
        assert notes_file(workspace, key).read_text(encoding="utf-8") == f"- for {key[-1]}\n"
        folder = workspace / "sessions" / session_name(key)
        assert (folder / "mine.txt").read_text(encoding="utf-8") == key


async def test_a_512_character_key_through_the_sdk(tmp_path: Path) -> None:
    keys = _twins(512, "sdk:")
    config = tmp_path / "config.json"
    config.write_text(json.dumps(_data(tmp_path)))
    bot = Facio.from_config(config)
    try:
        for key in keys:
            assert (await bot.run(f"note for {key[-1]}", session_key=key)).content.startswith(
                "Saved note"
            )
            code = f"import os\nopen('mine.txt', 'w').write({key!r})\nopen(os.getcwd() + '/no.csv')"
            failed = (await bot.run(f"run {code}", session_key=key)).content
            # the error names the file as the code opens it, not by the server's path
            assert "No such file or directory: 'no.csv'" in failed
            assert str(tmp_path) not in failed and session_name(key) not in failed
        for key in keys:
            listed = await bot.run("notes", session_key=key)
            assert listed.content == f"- for {key[-1]}"  # each key its own notes
    finally:
        await bot.aclose()
    workspace = tmp_path / "ws"
    _check_files(workspace, keys)
    store = JsonlSessionStore(workspace / ".facio" / "sessions")
    assert sorted(await store.keys()) == sorted(keys)
    for key in keys:
        history = await store.load(key)
        assert [m.role for m in history][:2] == ["user", "assistant"]
        assert history[0].content == f"note for {key[-1]}"  # type: ignore[union-attr]


async def test_a_256_character_key_through_the_api_and_a_worker(
    redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    keys = _twins(256, "api:")
    data = {**_data(tmp_path), "gateway": {"apiToken": TOKEN}}
    config = parse_config(data, base_dir=tmp_path, env={})
    async with running(config, redis_url) as (_, client):
        for key in keys:
            await post_message(client, f"note for {key[-1]}", session=key)
            await post_message(client, f"run open('mine.txt', 'w').write({key!r})", session=key)
        await run_burst(config, redis_url)
        for key in keys:
            url = URL(f"/api/v1/sessions/{quote(key, safe='')}", encoded=True)
            async with client.get(url) as response:
                assert response.status == 200, await response.text()
                session = await response.json()
            assert session["session_key"] == key
            contents = [m["content"] for m in session["messages"] if m["role"] == "tool"]
            assert contents[0] == f"Saved note: for {key[-1]}"
            assert len(contents) == 2 and "Error" not in contents[1]
    _check_files(tmp_path / "ws", keys)
