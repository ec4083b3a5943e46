"""Estate managers: /dashboard, /nudge, /export and /myestates for the estates they manage.

The estate is checked on the server every time: a command's argument or a button's estate id
must be one of the user's estates (admins may open any), else the attempt is refused and
audited.  The dashboard and the export show the open (or latest) round and offer buttons for
the last few rounds; a manager of several estates may see and export them all at once.
"""

from __future__ import annotations

from collections.abc import Callable

from telegram import InlineKeyboardButton, InputFile, Update
from telegram.constants import ParseMode
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
    buttons = [button(e.name, f"{action}:{e.id}")
               for e in sorted((e for e in estates if e is not None), key=lambda e: persian_sort_key(e.name))]
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
_ALL = {"dash": cb.DASHBOARD_ALL, "nudge": cb.NUDGE_ALL, "exp": cb.EXPORT_ALL}


def round_rows(context: KhoosheContext, choice: dashboard.RoundChoice | None,
               build: Callable[[int], str]) -> list[list[InlineKeyboardButton]]:
    """A button per recent round (none when only one has opened), the one shown ticked."""
    if choice is None:
        return []
    return rows([button(dashboard.round_label(r, choice.round, context.t), build(r.id)) for r in choice.offered], 2)


def other_rounds_hint(context: KhoosheContext, choice: dashboard.RoundChoice | None) -> str:
    return "\n\n" + context.t("🗓 Another round: press its button below.") if choice and choice.offered else ""


async def chosen_round(update: Update, context: KhoosheContext, round_id: int | None) -> dashboard.RoundChoice | None:
    """The round a view is for; says so and returns None if ``round_id`` names no round that
    has opened (a stale button)."""
    async with context.db.read() as repo:
        choice = await dashboard.choose_round(repo, round_id)
    if choice is None:
        await say(update, context, context.t("There is no such round any more."))
    return choice


async def show_overview(update: Update, context: KhoosheContext, round_id: int | None = None) -> None:
    """Every estate of the manager side by side, with a button per estate, one to nudge all,
    one to export all, and the round buttons."""
    t, lang = context.t, context.lang
    access = context.access
    choice = await chosen_round(update, context, round_id)
    if choice is None:
        return
    async with context.db.transaction() as repo:
        overview = await dashboard.estates_overview(repo, access.estates, choice)
        await audit(repo, user_id=access.user_id, action="dashboard", target="estates:all")
    messages = dashboard.render_overview(overview, lang, context.settings)
    shown = choice.round

    def one(estate_id: int) -> str:
        return cb.DASHBOARD_ROUND.build(estate_id, shown.id) if shown else cb.DASHBOARD.build(estate_id)

    buttons = [button("📊 " + x.estate.name, one(x.estate.id)) for x in overview.lines]
    export = cb.EXPORT_ROUND.build("all", shown.id) if shown else cb.EXPORT_ALL.build()
    markup = keyboard(*rows(buttons, 1), [button(t("📥 Excel export of all"), export)],
                      [button(t("⏰ Nudge non-responders in all"), cb.NUDGE_ALL.build())],
                      *round_rows(context, choice, lambda r: cb.DASHBOARD_ROUND.build("all", r)))
    messages[-1] += other_rounds_hint(context, choice)
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


async def show_dashboard(update: Update, context: KhoosheContext, estate_id: int, round_id: int | None = None) -> None:
    user = update.effective_user
    assert user is not None
    choice = await chosen_round(update, context, round_id)
    if choice is None:
        return
    async with context.db.transaction() as repo:
        view = await dashboard.estate_view(repo, estate_id, choice)
        await audit(repo, user_id=user.id, action="dashboard", target=f"estate:{estate_id}")
    if view is None:
        await say(update, context, context.t("There is no estate #{id}.", id=number(estate_id, context.lang)))
        return
    messages = dashboard.render_estate(view, context.lang, context.settings)
    messages[-1] += other_rounds_hint(context, choice)
    t = context.t
    shown = choice.round
    export = cb.EXPORT_ROUND.build(estate_id, shown.id) if shown else cb.EXPORT.build(estate_id)
    markup = keyboard([button(t("📥 Excel export"), export),
                       button(t("⏰ Nudge non-responders"), cb.NUDGE.build(estate_id))],
                      *round_rows(context, choice, lambda r: cb.DASHBOARD_ROUND.build(estate_id, r)))
    for i, text in enumerate(messages):
        await say(update, context, text, markup if i == len(messages) - 1 else None)


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


async def send_export(update: Update, context: KhoosheContext, estate_id: int | None,
                      round_id: int | None = None) -> None:
    """The workbook of one estate, or (``estate_id`` None) of all the manager's estates, for
    the round ``round_id`` (None: the open or latest one), with buttons for other rounds."""
    # Loaded on the first export (openpyxl itself loads only where workbooks are built).
    from bot.services import exports

    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    t, lang = context.t, context.lang
    # Read on a snapshot and built in the worker process: the writer is not held meanwhile.
    if estate_id is None:
        built = await exports.estates_workbook(context.db, context.access.estates, lang, context.settings,
                                               context.now(), round_id)
    else:
        built = await exports.estate_workbook(context.db, estate_id, lang, context.settings, context.now(), round_id)
    if built is None:  # a forged or stale button, or an estate id that was never used
        if round_id is not None:
            await say(update, context, t("There is no such round any more."))
        else:
            await say(update, context, t("There is no estate #{id}.", id=number(estate_id or 0, lang)))
        return
    async with context.db.transaction() as repo:
        await audit(repo, user_id=user.id, action="export",
                    target=f"estate:{estate_id}" if estate_id is not None else "estates:all")
    day = file_date(context.now(), context.settings.zone)
    which = f"estate-{estate_id}" if estate_id is not None else "my-estates"
    # A round chosen by its button is named in the file name: two rounds' files of one day differ.
    shown = built.choice.round
    if round_id is not None and shown is not None:
        which += f"-round-{shown.id}"
    if estate_id is None:
        caption = t("📥 All your estates ({n}): a summary, the firms, their answers and the pressure points.",
                    n=number(len(context.access.estates), lang))
    else:
        caption = t("📥 The estate's firms, their answers and the pressure points.")
    if shown is not None:
        caption += "\n" + t("Round «{title}».", title=esc(shown.title))
    caption += other_rounds_hint(context, built.choice)
    target = "all" if estate_id is None else estate_id
    markup = keyboard(*round_rows(context, built.choice, lambda r: cb.EXPORT_ROUND.build(target, r)))
    await context.bot.send_document(
        chat.id, InputFile(built.data, filename=f"khooshe-{which}-{day}.xlsx"),
        caption=caption, parse_mode=ParseMode.HTML, reply_markup=markup if built.choice.offered else None,
    )


@manager_only
async def export_command(update: Update, context: KhoosheContext) -> None:
    """/export [ESTATE_ID | all]"""
    if wants_all(context):
        await send_export(update, context, None)
        return
    estate_id = await estate_from_command(update, context, "exp")
    if estate_id is not None:
        await send_export(update, context, estate_id)


@manager_only
async def export_button(update: Update, context: KhoosheContext) -> None:
    estate_id = await estate_from_button(update, context, "exp")
    if estate_id is not None:
        await send_export(update, context, estate_id)


@manager_only
async def export_all_button(update: Update, context: KhoosheContext) -> None:
    if not context.access.estates:
        await refuse(context, update, "exp", "estates:all", detail="manages no estate")
        return
    await settle_query(update)
    await send_export(update, context, None)


async def round_from_button(update: Update, context: KhoosheContext, button_kind: cb.Callback,
                            action: str) -> tuple[int | None, int] | None:
    """The estate (None: all the manager's) and round of a round button, the estate checked."""
    query = update.callback_query
    assert query is not None
    target, round_id = button_kind.parse(query.data)
    if target == "all":
        if not context.access.estates:
            await refuse(context, update, action, "estates:all", detail="manages no estate")
            return None
        await settle_query(update)
        return None, int(round_id)
    estate_id = int(target)
    if not context.access.may_manage(estate_id):
        await refuse(context, update, action, f"estate:{estate_id}", detail="not a manager of this estate")
        return None
    await settle_query(update)
    return estate_id, int(round_id)


@manager_only
async def dashboard_round_button(update: Update, context: KhoosheContext) -> None:
    chosen = await round_from_button(update, context, cb.DASHBOARD_ROUND, "dash")
    if chosen is None:
        return
    estate_id, round_id = chosen
    if estate_id is None:
        await show_overview(update, context, round_id)
    else:
        await show_dashboard(update, context, estate_id, round_id)


@manager_only
async def export_round_button(update: Update, context: KhoosheContext) -> None:
    chosen = await round_from_button(update, context, cb.EXPORT_ROUND, "exp")
    if chosen is not None:
        await send_export(update, context, *chosen)


@manager_only
async def my_estates(update: Update, context: KhoosheContext) -> None:
    """/myestates: each estate the manager manages, its firms and their completion in the open
    (or latest) round, with a button to its dashboard (and, for several, to all of them)."""
    t, lang = context.t, context.lang
    access = context.access
    if not access.estates:
        await say(update, context, t("You manage no estate; as an admin you can reach every estate."))
        return
    async with context.db.transaction() as repo:
        overview = await dashboard.estates_overview(repo, access.estates)
        await audit(repo, user_id=access.user_id, action="my_estates")
    messages = dashboard.render_my_estates(overview, lang, context.settings)
    buttons = [button("📊 " + x.estate.name, cb.DASHBOARD.build(x.estate.id)) for x in overview.lines]
    extra = []
    if len(overview.lines) > 1:
        extra = [button(t("🏘 All my estates"), cb.DASHBOARD_ALL.build()),
                 button(t("📥 Excel export of all"), cb.EXPORT_ALL.build())]
    markup = keyboard(*rows(buttons, 1), extra)
    for i, text in enumerate(messages):
        await say(update, context, text, markup if i == len(messages) - 1 else None)


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
    app.add_handler(CommandHandler("myestates", my_estates))
    app.add_handler(CallbackQueryHandler(pressed(my_estates), pattern=cb.TASK.pattern_of("myestates")))
    app.add_handler(CommandHandler("nudge", nudge_command))
    app.add_handler(CommandHandler("export", export_command))
    app.add_handler(CallbackQueryHandler(dashboard_button, pattern=cb.DASHBOARD.pattern))
    app.add_handler(CallbackQueryHandler(overview_button, pattern=cb.DASHBOARD_ALL.pattern))
    app.add_handler(CallbackQueryHandler(nudge_all_button, pattern=cb.NUDGE_ALL.pattern))
    app.add_handler(CallbackQueryHandler(nudge_button, pattern=cb.NUDGE.pattern))
    app.add_handler(CallbackQueryHandler(export_button, pattern=cb.EXPORT.pattern))
    app.add_handler(CallbackQueryHandler(export_all_button, pattern=cb.EXPORT_ALL.pattern))
    app.add_handler(CallbackQueryHandler(dashboard_round_button, pattern=cb.DASHBOARD_ROUND.pattern))
    app.add_handler(CallbackQueryHandler(export_round_button, pattern=cb.EXPORT_ROUND.pattern))
