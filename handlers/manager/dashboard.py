"""Estate managers: /dashboard, /nudge and /export for the estates they manage.

The estate is checked on the server every time: a command's argument or a button's estate id
must be one of the user's estates (admins may open any), else the attempt is refused and
audited.
"""

from __future__ import annotations

from telegram import InputFile, Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.context import KhoosheApp, KhoosheContext
from bot.domain import callbacks as cb
from bot.domain.calendar import file_date
from bot.domain.text import number, parse_id, persian_sort_key
from bot.i18n import join_words
from bot.services import dashboard
from bot.services.access import Role, audit
from handlers.common.guard import refuse, requires
from handlers.common.menu import pressed
from handlers.common.ui import button, esc, keyboard, rows, say, settle_query

manager_only = requires(Role.MANAGER)
ACTIONS = ("dash", "nudge", "exp")


async def estate_from_command(update: Update, context: KhoosheContext, action: str) -> int | None:
    """The estate a command is about: its argument, the manager's only estate, or a choice."""
    access = context.access
    args = context.args or []
    if args:
        estate_id = parse_id(args[0])
        if estate_id is None:
            await say(update, context, context.t("Please give the estate number, for example /{command} 12.",
                                                 command=_COMMANDS[action]))
            return None
        if not access.may_manage(estate_id):
            await refuse(context, update, action, f"estate:{estate_id}", detail="not a manager of this estate")
            return None
        async with context.db.read() as repo:
            found = await repo.estates.get(estate_id)
        if found is None:
            await say(update, context, context.t("There is no estate #{id}.", id=number(estate_id, context.lang)))
            return None
        return estate_id
    if len(access.estates) == 1:
        return access.estates[0]
    if not access.estates:
        await say(update, context, context.t("Please give the estate number, for example /{command} 12.",
                                             command=_COMMANDS[action]))
        return None
    async with context.db.read() as repo:
        estates = [await repo.estates.get(e) for e in access.estates]
    buttons = [button(e.name, f"{action}:{e.id}") for e in estates if e is not None]
    if action in _ALL:
        buttons.insert(0, button(context.t("🏘 All my estates"), _ALL[action].build()))
    await say(update, context, context.t("Which estate?"), keyboard(*rows(buttons, 1)))
    return None


def wants_all(context: KhoosheContext) -> bool:
    """``/dashboard all`` (or the word in the reader's language, «همه»): every estate of a
    manager of several."""
    args = context.args or []
    # The argument a manager types for "every estate" (a command argument, as in /dashboard all).
    words = {"all", context.t("all").casefold()}
    return bool(args) and args[0].casefold() in words and len(context.access.estates) > 1


async def estate_from_button(update: Update, context: KhoosheContext, action: str) -> int | None:
    query = update.callback_query
    assert query is not None and query.data is not None
    estate_id = int(query.data.split(":")[1])  # dash:, nudge: and exp: share the shape: one estate id
    if not context.access.may_manage(estate_id):
        await refuse(context, update, action, f"estate:{estate_id}", detail="not a manager of this estate")
        return None
    await settle_query(update)
    return estate_id


_COMMANDS = {"dash": "dashboard", "nudge": "nudge", "exp": "export"}
_ALL = {"dash": cb.DASHBOARD_ALL, "nudge": cb.NUDGE_ALL}


async def show_overview(update: Update, context: KhoosheContext) -> None:
    """Every estate of the manager side by side, with a button per estate and one to nudge all."""
    t, lang = context.t, context.lang
    access = context.access
    async with context.db.transaction() as repo:
        overview = await dashboard.estates_overview(repo, access.estates)
        await audit(repo, user_id=access.user_id, action="dashboard", target="estates:all")
    messages = dashboard.render_overview(overview, lang, context.settings)
    buttons = [button("📊 " + x.estate.name, cb.DASHBOARD.build(x.estate.id)) for x in overview.lines]
    markup = keyboard(*rows(buttons, 1), [button(t("⏰ Nudge non-responders in all"), cb.NUDGE_ALL.build())])
    for i, text in enumerate(messages):
        await say(update, context, text, markup if i == len(messages) - 1 else None)


async def nudge_all(update: Update, context: KhoosheContext) -> None:
    """One reminder to the firms that have not answered, in each of the manager's estates
    (each estate still at most once a day)."""
    t, lang = context.t, context.lang
    access, services, now = context.access, context.services, context.now()
    queued, already = 0, []
    open_round = None
    async with context.db.transaction() as repo:
        for estate_id in access.estates:
            result = await dashboard.nudge_estate(repo, estate_id, now, context.settings,
                                                  services.quiet.next_allowed(now))
            open_round = open_round or result.round
            estate = await repo.estates.get(estate_id)
            if result.already and estate is not None:
                already.append(estate.name)
            queued += result.queued
            await audit(repo, user_id=access.user_id, action="nudge", target=f"estate:{estate_id}",
                        detail="already sent today" if result.already else f"queued {result.queued}")
    if open_round is None:
        await say(update, context, t("No round is open, so there is nobody to remind."))
        return
    if queued and services.worker is not None:
        services.worker.wake()
    lines = [t("✅ A reminder is on its way to {n} firms that have not answered yet, in your {estates} estates. "
               "Outside quiet hours it goes out at once.", n=number(queued, lang), estates=number(len(access.estates), lang))
             if queued else t("Nobody to remind in your estates now.")]
    if already:
        lines.append(t("Already reminded today (once a day per estate): {estates}",
                       estates=esc(join_words(t, sorted(already, key=persian_sort_key)))))
    await say(update, context, "\n".join(lines))


async def show_dashboard(update: Update, context: KhoosheContext, estate_id: int) -> None:
    user = update.effective_user
    assert user is not None
    async with context.db.transaction() as repo:
        view = await dashboard.estate_view(repo, estate_id)
        await audit(repo, user_id=user.id, action="dashboard", target=f"estate:{estate_id}")
    if view is None:
        await say(update, context, context.t("There is no estate #{id}.", id=number(estate_id, context.lang)))
        return
    messages = dashboard.render_estate(view, context.lang, context.settings)
    for i, text in enumerate(messages):
        markup = None
        if i == len(messages) - 1:
            t = context.t
            markup = keyboard([button(t("📥 Excel export"), cb.EXPORT.build(estate_id)),
                               button(t("⏰ Nudge non-responders"), cb.NUDGE.build(estate_id))])
        await say(update, context, text, markup)


@manager_only
async def dashboard_command(update: Update, context: KhoosheContext) -> None:
    """/dashboard [ESTATE_ID | all]"""
    if wants_all(context):
        await show_overview(update, context)
        return
    estate_id = await estate_from_command(update, context, "dash")
    if estate_id is not None:
        await show_dashboard(update, context, estate_id)


@manager_only
async def dashboard_button(update: Update, context: KhoosheContext) -> None:
    estate_id = await estate_from_button(update, context, "dash")
    if estate_id is not None:
        await show_dashboard(update, context, estate_id)


async def send_nudge(update: Update, context: KhoosheContext, estate_id: int) -> None:
    t, lang = context.t, context.lang
    user = update.effective_user
    assert user is not None
    services = context.services
    now = context.now()
    async with context.db.transaction() as repo:
        result = await dashboard.nudge_estate(repo, estate_id, now, context.settings,
                                              services.quiet.next_allowed(now))
        estate = await repo.estates.get(estate_id)
        await audit(repo, user_id=user.id, action="nudge", target=f"estate:{estate_id}",
                    detail="already sent today" if result.already else f"queued {result.queued}")
    name = esc(estate.name) if estate else "?"
    if result.round is None:
        await say(update, context, t("No round is open, so there is nobody to remind."))
    elif result.already:
        await say(update, context, t("The firms of {estate} were already reminded today. "
                                     "A nudge can be sent once a day per estate; try again tomorrow.", estate=name))
    elif result.queued == 0:
        await say(update, context, t("Every firm of {estate} has answered (or muted reminders); nobody to remind.", estate=name))
    else:
        if services.worker is not None:
            services.worker.wake()
        await say(update, context, t("✅ A reminder is on its way to {n} firms of {estate} that have not answered yet. "
                                     "Outside quiet hours it goes out at once.",
                                     n=number(result.queued, lang), estate=name))


@manager_only
async def nudge_command(update: Update, context: KhoosheContext) -> None:
    """/nudge [ESTATE_ID | all]"""
    if wants_all(context):
        await nudge_all(update, context)
        return
    estate_id = await estate_from_command(update, context, "nudge")
    if estate_id is not None:
        await send_nudge(update, context, estate_id)


@manager_only
async def nudge_button(update: Update, context: KhoosheContext) -> None:
    estate_id = await estate_from_button(update, context, "nudge")
    if estate_id is not None:
        await send_nudge(update, context, estate_id)


async def send_export(update: Update, context: KhoosheContext, estate_id: int) -> None:
    # Loaded on the first export (openpyxl itself loads only where workbooks are built).
    from bot.services import exports

    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    # Read on a snapshot and built in the worker process: the writer is not held meanwhile.
    data = await exports.estate_workbook(context.db, estate_id, context.lang, context.settings, context.now())
    if data is None:  # a forged or stale button, or an estate id that was never used
        await say(update, context, context.t("There is no estate #{id}.", id=number(estate_id, context.lang)))
        return
    async with context.db.transaction() as repo:
        await audit(repo, user_id=user.id, action="export", target=f"estate:{estate_id}")
    day = file_date(context.now(), context.settings.zone)
    await context.bot.send_document(
        chat.id, InputFile(data, filename=f"khooshe-estate-{estate_id}-{day}.xlsx"),
        caption=context.t("📥 The estate's firms, their answers and the pressure points."),
    )


@manager_only
async def export_command(update: Update, context: KhoosheContext) -> None:
    """/export [ESTATE_ID]"""
    estate_id = await estate_from_command(update, context, "exp")
    if estate_id is not None:
        await send_export(update, context, estate_id)


@manager_only
async def export_button(update: Update, context: KhoosheContext) -> None:
    estate_id = await estate_from_button(update, context, "exp")
    if estate_id is not None:
        await send_export(update, context, estate_id)


@manager_only
async def overview_button(update: Update, context: KhoosheContext) -> None:
    await settle_query(update)
    await show_overview(update, context)


@manager_only
async def nudge_all_button(update: Update, context: KhoosheContext) -> None:
    await settle_query(update)
    await nudge_all(update, context)


def register(app: KhoosheApp) -> None:
    app.add_handler(CommandHandler("dashboard", dashboard_command))
    app.add_handler(CallbackQueryHandler(pressed(dashboard_command), pattern=cb.TASK.pattern_of("dashboard")))
    app.add_handler(CallbackQueryHandler(pressed(export_command), pattern=cb.TASK.pattern_of("export")))
    app.add_handler(CommandHandler("nudge", nudge_command))
    app.add_handler(CommandHandler("export", export_command))
    app.add_handler(CallbackQueryHandler(dashboard_button, pattern=cb.DASHBOARD.pattern))
    app.add_handler(CallbackQueryHandler(overview_button, pattern=cb.DASHBOARD_ALL.pattern))
    app.add_handler(CallbackQueryHandler(nudge_all_button, pattern=cb.NUDGE_ALL.pattern))
    app.add_handler(CallbackQueryHandler(nudge_button, pattern=cb.NUDGE.pattern))
    app.add_handler(CallbackQueryHandler(export_button, pattern=cb.EXPORT.pattern))
