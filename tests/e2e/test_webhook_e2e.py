"""Webhooks instead of long polling: the platform posts each update to the bot's own server,
which stores it before answering 200, refuses posts without the secret, handles a redelivered
update once, and answers a health check."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio

from bot.emulator import FakeBotApi
from bot.emulator.server import SECRET_HEADER
from storage.database import Database
from tests.support.bot_process import BotProcess
from tests.support.journeys import register
from tests.support.khooshe import Khooshe, free_port, seed, start_khooshe, stop_khooshe


@pytest_asyncio.fixture
async def hooked(api: FakeBotApi, db_path: Path) -> AsyncIterator[Khooshe]:
    running = await start_khooshe(api, db_path, webhook=True)
    yield running
    await stop_khooshe(running)


async def webhook_set(api: FakeBotApi, timeout: float = 10) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not api.webhook_url and loop.time() < deadline:
        await asyncio.sleep(0.02)
    assert api.webhook_url, "the bot never set its webhook"


def start_update(api: FakeBotApi, user_id: int, update_id: int, text: str = "/start") -> dict[str, object]:
    """A message update as the platform would post it."""
    api.user(user_id)
    message = {"message_id": api.next_message_id(user_id), "from": {"id": user_id, "is_bot": False, "first_name": "Ali"},
               "chat": api.chat_json(user_id), "date": int(time.time()), "text": text,
               "entities": [{"type": "bot_command", "offset": 0, "length": len(text)}]}
    return {"update_id": update_id, "message": message}


def platform_headers(api: FakeBotApi) -> dict[str, str]:
    """What the platform itself sends: the secret header on Telegram, nothing on Bale."""
    return {SECRET_HEADER: api.webhook_secret} if api.webhook_secret else {}


async def inbox_ids(db: Database) -> set[int]:
    async with db.read() as repo:
        rows = await repo.conn.execute_fetchall("SELECT update_id FROM inbox")
    return {int(r[0]) for r in rows}


async def test_an_owner_registers_through_webhook_delivery(hooked: Khooshe, api: FakeBotApi) -> None:
    owner = hooked.user(4101)
    await register(owner)
    async with hooked.db.read() as repo:
        assert await repo.firms.by_owner(owner.id) is not None
    assert api.calls_to("getUpdates") == []


async def test_a_post_with_a_wrong_path_secret_is_refused_and_never_handled(hooked: Khooshe, api: FakeBotApi) -> None:
    await webhook_set(api)
    intruder = start_update(api, 4102, update_id=900001)
    status = await api.post_to_webhook(intruder, path="/khooshe/not-the-secret", headers=platform_headers(api))
    assert status == 403
    owner = hooked.user(4103)
    await owner.send("/start")
    await owner.wait_for("بنگاه خود را ثبت کنید")
    assert 900001 not in await inbox_ids(hooked.db)
    assert api.messages(4102) == []


@pytest.mark.platforms("telegram")
@pytest.mark.parametrize("headers", [{}, {SECRET_HEADER: "not-the-secret-token"}], ids=["missing", "wrong"])
async def test_a_post_without_the_secret_header_is_refused_and_never_handled(
    hooked: Khooshe, api: FakeBotApi, headers: dict[str, str],
) -> None:
    """Telegram only: Bale sends no secret header, so there the path secret alone decides."""
    await webhook_set(api)
    status = await api.post_to_webhook(start_update(api, 4104, update_id=900002), headers=headers)
    assert status == 403
    owner = hooked.user(4105)
    await owner.send("/start")
    await owner.wait_for("بنگاه خود را ثبت کنید")
    assert 900002 not in await inbox_ids(hooked.db)
    assert api.messages(4104) == []


async def test_an_update_posted_twice_is_answered_once(hooked: Khooshe, api: FakeBotApi) -> None:
    await webhook_set(api)
    owner = hooked.user(4106)
    update = start_update(api, owner.id, update_id=900003)
    first = await api.post_to_webhook(update, headers=platform_headers(api))
    await owner.wait_for("بنگاه خود را ثبت کنید")
    second = await api.post_to_webhook(update, headers=platform_headers(api))
    assert (first, second) == (200, 200)
    assert await owner.settle() == []
    assert len(api.messages(owner.id)) == 1


async def test_garbage_is_refused_as_a_bad_request(hooked: Khooshe, api: FakeBotApi) -> None:
    await webhook_set(api)
    status = await api.post_to_webhook({"hello": "world"}, headers=platform_headers(api))  # type: ignore[arg-type]
    assert status == 400


async def test_the_health_endpoint_tells_the_platform_and_the_mode(hooked: Khooshe, api: FakeBotApi) -> None:
    await webhook_set(api)
    async with aiohttp.ClientSession() as session, \
            session.get(f"http://127.0.0.1:{hooked.settings.webhook_port}/healthz") as response:
        assert response.status == 200
        body = await response.json()
    assert body == {"ok": True, "platform": api.profile, "mode": "webhook", "webhook_set": True, "unhandled": 0}


async def test_a_refused_set_webhook_is_logged_once_and_retried_until_it_works(
    api: FakeBotApi, db_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    api.fail_next("setWebhook", 502, times=3)
    owner = api.user(4107)
    with caplog.at_level(logging.ERROR, logger="bot.intake.webhook"):
        running = await start_khooshe(api, db_path, webhook=True)
        try:
            await owner.send("/start")
            await owner.wait_for("بنگاه خود را ثبت کنید")
        finally:
            await stop_khooshe(running)
    lines = [r.getMessage() for r in caplog.records if "could not set the webhook" in r.getMessage()]
    assert len(lines) == 1 and "Bad Gateway" in lines[0]


@pytest_asyncio.fixture
async def hooked_process(api: FakeBotApi, tmp_path: Path) -> AsyncIterator[BotProcess]:
    db_path = tmp_path / "khooshe.db"
    async with Database(db_path) as db:
        await seed(db)
    api.local_webhooks = True  # tests cannot bind 443 or 88
    port = free_port()
    process = BotProcess(api, db_path, tmp_path / "bot.log", KHOOSHE_WEBHOOK_URL=f"http://127.0.0.1:{port}/khooshe",
                         KHOOSHE_WEBHOOK_PORT=str(port))
    process.start()
    await webhook_set(api, timeout=30)  # the child is up and listening
    yield process
    process.stop()


async def answered(api: FakeBotApi, timeout: float = 10) -> None:
    """Waits until every update was answered 200 by the bot's webhook."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while (api.updates or not api.webhook_url) and loop.time() < deadline:
        await asyncio.sleep(0.02)
    assert not api.updates, "the bot never answered its updates"


async def test_updates_answered_200_survive_a_sigkill(api: FakeBotApi, hooked_process: BotProcess) -> None:
    owner = api.user(4108)
    await register(owner)
    # The reply to /profile never arrives, so its handler is still running, and /help waits
    # behind it; the webhook answered 200 to both.
    api.hang_next("sendMessage", chat_id=owner.id)
    await owner.send("/profile")
    while not api.held:
        await asyncio.sleep(0.02)
    await owner.send("/help")
    await answered(api)
    hooked_process.kill()
    hooked_process.start()
    await owner.wait_for("مشخصات بنگاه شما", timeout=20)
    await owner.wait_for("/assess", timeout=10)


async def test_after_a_sigterm_the_webhook_stays_set_and_what_came_meanwhile_is_answered(
    api: FakeBotApi, hooked_process: BotProcess,
) -> None:
    owner = api.user(4109)
    await owner.send("/start")
    await owner.wait_for("بنگاه خود را ثبت کنید", timeout=20)
    exited = await hooked_process.terminate()
    assert exited.code == 0 and api.webhook_url
    await owner.send("/help")
    hooked_process.start()
    await owner.wait_for("/assess", timeout=20)


async def test_a_bot_back_on_long_polling_removes_the_old_webhook_and_serves(api: FakeBotApi, db_path: Path) -> None:
    api.local_webhooks = True
    api.webhook_url = f"http://127.0.0.1:{free_port()}/khooshe/old"  # left by an earlier run in webhook mode
    running = await start_khooshe(api, db_path)
    try:
        owner = running.user(4110)
        await owner.send("/start")
        await owner.wait_for("بنگاه خود را ثبت کنید")
        assert api.webhook_url == ""
    finally:
        await stop_khooshe(running)


async def test_a_webhook_port_already_taken_stops_the_bot_with_one_line(api: FakeBotApi, tmp_path: Path) -> None:
    import socket

    api.local_webhooks = True
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        log_path = tmp_path / "bot.log"
        process = BotProcess(api, tmp_path / "khooshe.db", log_path,
                             KHOOSHE_WEBHOOK_URL=f"http://127.0.0.1:{port}/khooshe", KHOOSHE_WEBHOOK_PORT=str(port))
        process.start()
        assert process.proc is not None
        while process.proc.poll() is None:
            await asyncio.sleep(0.05)
    log = log_path.read_text(encoding="utf-8")
    assert process.proc.returncode == 1
    assert f"error: cannot listen on 127.0.0.1:{port} for the webhook" in log and "Traceback" not in log
