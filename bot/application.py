"""Builds the python-telegram-bot Application: settings, database, handlers, error reporting."""

from __future__ import annotations

import logging
from typing import Any

from telegram import BotCommand, Update
from telegram.error import Forbidden
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    ContextTypes,
    TypeHandler,
)

from bot.clock import Clock
from bot.context import KhoosheContext, Services
from bot.i18n import LANGUAGES, N_, pick_language, translator
from bot.persistence import DerivedConversationPersistence
from bot.settings import Settings
from bot.update_processor import PerUserUpdateProcessor
from handlers import assessment, registration
from handlers.ui import say
from storage.database import Database

log = logging.getLogger(__name__)

# Commands a firm owner sees in the client's menu, per language.
OWNER_COMMANDS = ("start", "assess", "profile", "language", "help", "cancel")
COMMAND_DESCRIPTIONS = {
    "start": N_("Main menu"),
    "assess": N_("Answer the self-assessment"),
    "profile": N_("Your firm's profile"),
    "language": N_("Persian / English"),
    "help": N_("What this bot can do"),
    "cancel": N_("Leave what you are doing"),
}


async def remember_user(update: Update, context: KhoosheContext) -> None:
    """Records a user on first contact so their language is known without a query later."""
    user = update.effective_user
    if user is None or user.id in context.services.languages:
        return
    async with context.db.transaction() as repo:
        stored = await repo.users.ensure(
            user_id=user.id, language=pick_language(user.language_code), first_name=user.first_name
        )
    context.services.languages[user.id] = stored.language


async def report_error(update: object, context: KhoosheContext) -> None:
    """Logs the failure with the update id and apologises to the user; others are unaffected."""
    update_id = update.update_id if isinstance(update, Update) else None
    if isinstance(context.error, Forbidden):
        log.info("update %s: the user has blocked the bot", update_id)
        return
    log.error("update %s failed", update_id, exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat is not None:
        try:
            await say(update, context, context.t("Sorry, something went wrong on our side. Please try again; your earlier answers are safe."))
        except Exception:  # noqa: BLE001 - the apology is best effort; the error is logged above
            log.warning("update %s: could not send the apology", update_id)


async def publish_commands(app: Application) -> None:
    """Sets the command menu in both languages."""
    for lang in LANGUAGES:
        t = translator(lang)
        commands = [BotCommand(c, t(COMMAND_DESCRIPTIONS[c])) for c in OWNER_COMMANDS]
        await app.bot.set_my_commands(commands, language_code=None if lang == "fa" else lang)


def build_application(settings: Settings, db: Database, *, clock: Clock | None = None) -> Application:
    """Wires everything; ``db`` must already be connected (persistence reads it on start)."""
    services = Services(settings=settings, db=db, clock=clock or Clock())
    persistence = DerivedConversationPersistence(
        db,
        registration_state=registration.state_of,
        assessment_state=assessment.state_of,
    )
    app = (
        ApplicationBuilder()
        .token(settings.token.get_secret_value())
        .base_url(settings.api_url)
        .base_file_url(settings.file_url)
        .context_types(ContextTypes(context=KhoosheContext, bot_data=lambda: services))  # type: ignore[arg-type]
        .persistence(persistence)
        .concurrent_updates(PerUserUpdateProcessor(settings.max_concurrent_updates))
        .rate_limiter(AIORateLimiter(max_retries=3))
        .connection_pool_size(settings.max_concurrent_updates + 4)
        .build()
    )
    register_handlers(app)
    return app


def register_handlers(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Order matters! Conversations first, then menu commands, then the catch-all."""
    from handlers import menu

    app.add_handler(TypeHandler(Update, remember_user), group=-1)
    registration.register(app)
    assessment.register(app)
    menu.register(app)
    menu.register_fallback(app)
    app.add_error_handler(report_error)  # type: ignore[arg-type]
