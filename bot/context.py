"""The typed context every handler receives: settings, database, and the reader's language."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from telegram.ext import Application, CallbackContext, ExtBot

from bot.clock import Clock
from bot.i18n import Translator, translator
from bot.settings import Settings
from storage.database import Database

if TYPE_CHECKING:
    from bot.delivery.broadcasts import BroadcastKeeper
    from bot.delivery.pacer import Pacer
    from bot.delivery.worker import DeliveryWorker
    from bot.domain.quiet_hours import QuietHours
    from bot.services.rounds import RoundKeeper


@dataclass
class Services:
    """What the application holds for its handlers; built once in ``build_application``."""

    settings: Settings
    db: Database
    clock: Clock
    pacer: Pacer
    quiet: QuietHours
    keeper: RoundKeeper
    worker: DeliveryWorker | None = None
    broadcasts: BroadcastKeeper | None = None
    # user id → language; filled on first contact so the language is known without a query.
    languages: dict[int, str] = field(default_factory=dict)
    # Users who blocked the bot; bulk messages skip them until they write again.
    unreachable: set[int] = field(default_factory=set)
    # Users an admin blocked (loaded from the database at start-up); they get one notice, then silence.
    blocked: set[int] = field(default_factory=set)
    # Blocked users who have had that one notice since start-up.
    blocked_noticed: set[int] = field(default_factory=set)


class KhoosheContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], Services]):
    """``context.services``, ``context.db`` and ``context.t`` instead of untyped bot_data lookups."""

    #: Set by ``handlers.common.privileged.requires`` once a privileged handler's role check has passed.
    access: Any = None

    def __init__(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        chat_id: int | None = None,
        user_id: int | None = None,
    ) -> None:
        super().__init__(application=application, chat_id=chat_id, user_id=user_id)

    @property
    def services(self) -> Services:
        return self.bot_data

    @property
    def db(self) -> Database:
        return self.bot_data.db

    @property
    def settings(self) -> Settings:
        return self.bot_data.settings

    @property
    def lang(self) -> str:
        if self._user_id is None:
            return "fa"
        return self.bot_data.languages.get(self._user_id, "fa")

    @property
    def t(self) -> Translator:
        return translator(self.lang)

    def now(self) -> datetime:
        return self.bot_data.clock.now()
