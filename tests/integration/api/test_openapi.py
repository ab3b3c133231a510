"""``GET /api/v1/openapi.json``: served without a token, and it describes every route."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp import web
from redis.asyncio import Redis

from channels.api import OPENAPI_PATH, api_app
from tests.integration.api.support import api_config, running

METHODS = {"get", "post", "put", "patch", "delete"}


def _routes(app: web.Application) -> set[tuple[str, str]]:
    """(path, method) of every route; HEAD rides along with GET."""
    found = set()
    for route in app.router.routes():
        if route.method == "HEAD":
            continue
        assert route.resource is not None
        found.add((route.resource.canonical, route.method.lower()))
    return found


def _described(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (path, method)
        for path, item in document["paths"].items()
        for method in item
        if method in METHODS
    }


def _refs(node: object) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _refs(value)]
    return []


async def _document(client: Any) -> dict[str, Any]:
    async with client.get(OPENAPI_PATH) as response:
        assert response.status == 200
        body: dict[str, Any] = await response.json()
        return body


async def test_the_document_is_open_and_describes_exactly_the_routes(
    redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    async with running(api_config(tmp_path), redis_url, token=None) as (_, client):
        document = await _document(client)
        async with client.post(OPENAPI_PATH) as response:  # only reading it is open
            assert response.status in (401, 405)
        async with client.get("/api/v1/openapi.json/x") as response:
            assert response.status == 401
    assert document["openapi"].startswith("3.1")
    assert document["servers"] == [{"url": "/api/v1"}]
    assert _routes(api_app()) == _described(document)
    for path, item in document["paths"].items():
        names = {p["name"] for p in item.get("parameters", []) if p["in"] == "path"}
        for method in METHODS & set(item):
            names |= {p["name"] for p in item[method].get("parameters", []) if p["in"] == "path"}
        assert names == {part[1:-1] for part in path.split("/") if part.startswith("{")}, path
        for method in METHODS & set(item):
            operation = item[method]
            assert operation["responses"], (path, method)
            if path != "/openapi.json":
                assert "401" in operation["responses"], (path, method)
    schemas = document["components"]["schemas"]
    for ref in _refs(document):
        assert ref.startswith("#/components/schemas/") and ref.rsplit("/", 1)[1] in schemas


async def test_answers_of_every_route_are_documented(
    redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    """One call per route (a good one, a bad one): each status is one the document lists."""
    calls: list[tuple[str, str, str, Any]] = [
        ("post", "/messages", "/messages", {"session": "api:t", "text": "hello"}),
        ("post", "/messages", "/messages", {"session": "telegram:1", "text": "x"}),
        ("get", "/sessions", "/sessions", None),
        ("get", "/sessions/{key}", "/sessions/api:t", None),
        ("get", "/sessions/{key}", "/sessions/api:none", None),
        ("post", "/sessions/{key}/stop", "/sessions/api:t/stop", None),
        ("delete", "/sessions/{key}", "/sessions/api:none", None),
        ("get", "/approvals", "/approvals?status=decided&limit=5", None),
        ("get", "/approvals", "/approvals?status=nope", None),
        ("post", "/approvals/{approval_id}", "/approvals/unknown", {"decision": "approve"}),
        ("post", "/approvals/{approval_id}", "/approvals/unknown", {"decision": "maybe"}),
        ("get", "/sessions/{key}/events", "/sessions/api:t/events?last_event_id=x", None),
        ("get", "/approvals/events", "/approvals/events?last_event_id=x", None),
        ("get", "/schedules", "/schedules", None),
        ("post", "/schedules", "/schedules", {"session": "api:t", "prompt": "p", "every": 3600}),
        ("post", "/schedules", "/schedules", {"session": "api:t", "prompt": "p", "cron": "x"}),
        ("delete", "/schedules/{schedule_id}", "/schedules/s0000000000", None),
        ("get", "/runtime", "/runtime", None),
        ("get", "/runtime/sessions", "/runtime/sessions", None),
        ("get", "/openapi.json", "/openapi.json", None),
    ]
    async with running(api_config(tmp_path), redis_url) as (_, client):
        document = await _document(client)
        for method, template, url, body in calls:
            async with client.request(method, "/api/v1" + url, json=body) as response:
                documented = document["paths"][template][method]["responses"]
                assert str(response.status) in documented, (method, url, response.status)
        for template, item in document["paths"].items():  # every route was called above
            for method in METHODS & set(item):
                assert any(c[0] == method and c[1] == template for c in calls), template
