"""The commented starter config that ``facio init`` writes.

It must run offline out of the box (the scripted demo model, every channel
off, every secret optional), and teach by its comments how to switch to a
real model and turn on Telegram, Slack or Discord. It holds a fresh gateway token, so the file
is private to its owner (mode 0600).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from core.config.loader import CONFIG_NAME
from core.errors import ConfigError

__all__ = ["render_starter", "write_starter"]

_TOKEN_MARK = "@API_TOKEN@"

_TEMPLATE = """\
// facio configuration: JSON with comments (// and /* */) and trailing commas.
// Any string may use ${VAR} or ${VAR:-default}, filled from the environment
// when facio starts; write $${ for a literal ${.
{
  // Sessions, permissions and the embedded Redis live here (relative to this file).
  "workspace": "./workspace",

  // "" starts an embedded Redis inside the workspace (enough for `facio up`).
  // Separate `facio gateway` and `facio worker` processes need a shared one,
  // e.g. REDIS_URL=redis://127.0.0.1:6379/0.
  "redis": { "url": "${REDIS_URL:-}" },

  "agent": {
    // "scripted:demo" is a built-in offline model: no API key, canned answers.
    // For a real model: export OPENAI_API_KEY=sk-..., set "model" to
    // "openai:gpt-4.1-mini" and bots.main.preset to "assistant" (below).
    // Others: "anthropic:claude-sonnet-4-5" (ANTHROPIC_API_KEY), "ollama:llama3.2".
    "model": "scripted:demo",
    "maxTurns": 50,
    "executionTimeout": 300,  // seconds of code execution per call
    "approvalTimeout": 3600,  // seconds before an unanswered approval counts as rejected
    "approvalHold": 120,      // seconds a worker waits for a click before parking the session
    "maxSubagents": 5
  },

  "providers": {
    "openai": { "apiKey": "${OPENAI_API_KEY:-}" },
    "anthropic": { "apiKey": "${ANTHROPIC_API_KEY:-}" }
  },

  // "demo" pairs with the scripted model; use "assistant" with a real model.
  // "allow" lists tools that run without asking; everything else asks first.
  // "tools" (the preset's unless set) may name your own @tool functions by
  // import path: "invoices:send_invoice" for invoices.py next to this file.
  "bots": {
    "main": { "preset": "demo", "allow": [] }
  },

  "channels": {
    // Telegram: create a bot with @BotFather, export TELEGRAM_BOT_TOKEN=...,
    // set "enabled": true and put your user id or @username in "allowFrom"
    // (nobody else can talk to the bot; a stranger is told their id).
    "telegram": {
      "enabled": false,
      "bot": "main",
      "token": "${TELEGRAM_BOT_TOKEN:-}",
      "mode": "polling",
      "allowFrom": [],
      "approvers": [],      // empty: whoever started the turn approves
      "groupPolicy": "mention"
    },
    // Slack: create the app from config/slack-app-manifest.json (api.slack.com/apps →
    // Create New App → From a manifest), install it, export SLACK_BOT_TOKEN (xoxb-...)
    // and SLACK_APP_TOKEN (xapp-..., Socket Mode: no public URL needed), set
    // "enabled": true and put your member id (U...) in "allowFrom". docs/slack.md.
    "slack": {
      "enabled": false,
      "bot": "main",
      "botToken": "${SLACK_BOT_TOKEN:-}",
      "appToken": "${SLACK_APP_TOKEN:-}",
      "signingSecret": "${SLACK_SIGNING_SECRET:-}",  // "http" mode only
      "mode": "socket",        // or "http": Events API and buttons on gateway path /slack/events
      "allowFrom": [],
      "approvers": [],         // empty: whoever started the turn approves
      "channelPolicy": "mention"  // in channels: mentions open a thread, answered without mention
    },
    // Discord: create an application and its bot in the Developer Portal, enable the
    // Message Content intent (Bot → Privileged Gateway Intents), export
    // DISCORD_BOT_TOKEN=..., set "enabled": true and put your user id or username in
    // "allowFrom". `facio doctor` checks the token and prints the invite URL.
    "discord": {
      "enabled": false,
      "bot": "main",
      "token": "${DISCORD_BOT_TOKEN:-}",
      "allowFrom": [],
      "approvers": [],      // empty: whoever started the turn approves
      "guildPolicy": "mention"
    }
  },

  // MCP servers, e.g. "time": { "command": "uvx", "args": ["mcp-server-time"] }
  // or "docs": { "url": "http://127.0.0.1:9000/mcp" }.
  "mcpServers": {},
  // MCP servers the agent calls from Python code, through generated APIs.
  "ptcServers": {},

  // Code actions (the assistant preset): one Python kernel per conversation,
  // working in workspace/sessions/<conversation>/. See docs/code-actions.md.
  "code": {
    "poolSize": 1,             // kernels started ahead of need (~100 MB each)
    "idleTimeout": 900,        // seconds before an unused kernel is stopped
    "kernelInitTimeout": 60,
    "maxOutputChars": 20000,   // output the model sees per code action
    "env": {}                  // the kernel's environment: nothing else is passed on
  },

  "gateway": {
    "host": "127.0.0.1",
    "port": 8765,
    // Bearer token of the HTTP API (/api/v1), generated by `facio init`.
    // Keep it secret; FACIO_API_TOKEN overrides it.
    "apiToken": "${FACIO_API_TOKEN:-@API_TOKEN@}"
  },

  // Time zone of cron jobs and reminders that do not name one (IANA name).
  "timezone": "UTC",

  // Scheduled prompts: each due time starts one turn in its session, e.g.
  // { "name": "digest", "schedule": "0 8 * * 1-5", "session": "telegram:<chat id>",
  //   "prompt": "Summarize my open tasks.", "timezone": "Europe/Berlin" }
  "cron": []
}
"""


def render_starter(api_token: str | None = None) -> str:
    """The starter config text, with ``api_token`` or a fresh random one."""
    token = secrets.token_urlsafe(32) if api_token is None else api_token
    return _TEMPLATE.replace(_TOKEN_MARK, token)


def write_starter(directory: Path, *, force: bool = False) -> Path:
    """Write ``directory/config.json`` (mode 0600) and create ``directory/workspace/``.

    Raises:
        ConfigError: config.json exists and ``force`` is false, or it cannot be written.
    """
    directory = Path(directory)
    path = directory / CONFIG_NAME
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if force else os.O_EXCL)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, flags, 0o600)
    except FileExistsError as exc:
        raise ConfigError(
            f"{path} already exists; not overwriting it (use --force to replace it)"
        ) from exc
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from exc
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        os.fchmod(out.fileno(), 0o600)  # an overwritten file keeps its old mode otherwise
        out.write(render_starter())
    (directory / "workspace").mkdir(exist_ok=True)
    return path
