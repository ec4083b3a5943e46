"""Builds the python-telegram-bot Application: settings, database, handlers, error reporting."""

from __future__ import annotations

import logging
import warnings
from typing import Any, cast

from telegram import BotCommand, Update
from telegram.error import Forbidden, TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    ContextTypes,
    Defaults,
    TypeHandler,
)
from telegram.warnings import PTBUserWarning

from bot import transport
from bot.clock import Clock
from bot.context import KhoosheApp, KhoosheContext, Services, UserData
from bot.delivery import broadcasts
from bot.delivery.alerts import OperatorAlerts
from bot.delivery.pacer import InteractiveRateLimiter, Pacer
from bot.delivery.worker import DeliveryWorker
from bot.domain.quiet_hours import QuietHours
from bot.domain.throttle import UserThrottle
from bot.flows import FlowSnapshots
from bot.i18n import LANGUAGES, N_, translator
from bot.intake.inbox import Intake
from bot.persistence import DerivedConversationPersistence
from bot.platform.bot import KhoosheBot, UnsupportedMethod
from bot.resident import ResidentUsers
from bot.services import offload, publishing
from bot.services.assessment import AssessmentService
from bot.services.broadcasts import BroadcastService
from bot.services.invitations import InvitationService
from bot.services.menu import MenuService
from bot.services.owner_settings import OwnerSettingsService
from bot.services.places import PlacesService
from bot.services.privacy import PrivacyService
from bot.services.publishing import ResultsService
from bot.services.registration import RegistrationService
from bot.services.roles import RolesService
from bot.services.rounds import RoundPolicy, RoundService
from bot.services.users import UsersService
from bot.settings import Settings
from bot.update_processor import PerUserUpdateProcessor
from handlers.admin import access as admin_access
from handlers.admin import audit as admin_audit
from handlers.admin import estate_requests as admin_estate_requests
from handlers.admin import invitations, national
from handlers.admin import places as admin_places
from handlers.admin import rounds as admin_rounds
from handlers.common import flood, private_only
from handlers.common.ui import say
from handlers.manager import broadcast as broadcast_handlers
from handlers.manager import dashboard as manager_dashboard
from handlers.manager import funnel as manager_funnel
from handlers.manager import onboarding as manager_onboarding
from handlers.owner import assessment, privacy, registration, results
from handlers.owner import onboarding as owner_onboarding
from storage.database import Database
from storage.repositories.base import use_clock

log = logging.getLogger(__name__)

# Commands a firm owner sees in the client's menu, per language.
OWNER_COMMANDS = ("start", "assess", "myrank", "ranking", "profile", "settings", "language", "help", "cancel")
COMMAND_DESCRIPTIONS = {
    "start": N_("Main menu"),
    "assess": N_("Answer the self-assessment"),
    "profile": N_("Your firm's profile"),
    "myrank": N_("Your latest score and rank"),
    "ranking": N_("The published top firms"),
    "settings": N_("Reminders and language"),
    "language": N_("Persian / English"),
    "help": N_("What this bot can do"),
    "cancel": N_("Leave what you are doing"),
}


class KhoosheApplication(Application[Any, Any, Any, Any, Any, Any]):
    """PTB's Application, holding per-user state for the resident users only (``bot.resident``)."""

    resident: ResidentUsers | None = None
    #: The guided flows' snapshots (``bot.flows``); set by ``build_application``.
    flows: FlowSnapshots | None = None

    def _mark_for_persistence_update(self, *, update: object | None = None, job: Any = None) -> None:
        """Nothing: PTB collects here the ids of users and chats whose data it should persist,
        and empties those sets only when it persists such data, which Khooshe never does
        (``bot.persistence``); left alone they would hold every id ever seen."""

    async def welcome(self, user_id: int) -> None:
        """Makes the user resident; one who was not gets their conversation positions back
        from the database before any conversation looks at the update."""
        if self.resident is None or self.resident.touch(user_id):
            return
        if not isinstance(self.persistence, DerivedConversationPersistence):
            return
        states, flows = await self.persistence.recall(user_id)
        key = (user_id, user_id)  # private chats only: the chat is the user
        for name, state in states.items():
            conversation = self._conversation_handler_conversations.get(name)
            if conversation is not None and key not in conversation:
                # Read from where it is stored: nothing to write back.
                conversation.update_no_track({key: state})
        if flows is not None and self.flows is not None:
            self.flows.restore(user_id, flows, self._user_data[user_id])

    def forget(self, user_id: int) -> None:
        """Drops what PTB holds for a user no longer resident. Their conversation positions are
        in the database; ``user_data`` holding a flow that waits for a button (a broadcast being
        composed, a confirmation) is kept, as it is kept nowhere else."""
        data = self._user_data.get(user_id)
        if data is not None and data == UserData():
            del self._user_data[user_id]
        self._chat_data.pop(user_id, None)
        for conversation in self._conversation_handler_conversations.values():
            conversation.pop((user_id, user_id), None)


async def remember_user(update: Update, context: KhoosheContext) -> None:
    """Records a user on first contact so their language is known without a query later, and
    brings back the state of one who was forgotten among the resident users."""
    user = update.effective_user
    if user is not None:
        app = context.application
        if isinstance(app, KhoosheApplication):
            await app.welcome(user.id)
        await context.services.users.seen(user.id, language_code=user.language_code, first_name=user.first_name)


async def report_error(update: object, context: KhoosheContext) -> None:
    """Logs the failure with the update id, tells the operators (``bot.delivery.alerts``) and
    apologises to the user; others are unaffected."""
    update_id = update.update_id if isinstance(update, Update) else None
    if isinstance(context.error, Forbidden):
        log.info("update %s: the user has blocked the bot", update_id)
        return
    log.error("update %s failed", update_id, exc_info=context.error)
    services = context.services
    if services.alerts is not None and context.error is not None:
        context.application.create_task(services.alerts.report(update_id, context.error))
    if isinstance(update, Update) and update.effective_chat is not None:
        try:
            await say(update, context, await apology(update, context))
        except Exception:  # noqa: BLE001 - the apology is best effort; the error is logged above
            log.warning("update %s: could not send the apology", update_id)


async def apology(update: Update, context: KhoosheContext) -> str:
    """The apology that fits the user: a firm owner hears that their answers are safe; an
    admin or a manager, who was not answering anything, does not."""
    user = update.effective_user
    privileged = False
    if user is not None:
        try:
            access = await context.services.menu.access(user.id)
            privileged = access.is_admin or access.is_manager
        except Exception:  # noqa: BLE001 - the database may be what failed; the owner's words fit most users
            log.info("update %s: the user's role could not be read for the apology", update.update_id)
    if privileged:
        return context.t("Sorry, something went wrong on our side. Please try again.")
    return context.t("Sorry, something went wrong on our side. Please try again; your earlier answers are safe.")


async def publish_commands(app: KhoosheApp) -> None:
    """Sets the default (firm owner's) command menu in both languages, then each admin's and
    manager's own menu in their chat."""
    from handlers.common import commands as menus

    platform = app.bot_data.settings.messenger
    if not platform.command_menus:
        log.info("%s has no command menus; /help lists the commands instead", platform.name)
        return
    try:
        for lang in LANGUAGES:
            t = translator(lang)
            commands = [BotCommand(c, t(COMMAND_DESCRIPTIONS[c])) for c in OWNER_COMMANDS]
            await app.bot.set_my_commands(commands, language_code=None if lang == "fa" else lang)
        await menus.publish_all(app.bot, app.bot_data)
    except UnsupportedMethod as exc:
        log.info("the Bot API has no command menus (%s); /help lists the commands instead", exc.method)
    except TelegramError as exc:
        # The menus are a convenience: the bot runs without them, and the next start tries again.
        log.warning("could not set the command menus (%s); /help lists the commands", exc)


def build_application(settings: Settings, db: Database, *, clock: Clock | None = None) -> KhoosheApp:
    """Wires everything; ``db`` must already be connected (persistence reads it on start)."""
    # Said of per_message=False, which the conversations set on purpose (pyproject's filterwarnings
    # for the suite); printing it would also keep the source of their modules in linecache (0.2 MB).
    warnings.filterwarnings("ignore", message="If 'per_message=False'", category=PTBUserWarning)
    quiet = QuietHours(settings.quiet_hours, settings.quiet_days, settings.zone)
    clock = clock or Clock()
    # The worker process for exports, imports and scoring starts on first use; ``stop_offload``.
    offload.configure(settings.offload)
    use_clock(clock.now)
    pacer = Pacer(settings.send_rate)
    languages: dict[int, str] = {}
    unreachable: set[int] = set()
    blocked: set[int] = set()
    blocked_noticed: set[int] = set()
    services = Services(
        settings=settings, db=db, clock=clock, pacer=pacer, quiet=quiet,
        rounds=RoundService(db, clock, RoundPolicy.from_settings(settings)),
        privacy=PrivacyService(db, clock),
        owner_settings=OwnerSettingsService(db, languages),
        menu=MenuService(db, clock, settings.admins),
        results=ResultsService(db),
        assessment=AssessmentService(db, clock, settings.zone),
        registration=RegistrationService(db, clock, settings.zone, admins=settings.admins),
        users=UsersService(db, languages, unreachable),
        broadcasting=BroadcastService(db, clock, quiet, settings.zone),
        roles=RolesService(db, settings.admins, blocked, blocked_noticed),
        invitations=InvitationService(db, clock, settings.invitation_hours),
        places=PlacesService(db, import_max_rows=settings.import_max_rows),
        languages=languages, unreachable=unreachable, blocked=blocked, blocked_noticed=blocked_noticed,
    )
    persistence = DerivedConversationPersistence(
        db,
        registration_state=registration.state_of,
        assessment_state=assessment.state_of,
    )
    processor = PerUserUpdateProcessor(settings.max_concurrent_updates)
    # Replies and bulk sends each get their connections, so neither waits for the other's.
    requests = transport.requests(settings.http, settings.max_concurrent_updates + settings.send_concurrency + 4,
                                  read_timeout=settings.reply_read_timeout)
    bot = KhoosheBot(
        settings.token.get_secret_value(), base_url=settings.api_url, base_file_url=settings.file_url,
        platform=settings.messenger,
        # The HTTP client of Bot API calls (KHOOSHE_HTTP, bot/transport).
        request=requests[0], get_updates_request=requests[1],
        rate_limiter=InteractiveRateLimiter(pacer),
        defaults=Defaults(tzinfo=settings.zone),
    )
    app = (
        ApplicationBuilder()
        .application_class(KhoosheApplication)
        .bot(bot)
        # PTB types bot_data as a class it calls; a factory returning the one Services works the same.
        .context_types(ContextTypes(context=KhoosheContext, user_data=UserData, bot_data=lambda: services))  # type: ignore[call-overload]
        .persistence(persistence)
        .concurrent_updates(processor)
        # The intake (bot.intake) fetches updates instead of PTB's Updater.
        .updater(None)
        .build()
    )
    assert isinstance(app, KhoosheApplication)
    app.flows = FlowSnapshots(app._user_data, app._conversation_handler_conversations)
    services.intake = Intake(app, db, clock, api_url=settings.api_url, poll_timeout=settings.poll_timeout,
                             flows=app.flows)
    processor.on_handled = services.intake.handled
    processor.throttle = UserThrottle(rate=settings.user_rate, burst=settings.user_burst,
                                      max_users=settings.resident_users)
    resident = ResidentUsers(settings.resident_users, busy=processor.busy)
    resident.on_forget.append(app.forget)
    resident.on_forget.append(lambda user_id: services.languages.pop(user_id, None))
    app.resident = services.resident = resident

    def slow_down(update: object) -> None:
        app.create_task(flood.tell_to_slow_down(app.bot, services, update))

    processor.on_throttled = slow_down
    services.worker = DeliveryWorker(
        bot=app.bot, db=db, pacer=pacer, clock=services.clock, quiet=quiet,
        unreachable=services.unreachable, concurrency=settings.send_concurrency,
        read_timeout=settings.bulk_read_timeout,
    )
    services.worker.preparers.update(publishing.preparers(db))
    services.worker.preparers.update(broadcasts.preparers(db))
    services.broadcasts = broadcasts.BroadcastKeeper(
        db=db, settings=settings, quiet=quiet, bot=app.bot, wake=services.worker.wake,
    )
    services.broadcasting.runner = services.broadcasts
    services.alerts = OperatorAlerts(app.bot, settings.operators, services.languages)
    register_handlers(app)
    # The builder's chain forgets the context types and the class it was given; they are the ones above.
    return cast(KhoosheApp, app)


async def start_receiving(app: KhoosheApp, *, poll: bool = True) -> None:
    """Handles the updates left from before a restart, then polls (unless a webhook feeds the
    intake); call after ``app.start()``."""
    intake = app.bot_data.intake
    assert intake is not None
    await intake.start(poll=poll)


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
    app.job_queue.run_repeating(release_memory, interval=RELEASE_SECONDS, first=RELEASE_SECONDS, name="release-memory")
    await schedule_round_edges(app)


#: How often memory freed by the updates since the last time is handed back (``malloc_trim``).
RELEASE_SECONDS = 30.0


async def release_memory(context: KhoosheContext) -> None:
    app = context.application
    if isinstance(app, KhoosheApplication) and app.resident is not None:
        app.resident.release_if_active()


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
    """Order matters! Chats that are not private are turned away first (group -3), blocked
    users next (group -2), then users are remembered
    (group -1). In group 0: invitation deep links (/start TOKEN must beat the conversations'
    /start fallback), then conversations, then commands, the menu, and the catch-all last."""
    from handlers.common import menu

    private_only.register(app)
    app.add_handler(TypeHandler(Update, remember_user), group=-1)
    owner_onboarding.register(app)  # /start f_<token>, before the manager invitations' /start
    invitations.register(app)
    registration.register(app)
    assessment.register(app)
    results.register(app)
    admin_rounds.register(app)
    manager_dashboard.register(app)
    manager_funnel.register(app)
    manager_onboarding.register(app)  # before the admins' CSV import takes a file
    national.register(app)
    privacy.register(app)
    admin_access.register(app)
    admin_audit.register(app)
    admin_places.register(app)
    admin_estate_requests.register(app)
    broadcast_handlers.register(app)
    menu.register(app)
    menu.register_fallback(app)
    app.add_error_handler(report_error)
