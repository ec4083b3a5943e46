"""Builds the python-telegram-bot Application: settings, database, handlers, error reporting."""

from __future__ import annotations

import logging
from typing import Any, cast

from telegram import BotCommand, Update
from telegram.error import Forbidden
from telegram.ext import (
    Application,
    ApplicationBuilder,
    ContextTypes,
    Defaults,
    TypeHandler,
)

from bot import transport
from bot.clock import Clock
from bot.context import KhoosheApp, KhoosheContext, Services, UserData
from bot.delivery import broadcasts
from bot.delivery.pacer import InteractiveRateLimiter, Pacer
from bot.delivery.worker import DeliveryWorker
from bot.domain.quiet_hours import QuietHours
from bot.i18n import LANGUAGES, N_, pick_language, translator
from bot.persistence import DerivedConversationPersistence
from bot.services import offload, publishing
from bot.services.assessment import AssessmentService
from bot.services.menu import MenuService
from bot.services.owner_settings import OwnerSettingsService
from bot.services.privacy import PrivacyService
from bot.services.publishing import ResultsService
from bot.services.rounds import RoundPolicy, RoundService
from bot.settings import Settings
from bot.update_processor import PerUserUpdateProcessor
from handlers.admin import access as admin_access
from handlers.admin import invitations, national
from handlers.admin import places as admin_places
from handlers.admin import rounds as admin_rounds
from handlers.common.ui import say
from handlers.manager import broadcast as broadcast_handlers
from handlers.manager import dashboard as manager_dashboard
from handlers.owner import assessment, privacy, registration, results
from storage.database import Database
from storage.repositories.base import use_clock

log = logging.getLogger(__name__)

# Commands a firm owner sees in the client's menu, per language.
OWNER_COMMANDS = ("start", "assess", "myrank", "profile", "settings", "language", "help", "cancel")
COMMAND_DESCRIPTIONS = {
    "start": N_("Main menu"),
    "assess": N_("Answer the self-assessment"),
    "profile": N_("Your firm's profile"),
    "myrank": N_("Your latest score and rank"),
    "settings": N_("Reminders and language"),
    "language": N_("Persian / English"),
    "help": N_("What this bot can do"),
    "cancel": N_("Leave what you are doing"),
}


async def remember_user(update: Update, context: KhoosheContext) -> None:
    """Records a user on first contact so their language is known without a query later."""
    user = update.effective_user
    if user is None:
        return
    if user.id in context.services.unreachable:
        # They wrote to us, so they have unblocked the bot: bulk messages may reach them again.
        async with context.db.transaction() as repo:
            await repo.users.clear_unreachable(user.id)
        context.services.unreachable.discard(user.id)
    if user.id in context.services.languages:
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
            await say(update, context, context.t(
                "Sorry, something went wrong on our side. Please try again; your earlier answers are safe."))
        except Exception:  # noqa: BLE001 - the apology is best effort; the error is logged above
            log.warning("update %s: could not send the apology", update_id)


async def publish_commands(app: KhoosheApp) -> None:
    """Sets the default (firm owner's) command menu in both languages, then each admin's and
    manager's own menu in their chat."""
    from handlers.common import commands as menus

    for lang in LANGUAGES:
        t = translator(lang)
        commands = [BotCommand(c, t(COMMAND_DESCRIPTIONS[c])) for c in OWNER_COMMANDS]
        await app.bot.set_my_commands(commands, language_code=None if lang == "fa" else lang)
    await menus.publish_all(app.bot, app.bot_data)


def build_application(settings: Settings, db: Database, *, clock: Clock | None = None) -> KhoosheApp:
    """Wires everything; ``db`` must already be connected (persistence reads it on start)."""
    quiet = QuietHours(settings.quiet_hours, settings.quiet_days, settings.zone)
    clock = clock or Clock()
    # The worker process for exports, imports and scoring starts on first use; ``stop_offload``.
    offload.configure(settings.offload)
    use_clock(clock.now)
    pacer = Pacer(settings.send_rate)
    languages: dict[int, str] = {}
    services = Services(
        settings=settings, db=db, clock=clock, pacer=pacer, quiet=quiet,
        rounds=RoundService(db, clock, RoundPolicy.from_settings(settings)),
        privacy=PrivacyService(db, clock),
        owner_settings=OwnerSettingsService(db, languages),
        menu=MenuService(db, clock, settings.admins),
        results=ResultsService(db),
        assessment=AssessmentService(db, clock, settings.zone),
        languages=languages,
    )
    persistence = DerivedConversationPersistence(
        db,
        registration_state=registration.state_of,
        assessment_state=assessment.state_of,
    )
    requests = transport.requests(settings.http, settings.max_concurrent_updates + 4)
    app = (
        ApplicationBuilder()
        .token(settings.token.get_secret_value())
        .base_url(settings.api_url)
        .base_file_url(settings.file_url)
        # PTB types bot_data as a class it calls; a factory returning the one Services works the same.
        .context_types(ContextTypes(context=KhoosheContext, user_data=UserData, bot_data=lambda: services))  # type: ignore[call-overload]
        .persistence(persistence)
        .concurrent_updates(PerUserUpdateProcessor(settings.max_concurrent_updates))
        .rate_limiter(InteractiveRateLimiter(pacer))
        .defaults(Defaults(tzinfo=settings.zone))
        .request(requests[0])
        .get_updates_request(requests[1])
        .build()
    )
    services.worker = DeliveryWorker(
        bot=app.bot, db=db, pacer=pacer, clock=services.clock, quiet=quiet,
        unreachable=services.unreachable,
    )
    services.worker.preparers.update(publishing.preparers(db))
    services.worker.preparers.update(broadcasts.preparers(db))
    services.broadcasts = broadcasts.BroadcastKeeper(
        db=db, settings=settings, quiet=quiet, bot=app.bot, wake=services.worker.wake,
    )
    register_handlers(app)
    # The builder's chain forgets the context types it was given; they are the ones above.
    return cast(KhoosheApp, app)


async def start_background(app: KhoosheApp) -> None:
    """Starts the delivery worker and the round scheduler; call after ``app.start()``."""
    services: Services = app.bot_data
    async with services.db.read() as repo:
        services.unreachable.update(await repo.users.unreachable_ids())
        services.blocked.update(await repo.access.blocked_users())
    assert services.worker is not None and app.job_queue is not None
    await services.worker.start()
    app.job_queue.run_repeating(
        tick, interval=services.settings.tick_seconds, first=0.2, name="rounds-tick"
    )
    # Broadcasts start on time and their progress is shown every few seconds, whatever the
    # round scheduler's interval.
    app.job_queue.run_repeating(
        broadcast_tick, interval=min(services.settings.tick_seconds, broadcasts.PROGRESS_SECONDS),
        first=0.3, name="broadcasts-tick",
    )
    await schedule_round_edges(app)


async def broadcast_tick(context: KhoosheContext) -> None:
    """Starts due broadcasts, edits progress messages and reports finished ones."""
    services = context.services
    if services.broadcasts is not None:
        await services.broadcasts.tick(services.clock.now())


async def stop_background(app: KhoosheApp, *, timeout: float | None = None) -> None:
    """Stops the delivery worker: the message being sent may finish within ``timeout`` seconds
    (the worker's default when None), then it is cancelled and its row put back. The schedulers
    stop with ``app.stop()``."""
    services: Services = app.bot_data
    if services.worker is not None:
        await services.worker.stop(timeout=timeout)


async def stop_offload(*, timeout: float = 1.0) -> None:
    """Stops the worker process of exports, imports and scoring, if it was started: the job in
    hand may finish within ``timeout`` seconds, then the process is terminated.  Call it after
    ``app.stop()`` (nothing is running any more that would wait for it)."""
    await offload.shutdown(timeout)


async def tick(context: KhoosheContext) -> None:
    """Runs whatever is due (rounds to open or close, reminders) and wakes the sender."""
    services = context.services
    report = await services.rounds.tick(services.clock.now())
    if report.queued and services.worker is not None:
        services.worker.wake()


async def schedule_round_edges(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Adds a one-off tick at each future opening and closing time, rebuilt from the database
    on every start, so rounds open and close on the minute rather than on the next tick."""
    services: Services = app.bot_data
    assert app.job_queue is not None
    now = services.clock.now()
    async with services.db.read() as repo:
        rounds = await repo.rounds.all()
    for job in app.job_queue.get_jobs_by_name("round-edge"):
        job.schedule_removal()
    for r in rounds:
        for moment in (r.opens_at, r.closes_at):
            if r.state != "closed" and moment > now:
                app.job_queue.run_once(tick, when=moment - services.clock.offset, name="round-edge")


def register_handlers(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Order matters! Blocked users are stopped first (group -2), then users are remembered
    (group -1). In group 0: invitation deep links (/start TOKEN must beat the conversations'
    /start fallback), then conversations, then commands, the menu, and the catch-all last."""
    from handlers.common import menu

    app.add_handler(TypeHandler(Update, remember_user), group=-1)
    invitations.register(app)
    registration.register(app)
    assessment.register(app)
    results.register(app)
    admin_rounds.register(app)
    manager_dashboard.register(app)
    national.register(app)
    privacy.register(app)
    admin_access.register(app)
    admin_places.register(app)
    broadcast_handlers.register(app)
    menu.register(app)
    menu.register_fallback(app)
    app.add_error_handler(report_error)
