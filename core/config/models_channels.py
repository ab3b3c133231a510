"""`channels`: the chat platforms the gateway connects to.

Every channel is off by default. An enabled channel must have its tokens;
that it names an existing bot is checked on the root, which knows `bots`.
"""

from __future__ import annotations

import re
from typing import ClassVar, Literal, Self
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator

from core.config.models_base import ConfigModel, Loc, Name, UserRef, fail

_ENABLED = "required when the channel is enabled"
_WEBHOOK_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_USERNAME = re.compile(r"^@\S+$")
_WORD = re.compile(r"^\w+$")
_DISCORD_NAME = re.compile(r"^(?=.*[a-z_.])[a-z0-9_.]{2,32}$")
"""A Discord username (not all digits: that is an id)."""


def _http_url(value: str) -> bool:
    """An http(s) URL with a host and neither query nor fragment (paths are appended to it)."""
    try:
        parts = urlsplit(value)
        _ = parts.port  # a bad port raises
    except ValueError:
        return False
    return (
        parts.scheme in ("http", "https")
        and bool(parts.hostname)
        and not parts.query
        and not parts.fragment
        and not any(c.isspace() for c in value)
    )


def _ws_url(value: str) -> bool:
    """A ws(s) URL with a host and no fragment (discord.py replaces any query)."""
    try:
        parts = urlsplit(value)
        _ = parts.port
    except ValueError:
        return False
    return (
        parts.scheme in ("ws", "wss")
        and bool(parts.hostname)
        and not parts.fragment
        and not any(c.isspace() for c in value)
    )


def _require(title: str, needed: list[tuple[str, SecretStr | str, str]]) -> None:
    """Fail with one problem per `(alias, value, message)` whose value is blank."""

    def blank(value: SecretStr | str) -> bool:
        text = value.get_secret_value() if isinstance(value, SecretStr) else value
        return not text.strip()

    problems: list[tuple[Loc, str]] = [
        ((alias,), message) for alias, value, message in needed if blank(value)
    ]
    if problems:
        fail(title, problems)


class ChannelConfig(ConfigModel):
    """What every channel has: on/off, the bot it serves, who may talk and approve."""

    USER_ID: ClassVar[re.Pattern[str]] = re.compile(r"^[0-9]+$")
    """What a user id looks like on the platform (Telegram and Discord: digits)."""
    USER_ID_WORDS: ClassVar[str] = "a numeric user id"

    enabled: bool = False
    """Connect this channel when the gateway starts."""

    bot: Name = "main"
    """The bot (a key of `bots`) that answers on this channel."""

    api_base: str = ""
    """Base URL of the platform API: "" is the public one; else an http(s) URL with a host,
    for a local or test server (`http://127.0.0.1:8081`)."""

    allow_from: list[UserRef] = Field(default_factory=list)
    """User ids and `@usernames` allowed to talk to the bot; empty means nobody."""

    approvers: list[UserRef] = Field(default_factory=list)
    """Who may decide approvals (ids or `@usernames`; ids are safer: a username can be
    given up and taken by someone else); empty means only the person who asked."""

    @field_validator("api_base")
    @classmethod
    def _api_base_is_a_url(cls, value: str) -> str:
        if value and not _http_url(value):
            raise ValueError(
                'expected "" (the public API) or an http(s) URL with a host, '
                f"like http://127.0.0.1:8081; got {value!r}"
            )
        return value

    @field_validator("allow_from", "approvers")
    @classmethod
    def _ids_or_usernames(cls, value: list[str]) -> list[str]:
        problems: list[tuple[Loc, str]] = []
        for index, entry in enumerate(value):
            entry = entry.strip()
            if cls.USER_ID.match(entry) or _USERNAME.match(entry):
                continue
            hint = f' (for a username write "@{entry}")' if _WORD.match(entry) else ""
            problems.append(
                ((index,), f"{entry!r} is neither {cls.USER_ID_WORDS} nor an @username{hint}")
            )
        if problems:
            fail(cls.__name__, problems)
        return value


class TelegramConfig(ChannelConfig):
    """A Telegram bot, by long polling or a webhook."""

    token: SecretStr = SecretStr("")
    """Bot token from @BotFather."""

    mode: Literal["polling", "webhook"] = "polling"
    """How updates arrive: long polling (no public URL needed) or a webhook."""

    webhook_url: str = ""
    """Public HTTPS URL Telegram posts updates to (webhook mode)."""

    webhook_secret: SecretStr = SecretStr("")
    """Secret Telegram echoes in a header so forged webhook calls are refused (401); empty
    derives one from the token, the same in every gateway. Only `A-Z a-z 0-9 _ -`."""

    group_policy: Literal["mention", "open"] = "mention"
    """In groups: answer only when mentioned or replied to, or answer every message."""

    show_thoughts: bool = False
    """Show the model's thinking in the chat."""

    stream_interval: float = Field(default=1.0, ge=0.05, le=60)
    """Seconds between edits of an answer as it streams; groups use at least 3 (Telegram
    allows about one message a second per chat and 20 a minute per group)."""

    max_file_size: int = Field(default=20_000_000, ge=0)
    """Largest file (bytes) a person may send; it is saved under
    `<workspace>/uploads/telegram/`. The public Bot API serves files up to 20 MB."""

    @field_validator("webhook_secret")
    @classmethod
    def _secret_charset(cls, value: SecretStr) -> SecretStr:
        secret = value.get_secret_value()
        if secret and not _WEBHOOK_SECRET.match(secret):
            raise ValueError("use 1-256 characters from A-Z, a-z, 0-9, _ and - (Telegram's rule)")
        return value

    @model_validator(mode="after")
    def _enabled_needs_token(self) -> Self:
        if self.enabled:
            needed: list[tuple[str, SecretStr | str, str]] = [("token", self.token, _ENABLED)]
            if self.mode == "webhook":
                needed.append(("webhookUrl", self.webhook_url, "required in webhook mode"))
            _require("TelegramConfig", needed)
        return self


class SlackConfig(ChannelConfig):
    """A Slack app, by Socket Mode or the HTTP Events API (docs/slack.md)."""

    USER_ID: ClassVar[re.Pattern[str]] = re.compile(r"^\S+$")
    """Slack user ids (`U…`, `W…`, and whatever an Enterprise Grid hands out): any id string."""
    USER_ID_WORDS: ClassVar[str] = "a Slack user id"

    bot_token: SecretStr = SecretStr("")
    """Bot User OAuth Token (`xoxb-…`), the Bearer of every Web API call."""

    app_token: SecretStr = SecretStr("")
    """App-level token (`xapp-…`, scope `connections:write`) that opens Socket Mode."""

    signing_secret: SecretStr = SecretStr("")
    """Signing secret that verifies HTTP requests from Slack (http mode): anything not
    signed with it, or signed more than five minutes ago, is refused (401)."""

    mode: Literal["socket", "http"] = "socket"
    """Socket Mode (no public URL needed; needs `appToken`) or the HTTP Events API (needs
    `signingSecret` and a public HTTPS URL forwarded to `path`)."""

    path: str = "/slack/events"
    """Http mode: the path of the gateway's HTTP server that takes both the Events API and
    interactivity (the Request URL of both is `https://<your host><path>`)."""

    channel_policy: Literal["mention", "open"] = "mention"
    """In channels: answer mentions, then every message of the thread a mention opened
    ("mention"), or every message of an allowed person ("open")."""

    show_thoughts: bool = False
    """Show the model's thinking in the chat (a quoted message)."""

    stream_interval: float = Field(default=1.5, ge=0.05, le=60)
    """Seconds between `chat.update`s of an answer as it streams; channels use at least 2
    (`chat.update` is a Tier 3 method: about 50 calls a minute per workspace)."""

    max_file_size: int = Field(default=20_000_000, ge=0)
    """Largest file (bytes) a person may share with the bot; it is saved under
    `<workspace>/uploads/slack/`. Bigger files are refused with a note."""

    @field_validator("path")
    @classmethod
    def _path_is_absolute(cls, value: str) -> str:
        if not value.startswith("/") or any(c.isspace() or c in "?#" for c in value):
            raise ValueError(f'expected a URL path like "/slack/events"; got {value!r}')
        return value

    @model_validator(mode="after")
    def _enabled_needs_tokens(self) -> Self:
        if self.enabled:
            needed: list[tuple[str, SecretStr | str, str]] = [
                ("botToken", self.bot_token, _ENABLED)
            ]
            if self.mode == "socket":
                needed.append(("appToken", self.app_token, "required in socket mode"))
            else:
                needed.append(("signingSecret", self.signing_secret, "required in http mode"))
            _require("SlackConfig", needed)
        return self


class DiscordConfig(ChannelConfig):
    """A Discord bot on the gateway websocket (details in docs/discord.md)."""

    token: SecretStr = SecretStr("")
    """Bot token (Developer Portal → your application → Bot → Reset Token)."""

    api_base: str = ""
    """Discord's REST base, `/api/v10` included: "" is https://discord.com/api/v10; else an
    http(s) URL with a host (a test server: `http://127.0.0.1:8080/api/v10`)."""

    gateway_url: str = ""
    """The gateway websocket discord.py connects to: "" is Discord's
    (wss://gateway.discord.gg/); else a ws(s) URL (a test server)."""

    allow_from: list[UserRef] = Field(default_factory=list)
    """User ids and usernames (`alice` or `@alice`) allowed to talk to the bot; empty means
    nobody. Ids are safer: a username can be given up and taken by someone else."""

    guild_policy: Literal["mention", "open"] = "mention"
    """In guild channels and threads: answer only messages that mention the bot or reply to
    it, or answer every message of an allowed person. DMs are always answered."""

    show_thoughts: bool = False
    """Show the model's thinking in the chat (as a quote)."""

    stream_interval: float = Field(default=1.0, ge=0.05, le=60)
    """Seconds between edits of an answer as it streams; in guilds at least 1.5 (Discord
    allows about five message edits per five seconds per channel)."""

    max_file_size: int = Field(default=25_000_000, ge=0)
    """Largest attachment (bytes) a person may send; it is saved under
    `<workspace>/uploads/discord/`."""

    @field_validator("allow_from", "approvers", mode="before")
    @classmethod
    def _bare_usernames(cls, value: object) -> object:
        """Discord usernames (lower case, 2-32 of `a-z 0-9 _ .`) may be written without `@`."""
        if not isinstance(value, list):
            return value
        return [
            f"@{entry.strip()}"
            if isinstance(entry, str) and _DISCORD_NAME.match(entry.strip())
            else entry
            for entry in value
        ]

    @field_validator("gateway_url")
    @classmethod
    def _gateway_is_a_websocket(cls, value: str) -> str:
        if value and not _ws_url(value):
            raise ValueError(
                'expected "" (Discord\'s gateway) or a ws(s) URL with a host, '
                f"like ws://127.0.0.1:8080/gateway; got {value!r}"
            )
        return value

    @model_validator(mode="after")
    def _enabled_needs_token(self) -> Self:
        if self.enabled:
            _require("DiscordConfig", [("token", self.token, _ENABLED)])
        return self


class ChannelsConfig(ConfigModel):
    """The chat platforms; the API channel is always on with the gateway."""

    telegram: TelegramConfig = Field(default_factory=TelegramConfig)
    """Telegram bot settings."""

    slack: SlackConfig = Field(default_factory=SlackConfig)
    """Slack app settings."""

    discord: DiscordConfig = Field(default_factory=DiscordConfig)
    """Discord bot settings."""

    def enabled(self) -> dict[str, ChannelConfig]:
        """The enabled channels by name, in a stable order."""
        named: dict[str, ChannelConfig] = {
            "telegram": self.telegram,
            "slack": self.slack,
            "discord": self.discord,
        }
        return {name: channel for name, channel in named.items() if channel.enabled}
