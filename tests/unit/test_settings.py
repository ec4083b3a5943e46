"""Configuration from KHOOSHE_* variables: parsing, one-line errors, and a token that never leaks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.settings import TELEGRAM_API_URL, Settings, StorageSettings, describe_error

TOKEN = "123456:SuperSecretKey-xyz"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in list(os.environ):
        if name.startswith("KHOOSHE_"):
            monkeypatch.delenv(name)
    return monkeypatch


def settings() -> Settings:
    return Settings(_env_file=None)  # type: ignore[call-arg]


def error_line(monkeypatch: pytest.MonkeyPatch, cls: type = Settings) -> str:
    with pytest.raises(ValidationError) as info:
        cls(_env_file=None)
    line = describe_error(info.value)
    assert "\n" not in line
    return line


def test_defaults(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("KHOOSHE_TOKEN", TOKEN)
    s = settings()
    assert s.token.get_secret_value() == TOKEN
    assert s.api_url == TELEGRAM_API_URL
    assert s.db == Path("data/khooshe.db")
    assert s.tz == "Asia/Tehran"
    assert str(s.zone) == "Asia/Tehran"
    assert s.admins == frozenset()


def test_values_come_from_env(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_env.setenv("KHOOSHE_TOKEN", TOKEN)
    clean_env.setenv("KHOOSHE_API_URL", "https://tapi.bale.ai/bot")
    clean_env.setenv("KHOOSHE_DB", str(tmp_path / "x.db"))
    clean_env.setenv("KHOOSHE_TZ", "UTC")
    s = settings()
    assert s.api_url == "https://tapi.bale.ai/bot"
    assert s.db == tmp_path / "x.db"
    assert s.tz == "UTC"


def test_token_is_trimmed(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("KHOOSHE_TOKEN", f"  {TOKEN} ")
    assert settings().token.get_secret_value() == TOKEN


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1, 2", {1, 2}), ("42", {42}), ("1;2 , 3", {1, 2, 3}), ("", set()), (" 7 ,, 7 ", {7})],
)
def test_admins_parsing(clean_env: pytest.MonkeyPatch, raw: str, expected: set[int]) -> None:
    clean_env.setenv("KHOOSHE_TOKEN", TOKEN)
    clean_env.setenv("KHOOSHE_ADMINS", raw)
    assert settings().admins == frozenset(expected)


@pytest.mark.parametrize("raw", ["a", "1, two", "1.5"])
def test_bad_admins_name_the_variable(clean_env: pytest.MonkeyPatch, raw: str) -> None:
    clean_env.setenv("KHOOSHE_TOKEN", TOKEN)
    clean_env.setenv("KHOOSHE_ADMINS", raw)
    line = error_line(clean_env)
    assert line.startswith("KHOOSHE_ADMINS ")
    assert "invalid" in line


def test_missing_token(clean_env: pytest.MonkeyPatch) -> None:
    assert error_line(clean_env) == "KHOOSHE_TOKEN is not set"


@pytest.mark.parametrize("bad", ["justakey", "abc:def", "123:", ":abc"])
def test_malformed_token_is_reported_without_echoing_it(
    clean_env: pytest.MonkeyPatch, bad: str
) -> None:
    clean_env.setenv("KHOOSHE_TOKEN", bad)
    line = error_line(clean_env)
    assert line.startswith("KHOOSHE_TOKEN is invalid")
    assert bad not in line.removeprefix("KHOOSHE_TOKEN is invalid")


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "Tehran", "../../etc/passwd"])
def test_unknown_time_zone(clean_env: pytest.MonkeyPatch, zone: str) -> None:
    clean_env.setenv("KHOOSHE_TOKEN", TOKEN)
    clean_env.setenv("KHOOSHE_TZ", zone)
    line = error_line(clean_env)
    assert line.startswith("KHOOSHE_TZ is invalid")


def test_storage_settings_need_no_token_but_check_the_zone(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("KHOOSHE_DB", "/tmp/somewhere.db")
    storage = StorageSettings(_env_file=None)  # type: ignore[call-arg]
    assert storage.db == Path("/tmp/somewhere.db")
    clean_env.setenv("KHOOSHE_TZ", "Nowhere/Land")
    assert error_line(clean_env, StorageSettings).startswith("KHOOSHE_TZ is invalid")


def test_bad_api_url(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("KHOOSHE_TOKEN", TOKEN)
    clean_env.setenv("KHOOSHE_API_URL", "tapi.bale.ai/bot")
    assert error_line(clean_env).startswith("KHOOSHE_API_URL is invalid")


def test_describe_error_of_other_exceptions() -> None:
    assert describe_error(RuntimeError("boom")) == "boom"


def test_token_never_appears_in_repr_or_str(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("KHOOSHE_TOKEN", TOKEN)
    clean_env.setenv("KHOOSHE_ADMINS", "5")
    s = settings()
    for shown in (repr(s), str(s), repr(s.token), str(s.token), f"{s}"):
        assert TOKEN not in shown
        assert "SuperSecretKey" not in shown


@pytest.mark.parametrize(
    ("api_url", "file_url"),
    [
        ("https://tapi.bale.ai/bot", "https://tapi.bale.ai/file/bot"),
        ("https://tapi.bale.ai/bot/", "https://tapi.bale.ai/file/bot"),
        ("http://127.0.0.1:8081/bot", "http://127.0.0.1:8081/file/bot"),
        ("https://api.telegram.org/bot", "https://api.telegram.org/file/bot"),
        ("http://localhost:9000/custom", "http://localhost:9000/custom/file/bot"),
    ],
)
def test_file_url(clean_env: pytest.MonkeyPatch, api_url: str, file_url: str) -> None:
    clean_env.setenv("KHOOSHE_TOKEN", TOKEN)
    clean_env.setenv("KHOOSHE_API_URL", api_url)
    assert settings().file_url == file_url


def test_env_file_is_read_when_given(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(f"KHOOSHE_TOKEN={TOKEN}\nKHOOSHE_ADMINS=3,4\n", encoding="utf-8")
    s = Settings(_env_file=env_file)  # type: ignore[call-arg]
    assert s.admins == frozenset({3, 4})
    assert s.token.get_secret_value() == TOKEN


def test_long_polling_is_the_default(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("KHOOSHE_TOKEN", TOKEN)
    s = settings()
    assert (s.webhook_url, s.webhook_listen, s.webhook_port, s.webhook_secret) == (None, "127.0.0.1", 8443, None)


@pytest.mark.parametrize("port", ["", ":443", ":88"])
def test_bale_takes_a_webhook_on_443_or_88(clean_env: pytest.MonkeyPatch, port: str) -> None:
    clean_env.setenv("KHOOSHE_TOKEN", TOKEN)
    clean_env.setenv("KHOOSHE_API_URL", "https://tapi.bale.ai/bot")
    clean_env.setenv("KHOOSHE_WEBHOOK_URL", f"https://bot.example.org{port}/khooshe")
    assert settings().webhook_url == f"https://bot.example.org{port}/khooshe"


@pytest.mark.parametrize("port", ["8443", "80"])
def test_bale_refuses_a_webhook_on_another_port(clean_env: pytest.MonkeyPatch, port: str) -> None:
    clean_env.setenv("KHOOSHE_TOKEN", TOKEN)
    clean_env.setenv("KHOOSHE_API_URL", "https://tapi.bale.ai/bot")
    clean_env.setenv("KHOOSHE_WEBHOOK_URL", f"https://bot.example.org:{port}/khooshe")
    line = error_line(clean_env)
    assert line.startswith("KHOOSHE_WEBHOOK_URL is invalid")
    assert "443 or 88" in line and port in line


def test_telegram_takes_a_webhook_on_8443(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("KHOOSHE_TOKEN", TOKEN)
    clean_env.setenv("KHOOSHE_WEBHOOK_URL", "https://bot.example.org:8443/khooshe")
    assert settings().webhook_url == "https://bot.example.org:8443/khooshe"


def test_a_public_webhook_must_be_https(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("KHOOSHE_TOKEN", TOKEN)
    clean_env.setenv("KHOOSHE_WEBHOOK_URL", "http://bot.example.org/khooshe")
    line = error_line(clean_env)
    assert line.startswith("KHOOSHE_WEBHOOK_URL is invalid") and "https://" in line


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_a_local_webhook_may_be_plain_http_on_any_port(clean_env: pytest.MonkeyPatch, host: str) -> None:
    clean_env.setenv("KHOOSHE_TOKEN", TOKEN)
    clean_env.setenv("KHOOSHE_PLATFORM", "bale")
    clean_env.setenv("KHOOSHE_WEBHOOK_URL", f"http://{host}:18443/khooshe")
    assert settings().webhook_url == f"http://{host}:18443/khooshe"


def test_a_webhook_secret_with_other_characters_is_refused_without_echoing_it(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("KHOOSHE_TOKEN", TOKEN)
    clean_env.setenv("KHOOSHE_WEBHOOK_SECRET", "my secret/with spaces!")
    line = error_line(clean_env)
    assert line.startswith("KHOOSHE_WEBHOOK_SECRET is invalid") and "my secret" not in line


def test_http_client_and_event_loop(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("KHOOSHE_TOKEN", TOKEN)
    assert (settings().http, settings().loop) == ("aiohttp", "asyncio")
    clean_env.setenv("KHOOSHE_HTTP", "httpx")
    clean_env.setenv("KHOOSHE_LOOP", "auto")
    assert (settings().http, settings().loop) == ("httpx", "auto")
    clean_env.setenv("KHOOSHE_HTTP", "requests")
    assert error_line(clean_env).startswith("KHOOSHE_HTTP is invalid")
