"""The main menu: what a user sees on /start, after leaving a conversation, or when lost."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from telegram import Update
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.context import KhoosheApp, KhoosheContext
from bot.domain import callbacks as cb
from bot.domain.calendar import format_long_date
from bot.domain.text import number
from bot.i18n import LANGUAGES, N_, translator
from handlers.common.ui import button, esc, keyboard, rows, say, settle_query

# Each language's button is written in that language, whatever the reader's language is now.
LANGUAGE_BUTTONS = {"fa": N_("🌐 Persian"), "en": N_("🌐 English")}
# The tasks an estate manager and an admin find in their menu (cb.TASK), in this order.
MANAGER_TASK_LABELS = {
    "dashboard": N_("📊 Dashboard"), "broadcast": N_("📣 New broadcast"),
    "broadcasts": N_("📨 My broadcasts"), "export": N_("📥 Excel of my firms"),
    "myestates": N_("🏭 My estates"), "onboard": N_("📇 Invite my firms"),
}
ADMIN_TASK_LABELS = {
    "rounds": N_("🗓 Rounds"), "stats": N_("📈 National statistics"),
    "top": N_("🏆 Top 100"), "exportall": N_("📦 Export everything"),
}
assert set(MANAGER_TASK_LABELS) == set(cb.MANAGER_TASKS) and set(ADMIN_TASK_LABELS) == set(cb.ADMIN_TASKS)

Handler = Callable[[Update, KhoosheContext], Coroutine[Any, Any, Any]]


async def show_menu(update: Update, context: KhoosheContext, *, intro: str | None = None) -> None:
    """Shows the menu that fits the user: register, or assess and view the profile."""
    t = context.t
    user = update.effective_user
    assert user is not None
    zone = context.settings.zone
    state = await context.services.menu.state(user.id)
    firm, status = state.firm, state.status
    lines = [intro] if intro else []
    buttons = []
    access = state.access
    privileged = access.is_admin or access.is_manager
    if firm is None and privileged:
        # An admin or a manager came for their tasks, not to be asked to register a firm.
        if state.registering:
            buttons.append([button(t("📝 Continue registration"), cb.REGISTER.build())])
    elif firm is None:
        lines.append(t("Khooshe helps your firm see where it stands in technology, standards and exports, "
                       "and how it compares with its peers."))
        if state.registering:
            buttons.append([button(t("📝 Continue registration"), cb.REGISTER.build())])
        else:
            lines.append(t("To take part, register your firm first; it takes about two minutes."))
            buttons.append([button(t("📝 Register my firm"), cb.REGISTER.build())])
    else:
        lines.append(t("Firm: <b>{name}</b>", name=esc(firm.name)))
        round_ = status.round
        if round_ is None:
            lines.append(t("No assessment round is open right now."))
            if status.next_round is not None:
                lines.append(
                    t("The next round opens on {date}.",
                      date=format_long_date(status.next_round.opens_at, context.lang, zone))
                )
        elif status.submitted:
            lines.append(t("You have submitted the assessment of «{title}». Thank you!", title=esc(round_.title)))
            lines.append(t("You can change your answers until {date}.",
                           date=format_long_date(round_.closes_at, context.lang, zone)))
            buttons.append([button(t("📊 My provisional scores"), cb.ASSESS.build()),
                            button(t("✏️ Change my answers"), cb.ASSESS_REOPEN.build())])
        else:
            lines.append(
                t("Round «{title}» is open until {date}.", title=esc(round_.title),
                  date=format_long_date(round_.closes_at, context.lang, zone))
            )
            if status.answered:
                label = t("📋 Continue the assessment ({done} of {total})",
                          done=number(status.answered, context.lang), total=number(status.total, context.lang))
            else:
                label = t("📋 Start the self-assessment")
            buttons.append([button(label, cb.ASSESS.build())])
        buttons.append([button(t("👤 My firm's profile"), cb.PROFILE.build()), button(t("📊 My results"), cb.MY_RANK.build())])
        buttons.append([button(t("⚙️ Settings"), cb.SETTINGS.build())])
    if privileged:
        lines.append(t("<b>Your tasks</b> (tap one, or send /help for every command):"))
        buttons += rows([button(t(label), cb.TASK.build(task)) for task, label in MANAGER_TASK_LABELS.items()], 2)
    if access.is_admin:
        buttons += rows([button(t(label), cb.TASK.build(task)) for task, label in ADMIN_TASK_LABELS.items()], 2)
    if firm is None and privileged and not state.registering:
        buttons.append([button(t("📝 Register a firm I own"), cb.REGISTER.build())])
    other = next(code for code in LANGUAGES if code != context.lang)
    buttons.append([button(translator(other)(LANGUAGE_BUTTONS[other]), cb.LANGUAGE.build(other))])
    await say(update, context, "\n\n".join(lines), keyboard(*buttons))


async def start(update: Update, context: KhoosheContext) -> None:
    """Greets the user and shows the menu."""
    name = update.effective_user.first_name if update.effective_user else ""
    await show_menu(update, context, intro=context.t("Hello {name}! 👋", name=esc(name or "")))


async def menu_command(update: Update, context: KhoosheContext) -> None:
    """Shows the menu on /menu, /cancel outside a conversation, and anything unrecognised."""
    await settle_query(update)
    await show_menu(update, context)


async def help_command(update: Update, context: KhoosheContext) -> None:
    """Lists what the bot can do for a firm owner, then the commands of the user's other roles."""
    from handlers.common import commands as menus

    t = context.t
    assert update.effective_user is not None
    access = await context.services.menu.access(update.effective_user.id)
    await say(update, context, "\n".join([
        t("<b>What you can do here</b>"),
        t("/start – the main menu"),
        t("/register – register your firm"),
        t("/assess – answer or continue the self-assessment"),
        t("/profile – see and edit your firm's profile"),
        t("/myrank – your latest published score and rank"),
        t("/ranking – the published top firms (only those that agreed to be named)"),
        t("/settings – reminders and language"),
        t("/language – switch between Persian and English"),
        t("/cancel – leave what you are doing (your answers are kept)"),
        *menus.help_lines(access, t),
    ]))


async def language_command(update: Update, context: KhoosheContext) -> None:
    """Offers the two languages."""
    await say(update, context, context.t("Choose your language:"), keyboard(
        [button(translator(code)(LANGUAGE_BUTTONS[code]), cb.LANGUAGE.build(code)) for code in LANGUAGES]
    ))


async def store_language(update: Update, context: KhoosheContext) -> bool:
    """Stores the language of a pressed ``lang:xx`` button; True when it changed."""
    query = update.callback_query
    assert query is not None and query.data is not None and update.effective_user is not None
    (code,) = cb.LANGUAGE.parse(query.data)
    if not await context.services.owner_settings.set_language(update.effective_user.id, code):
        return False
    from handlers.common import commands as menus

    await menus.publish_for(context.bot, context.services, update.effective_user.id, privileged_only=True)
    await settle_query(update, text=context.t("Language set to English.") if code == "en"
                       else context.t("Language set to Persian."))
    return True


async def set_language(update: Update, context: KhoosheContext) -> None:
    """Stores the chosen language and shows the menu in it."""
    if not await store_language(update, context):
        await settle_query(update)
        return
    await show_menu(update, context, intro=context.t("Language set to English.") if context.lang == "en"
                    else context.t("Language set to Persian."))


def register(app: KhoosheApp) -> None:
    """Adds the menu's commands and buttons; the catch-all goes last."""
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CommandHandler(["menu", "cancel"], menu_command))
    app.add_handler(CommandHandler("help", help_command))
    app.add_handler(CommandHandler("language", language_command))
    app.add_handler(CallbackQueryHandler(set_language, pattern=cb.LANGUAGE.pattern))
    app.add_handler(CallbackQueryHandler(menu_command, pattern=cb.MENU.pattern))


def pressed(command: Handler) -> Handler:
    """A command run from its menu button (cb.TASK), as if typed without arguments; the
    command's own role guard decides, and the press is answered when it is done (a refusal
    answers it first, with its reason)."""

    async def run(update: Update, context: KhoosheContext) -> Any:
        context.args = []
        try:
            return await command(update, context)
        finally:
            await settle_query(update)

    return run


def register_fallback(app: KhoosheApp) -> None:
    """Anything nobody else handled gets the menu, never silence; an unknown command is named."""
    app.add_handler(MessageHandler(filters.COMMAND, unknown_command))
    app.add_handler(MessageHandler(filters.ALL, menu_command))
    app.add_handler(CallbackQueryHandler(stale_button))


async def unknown_command(update: Update, context: KhoosheContext) -> None:
    """A /word the bot does not know: says so and points to /help, instead of the welcome."""
    assert update.message is not None
    word = (update.message.text or "").split()[0].partition("@")[0]
    await say(update, context, context.t("There is no command {command}. Send /help to see what you can do here.",
                                         command=esc(word)))


async def stale_button(update: Update, context: KhoosheContext) -> None:
    """Tells the user an old button no longer works and shows the menu."""
    await settle_query(update, text=context.t("This button is no longer active."))
    await show_menu(update, context)
