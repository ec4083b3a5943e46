"""The playground in one process: the Bot API emulator, the bot (unchanged, over real HTTP to the
emulator) and the web chat, with the demo world, the personas, a clock and a platform switch."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.application import (
    build_application,
    publish_commands,
    start_background,
    start_receiving,
    stop_background,
    stop_offload,
)
from bot.clock import Clock
from bot.context import KhoosheApp, Services
from bot.domain.calendar import format_datetime
from bot.domain.text import localize_digits
from bot.emulator import FakeBotApi
from bot.settings import Settings
from storage.database import Database

from . import demo
from .chats import ChatUser, Hub

log = logging.getLogger("bot.playground")
TOKEN = "424242:PLAYGROUND"
NEW_OWNERS = 800_001


@dataclass(frozen=True)
class Persona:
    key: str
    user_id: int
    name: str
    role: str  # "owner" | "result" | "manager" | "admin" | "firm"

    def json(self) -> dict[str, Any]:
        return {"key": self.key, "id": self.user_id, "name": self.name, "role": self.role}


class Playground:
    """Starts and stops everything; what the web chat's controls call."""

    def __init__(self, db_path: Path, *, clock: Clock | None = None) -> None:
        """``clock``: where a new demo world's "now" is (the tests pin it); by default 10:00 of
        today, Tehran time."""
        self.db_path = db_path
        self._pinned = clock is not None
        self.state_path = db_path.with_name(db_path.name + ".playground.json")
        self.hub = Hub()
        self.clock = clock or Clock(offset=timedelta(0))
        self.db: Database | None = None
        self.api: FakeBotApi | None = None
        self.app: KhoosheApp | None = None
        self.profile = "telegram"
        self.new_owners = 0
        self.firms: list[tuple[int, str]] = []

    # -- state kept between runs: where the demo clock stands, the platform, new owners made --

    def _load_state(self) -> bool:
        if not self.state_path.exists():
            return False
        state = json.loads(self.state_path.read_text(encoding="utf-8"))
        self.clock.offset = timedelta(seconds=float(state["offset"]))
        self.profile = state.get("profile", "telegram")
        self.new_owners = int(state.get("new_owners", 0))
        return True

    def _save_state(self) -> None:
        state = {"offset": self.clock.offset.total_seconds(), "profile": self.profile, "new_owners": self.new_owners}
        self.state_path.write_text(json.dumps(state), encoding="utf-8")

    def settings(self, api: FakeBotApi | None = None) -> Settings:
        """The bot's settings: the emulator's URL, the demo admin; a ``.env`` or a real token is never read."""
        return Settings(
            _env_file=None,
            token=TOKEN, api_url=api.base_url if api else "http://127.0.0.1:9/bot", platform=self.profile, db=self.db_path,
            admins=frozenset({demo.ADMIN}), offload="thread", poll_timeout=10, tick_seconds=5,
        )

    @property
    def services(self) -> Services:
        assert self.app is not None
        return self.app.bot_data

    async def start(self, *, fresh: bool = False) -> None:
        """Seeds the demo world when there is none (or ``fresh``), then starts the emulator and the bot."""
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        if fresh:
            for path in (self.db_path, self.state_path, *self.db_path.parent.glob(self.db_path.name + "-*")):
                path.unlink(missing_ok=True)
        seeded = self.db_path.exists() and self._load_state()
        self.db = Database(self.db_path)
        await self.db.connect()
        if not seeded:
            if not self._pinned:
                self.clock.offset = demo.demo_moment(datetime.now(UTC), self.settings()) - datetime.now(UTC)
            await demo.seed_demo(self.db, self.settings(), self.clock)
            self._save_state()
            log.info("demo world seeded in %s", self.db_path)
        async with self.db.read() as repo:
            for owner in demo.OWNERS:
                firm = await repo.firms.by_owner(owner)
                if firm is not None:
                    self.firms.append((owner, firm.name or ""))
        await self._start_bot()

    async def _start_bot(self) -> None:
        assert self.db is not None
        self.api = await FakeBotApi(token=TOKEN, username="khooshe_playground_bot", first_name="Khooshe",
                                    profile=self.profile).start()
        for persona in self.personas():
            self._chat_user(persona.user_id, persona.name)
        for n in range(self.new_owners):
            self._chat_user(NEW_OWNERS + n, localize_digits(f"{demo.NAMES['new_owner']} {n + 1}", "fa"))
        settings = self.settings(self.api)
        app = build_application(settings, self.db, clock=self.clock)
        await app.initialize()
        await publish_commands(app)
        await app.start()
        await start_receiving(app)
        await start_background(app)
        self.app = app
        log.info("the bot runs against the %s emulator at %s", self.profile, self.api.url)

    async def _stop_bot(self) -> None:
        app, self.app = self.app, None
        if app is not None:
            intake = app.bot_data.intake
            if intake is not None:
                await intake.stop_polling()
            await stop_background(app)
            if app.running:
                await app.stop()
            if intake is not None:
                await intake.close()
            await stop_offload()
            await app.shutdown()
        if self.api is not None:
            await self.api.stop()

    async def stop(self) -> None:
        await self._stop_bot()
        if self.db is not None:
            await self.db.close()
            self.db = None

    def _chat_user(self, user_id: int, name: str) -> ChatUser:
        assert self.api is not None
        user = self.api.users.get(user_id)
        if not isinstance(user, ChatUser):
            user = ChatUser(self.api, user_id, name, f"+98912{user_id % 10_000_000:07d}", self.hub, self.shown_at)
            self.api.users[user_id] = user
        return user

    def shown_at(self, sent: int) -> str:
        """When a message was sent, by the bot's clock (the emulator stamps real time)."""
        moment = datetime.fromtimestamp(sent, UTC) + self.clock.offset
        return localize_digits(f"{moment.astimezone(self.settings().zone):%H:%M}", "fa")

    # -- what the controls do --

    def personas(self) -> list[Persona]:
        found = [Persona("result", demo.RESULT_OWNER, dict(self.firms).get(demo.RESULT_OWNER, ""), "result"),
                 Persona("manager", demo.MANAGER, demo.NAMES["manager"], "manager"),
                 Persona("admin", demo.ADMIN, demo.NAMES["admin"], "admin")]
        found += [Persona(f"new{n + 1}", NEW_OWNERS + n, localize_digits(f"{demo.NAMES['new_owner']} {n + 1}", "fa"), "owner")
                  for n in range(self.new_owners)]
        found += [Persona(f"firm{owner}", owner, name, "firm") for owner, name in self.firms if owner != demo.RESULT_OWNER]
        return found

    def chat(self, user_id: int) -> ChatUser:
        """A persona's chat (KeyError for anyone else)."""
        assert self.api is not None
        user = self.api.users[user_id]
        if not isinstance(user, ChatUser):
            raise KeyError(user_id)
        return user

    def new_owner(self) -> Persona:
        """A person who has never written to the bot."""
        self.new_owners += 1
        self._save_state()
        persona = self.personas()[2 + self.new_owners]
        self._chat_user(persona.user_id, persona.name)
        return persona

    async def advance(self, by: timedelta) -> None:
        """Moves the bot's clock; what fell due meanwhile (closing, reminders, broadcasts) happens now."""
        self.clock.offset += by
        self._save_state()
        services = self.services
        now = self.clock.now()
        await services.rounds.tick(now)
        if services.broadcasts is not None:
            await services.broadcasts.tick(now)
        if services.worker is not None:
            services.worker.wake()

    async def switch(self, profile: str) -> None:
        """Runs the emulator with the other platform's profile; the database stays, the chats start empty."""
        if profile not in ("telegram", "bale"):
            raise ValueError(profile)
        if profile == self.profile:
            return
        await self._stop_bot()
        self.profile = profile
        self._save_state()
        await self._start_bot()
        self.hub.publish({"type": "reset"})

    def status(self) -> dict[str, Any]:
        now = self.clock.now()
        return {"platform": self.profile, "now": format_datetime(now, "fa", self.settings().zone), "now_iso": now.isoformat(),
                "personas": [p.json() for p in self.personas()]}
