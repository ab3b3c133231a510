from __future__ import annotations

import pytest

from tests.unit.agent.helpers import Recorder


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()
