"""The shipped Slack app manifest grants what the channel uses and what doctor checks."""

from __future__ import annotations

import json
from pathlib import Path

from channels.slack.doctor import REQUIRED_SCOPES
from tests.fakes.slack_people import DEFAULT_SUBSCRIPTIONS

MANIFEST = Path(__file__).resolve().parents[3] / "config" / "slack-app-manifest.json"


def test_the_manifest_has_the_scopes_events_interactivity_and_socket_mode() -> None:
    manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert set(REQUIRED_SCOPES) <= scopes
    settings = manifest["settings"]
    assert set(settings["event_subscriptions"]["bot_events"]) == DEFAULT_SUBSCRIPTIONS
    assert settings["interactivity"]["is_enabled"] and settings["socket_mode_enabled"]
    assert manifest["features"]["app_home"]["messages_tab_enabled"]  # people can DM the bot
