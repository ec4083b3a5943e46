"""Khooshe running in the test process against the fake Bot API: seeding, start and stop."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from telegram.ext import Application

from bot.application import (
    build_application,
    publish_commands,
    start_background,
    start_receiving,
    stop_background,
    stop_offload,
)
from bot.clock import Clock
from bot.context import Services
from bot.emulator import FakeBotApi, FakeUser
from bot.intake.webhook import start_webhook
from bot.services.places_import import add_clusters, add_estates, read_csv_file
from bot.services.rounds import TickReport
from bot.settings import Settings
from storage.database import Database
from tests.support.clock import TEST_NOW, TestClock

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample"
ADMIN_ID = 900001


async def seed(db: Database, *, open_round: bool = True, now: datetime = TEST_NOW) -> None:
    """Loads the sample estates and clusters and, optionally, opens a round closing 30 days after
    ``now`` (the test clock's moment)."""
    async with db.transaction() as repo:
        await add_estates(repo, read_csv_file(SAMPLE / "estates.csv"))
        await add_clusters(repo, read_csv_file(SAMPLE / "clusters.csv"))
        if open_round:
            await repo.rounds.create(
                title="Autumn 1405", questionnaire_version=1, opens_at=now - timedelta(hours=1),
                closes_at=now + timedelta(days=30), state="open",
            )


def make_settings(api: FakeBotApi, db_path: Path, **overrides: object) -> Settings:
    # Exports, imports and scoring run in threads unless a test asks for the worker process
    # (offload="process"): starting one costs about a second.
    overrides.setdefault("offload", "thread")
    overrides.setdefault("poll_timeout", 1)
    # Scripted users answer faster than any person; the per-user limit is tested on its own.
    overrides.setdefault("user_burst", 100_000)
    overrides.setdefault("platform", api.profile)
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        token=api.token, api_url=api.base_url, db=db_path, admins=frozenset({ADMIN_ID}),
        **overrides,
    )


@dataclass
class Khooshe:
    """The running bot, its database and the fake server it talks to."""

    api: FakeBotApi
    db: Database
    app: Application
    settings: Settings
    _choices: list[asyncio.Task[None]] = field(default_factory=list)

    @property
    def services(self) -> Services:
        return self.app.bot_data

    async def tick(self) -> TickReport:
        """Runs the scheduler once at the clock's current time and sends what is due."""
        report = await self.services.rounds.tick(self.services.clock.now())
        await self.drain()
        return report

    async def drain(self) -> int:
        """Sends what is due now and waits for the background worker's send in flight, if any."""
        assert self.services.worker is not None
        handled = 0
        while True:
            handled += await self.services.worker.drain()
            async with self.db.read() as repo:
                in_flight = (await repo.outbox.counts()).get("sending", 0)
            if not in_flight:
                return handled
            await asyncio.sleep(0.02)

    def user(self, user_id: int, first_name: str = "Ali", language_code: str = "fa") -> FakeUser:
        user = self.api.user(user_id, first_name=first_name, language_code=language_code)
        if self.api.bale and language_code != "fa" and user_id not in self.services.languages:
            # The bot knows the choice at once; the row follows before the user's first update
            # is handled (the task runs at the test's next await).
            self.services.languages[user_id] = language_code
            self._choices.append(asyncio.create_task(chose_language_earlier(self.db, user_id, language_code)))
        return user


async def chose_language_earlier(db: Database, user_id: int, language: str) -> None:
    """Bale sends no language_code, so a Bale user reads English only after choosing it; this
    is a user who chose it before the test begins (the choosing is tested on its own)."""
    async with db.transaction() as repo:
        await repo.users.ensure(user_id=user_id, language=language, first_name=None)
        await repo.users.set_language(user_id=user_id, language=language)


def free_port() -> int:
    """A port nothing listens on now (the bot's webhook server binds it a moment later)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def webhook_overrides(api: FakeBotApi) -> dict[str, object]:
    """Settings for webhook mode on 127.0.0.1; the fake is told to post to a local port (tests
    cannot bind 443 or 88, the only ports the real platforms post to)."""
    api.local_webhooks = True
    port = free_port()
    return {"webhook_url": f"http://127.0.0.1:{port}/khooshe", "webhook_port": port}


async def start_khooshe(
    api: FakeBotApi, db_path: Path, *, open_round: bool = True, clock: Clock | None = None,
    seeded: bool = False, webhook: bool = False, **overrides: object,
) -> Khooshe:
    """The bot in this process; ``webhook=True`` receives updates by webhook instead of polling."""
    if webhook:
        overrides = {**webhook_overrides(api), **overrides}
    settings = make_settings(api, db_path, **overrides)
    clock = clock or TestClock()
    db = Database(db_path)
    await db.connect()
    if not seeded:
        await seed(db, open_round=open_round, now=clock.now())
    if api.bale:
        for user in api.users.values():
            if user.language_code and user.language_code != "fa":
                await chose_language_earlier(db, user.id, user.language_code)
    app = build_application(settings, db, clock=clock)
    await app.initialize()
    await publish_commands(app)
    await app.start()
    if settings.webhook_url is None:
        await start_receiving(app)
    else:
        await start_receiving(app, poll=False)
        await start_webhook(app, backoff=(0.05, 0.1, 0.2))
    await start_background(app)
    return Khooshe(api, db, app, settings)


async def stop_khooshe(khooshe: Khooshe) -> None:
    """Stops the bot; safe to call twice (a test may have stopped it to restart)."""
    app = khooshe.app
    intake = khooshe.services.intake
    if khooshe.services.webhook is not None:
        await khooshe.services.webhook.stop()
    if intake is not None:
        await intake.stop_polling()
    await stop_background(app)
    if app.running:
        await app.stop()
    if intake is not None:
        await intake.close()
    await stop_offload()
    await app.shutdown()
    await khooshe.db.close()
