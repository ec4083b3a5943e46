"""Configuration from KHOOSHE_* environment variables or a .env file."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.domain.platforms import Platform, PlatformName, platform_for

TELEGRAM_API_URL = "https://api.telegram.org/bot"
# Hosts the platform never posts to: a webhook there is a local test set-up, exempt from the
# platform's https and port rules.
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


class StorageSettings(BaseSettings):
    """What the operator commands need: where the database is and which clock it keeps."""

    model_config = SettingsConfigDict(
        env_prefix="KHOOSHE_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    db: Path = Path("data/khooshe.db")
    tz: str = "Asia/Tehran"

    @field_validator("tz")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)


class OperatorSettings(StorageSettings):
    """What the round life cycle needs, from the bot and the command line alike: who the admins
    are (they hear when a round opens or closes by itself), reminders and quiet hours."""

    admins: Annotated[frozenset[int], NoDecode] = Field(default_factory=frozenset)
    # Reminders: days before a round closes, and hours after which an untouched draft is nudged.
    reminder_days: Annotated[tuple[int, ...], NoDecode] = (7, 3, 1)
    stale_draft_hours: int = 48
    # Nothing bulk is sent in quiet hours (local time) or on quiet days (0 = Monday … 4 = Friday).
    quiet_hours: str = "21:00-08:00"
    quiet_days: Annotated[tuple[int, ...], NoDecode] = (4,)
    # Chats that hear about failures (a user id or a group's negative id); unset: the admins.
    alert_chat: Annotated[tuple[int, ...], NoDecode] = ()

    @field_validator("reminder_days", "quiet_days", "alert_chat", mode="before")
    @classmethod
    def _parse_int_list(cls, value: object) -> object:
        if isinstance(value, str):
            try:
                return tuple(int(p) for p in value.replace(";", ",").split(",") if p.strip())
            except ValueError:
                raise ValueError("must be comma-separated whole numbers") from None
        return value

    @field_validator("quiet_hours")
    @classmethod
    def _quiet_hours_shape(cls, value: str) -> str:
        from bot.domain.quiet_hours import parse_span

        parse_span(value)
        return value

    @field_validator("admins", mode="before")
    @classmethod
    def _parse_admins(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [p.strip() for p in value.replace(";", ",").split(",") if p.strip()]
            try:
                return frozenset(int(p) for p in parts)
            except ValueError:
                raise ValueError("must be comma-separated numeric user ids") from None
        return value

    @property
    def operators(self) -> tuple[int, ...]:
        """Where failures are reported: ``alert_chat``, or else every configured admin."""
        return self.alert_chat or tuple(sorted(self.admins))


class Settings(OperatorSettings):
    """Everything an operator sets; built once in ``main()`` and handed down."""

    token: SecretStr
    api_url: str = TELEGRAM_API_URL
    # telegram or bale; unset, it follows api_url's host (tapi.bale.ai is Bale).
    platform: PlatformName | None = None
    # Different users are served side by side, each user's own updates strictly in order.
    max_concurrent_updates: int = 16
    # Bulk messages per second; Telegram allows about 30 overall, interactive replies share it.
    send_rate: float = 29.0
    # Bulk sends in flight at most, all within send_rate: enough that a slow Bot API (300 ms a
    # round trip needs ~9 at 29/s) does not lower the rate; fewer go when the API is fast.
    send_concurrency: int = Field(default=16, ge=1, le=100)
    # Seconds a bulk send waits for the Bot API's answer once the request is out: past it the
    # message may have arrived and is counted uncertain, never resent, so a slow but working
    # server (answers in 3-7 s) must not get there.
    bulk_read_timeout: float = Field(default=20.0, gt=0)
    # The same for replies to users and every other call: past it a reply is sent again (and may
    # then arrive twice), so a slow but working server (3-7 s) must not get there either.
    reply_read_timeout: float = Field(default=10.0, gt=0)
    # One user's updates: this many at once, then this many per second; the rest are dropped
    # (with one "slow down" notice), so one flooding user cannot slow everyone else.
    user_burst: int = Field(default=30, ge=1)
    user_rate: float = Field(default=5.0, gt=0)
    # How many users' state (conversation positions, language, rate bucket) is held in memory;
    # the least recently seen beyond it are forgotten and read back from the database when they
    # write again (bot.resident).
    resident_users: int = Field(default=2_000, ge=1)
    # How long one getUpdates long poll waits for updates, in seconds.
    poll_timeout: float = Field(default=30.0, ge=0, le=50)
    # How often the scheduler looks for due rounds and reminders, in seconds.
    tick_seconds: float = 15.0
    # How long a manager invitation link stays valid, in hours.
    invitation_hours: int = Field(default=72, gt=0)
    # A CSV file an admin sends to import estates or clusters: at most this many bytes (the
    # download stops past it) and this many rows (the file is refused as a whole past either).
    import_max_bytes: int = Field(default=2 * 1024 * 1024, ge=1)
    import_max_rows: int = Field(default=20_000, ge=1)
    # Where exports, imports and scoring do their CPU work (bot.services.offload).
    offload: Literal["thread", "process"] = "process"
    # Webhooks instead of long polling (README "Webhooks"): the public https URL the platform
    # posts to; unset, the bot polls.  The bot adds a secret path segment to it.
    webhook_url: str | None = None
    # Where the bot's own HTTP server listens, behind the reverse proxy that terminates https.
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = Field(default=8443, ge=1, le=65535)
    # Telegram's secret_token header, and the seed of the secret path segment (both platforms);
    # unset, it is derived from the token (stable across restarts, unguessable without it).
    webhook_secret: SecretStr | None = None
    # The HTTP client of Bot API calls (bot.transport): aiohttp is faster; httpx is PTB's own.
    http: Literal["aiohttp", "httpx"] = "aiohttp"
    # The event loop: asyncio's own; uvloop (optional extra) measured no clear gain (bench/README.md).
    loop: Literal["auto", "uvloop", "asyncio"] = "asyncio"

    @field_validator("token")
    @classmethod
    def _token_shape(cls, value: SecretStr) -> SecretStr:
        secret = value.get_secret_value().strip()
        bot_id, _, key = secret.partition(":")
        if not (bot_id.isdigit() and key):
            raise ValueError("must look like 123456:ABC-DEF (the bot id, a colon, the key)")
        return SecretStr(secret)

    @field_validator("api_url")
    @classmethod
    def _api_url_shape(cls, value: str) -> str:
        value = value.strip()
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL such as https://tapi.bale.ai/bot")
        return value

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url_shape(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip()
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be the public https:// URL the platform posts updates to")
        if parts.query or parts.fragment:
            raise ValueError("must not have a query (?…) or a fragment (#…)")
        if parts.hostname.lower() in LOCAL_HOSTS:
            return value  # a local test: the platform itself could never reach it
        if parts.scheme != "https":
            raise ValueError("must start with https:// (platforms post only to https)")
        try:
            port = parts.port or 443
        except ValueError:
            raise ValueError("has an invalid port") from None
        api_url = info.data.get("api_url", TELEGRAM_API_URL)
        platform = platform_for(api_url if isinstance(api_url, str) else TELEGRAM_API_URL, info.data.get("platform"))
        if platform.webhook_ports is not None and port not in platform.webhook_ports:
            allowed = " or ".join(str(p) for p in platform.webhook_ports)
            raise ValueError(f"{platform.name} posts webhooks only to port {allowed}, not {port}"
                             " (let the reverse proxy listen there)")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _webhook_secret_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        secret = value.get_secret_value().strip()
        if not re.fullmatch(r"[A-Za-z0-9_-]{16,256}", secret):
            raise ValueError("must be 16 to 256 characters, only A-Z, a-z, 0-9, _ and -")
        return SecretStr(secret)

    @property
    def messenger(self) -> Platform:
        """What the messenger behind ``api_url`` can and cannot do."""
        return platform_for(self.api_url, self.platform)

    @property
    def file_url(self) -> str:
        """The file download base that matches ``api_url`` (…/bot → …/file/bot)."""
        base = self.api_url.rstrip("/")
        if base.endswith("/bot"):
            return base[: -len("/bot")] + "/file/bot"
        return base + "/file/bot"


def describe_error(exc: Exception) -> str:
    """One line naming the first bad or missing setting, without echoing secret values."""
    from pydantic import ValidationError

    if isinstance(exc, ValidationError) and exc.errors():
        err = exc.errors()[0]
        field = str(err["loc"][0]) if err["loc"] else "?"
        name = f"KHOOSHE_{field.upper()}"
        if err["type"] == "missing":
            return f"{name} is not set"
        return f"{name} is invalid: {err['msg'].removeprefix('Value error, ')}"
    return str(exc)
