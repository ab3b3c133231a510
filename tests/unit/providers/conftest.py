from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.fakes.llm_server import FakeLLMServer
from tests.unit.providers.support import API_KEY, RecordingSleep


@pytest.fixture
async def llm_server() -> AsyncIterator[FakeLLMServer]:
    async with FakeLLMServer(api_key=API_KEY) as server:
        yield server


@pytest.fixture
async def http_client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5.0) as client:
        yield client


@pytest.fixture
def sleep() -> RecordingSleep:
    return RecordingSleep()
