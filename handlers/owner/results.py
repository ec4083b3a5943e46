"""What a firm owner sees of published results (/myrank), and their own settings (mute)."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.context import KhoosheApp, KhoosheContext
from bot.domain import callbacks as cb
from bot.domain.calendar import format_long_date
from bot.domain.text import number
from bot.services.dashboard import chunks
from bot.services.publishing import OwnerResult
from handlers.common.menu import show_menu
from handlers.common.ui import button, esc, keyboard, say, settle_query


async def my_rank(update: Update, context: KhoosheContext) -> None:
    """Shows the latest published result of the owner's firm again, with its chart."""
    await settle_query(update)
    user = update.effective_user
    assert user is not None and update.effective_chat is not None
    latest = await context.services.results.latest_for_owner(user.id)
    if not latest.registered:
        await show_menu(update, context, intro=context.t("Your firm is not registered yet."))
        return
    if not latest.published:
        await say(update, context, *nothing_published(context, latest))
        return
    result = latest.result
    if result is None:
        return
    await say(update, context, result.text)
    if result.chart is not None:
        await context.bot.send_photo(update.effective_chat.id, result.chart, caption=result.caption,
                                     parse_mode=ParseMode.HTML)


def nothing_published(context: KhoosheContext, latest: OwnerResult) -> tuple[str, InlineKeyboardMarkup]:
    """Why there is no result yet, and the next step: the open round's assessment, or the menu."""
    t = context.t
    if latest.unsubmitted is not None:
        text = t("Your answers to «{title}» were not submitted before it closed, so there is no score for it.",
                 title=esc(latest.unsubmitted.title))
    else:
        text = t("No results have been published for your firm yet. They are published after a round closes.")
    if latest.open_round is not None:
        text += "\n" + t("«{title}» is open until {date}: answer it to get your score and rank.",
                          title=esc(latest.open_round.title),
                          date=format_long_date(latest.open_round.closes_at, context.lang, context.settings.zone))
        return text, keyboard([button(t("📋 Start the self-assessment"), cb.ASSESS.build())])
    return text, keyboard([button(t("🏠 Menu"), cb.MENU.build())])


async def ranking(update: Update, context: KhoosheContext) -> None:
    """/ranking: the published national top list, open to everyone; only firms that agreed to
    be named appear, with the rank they hold among all scored firms."""
    t, lang = context.t, context.lang
    public = await context.services.results.public_ranking()
    if public.round is None:
        await say(update, context, t("No ranking has been published yet. It is published after a round closes."))
        return
    head = t("🏆 <b>Top firms, «{title}»</b>", title=esc(public.round.title))
    if not public.entries:
        await say(update, context, head + "\n" + t("No firm in the top list agreed to be named."))
        return
    lines = [t("{rank}. {name} — {score}", rank=number(e.rank, lang), name=esc(e.name or ""),
               score=number(e.composite, lang, decimals=1)) for e in public.entries]
    note = t("Ranks are among all {n} firms scored nationally; only firms that agreed to be named are listed. "
             "Your own result: /myrank", n=number(public.scored, lang))
    for text in chunks([head, "\n".join(lines), note]):
        await say(update, context, text)


async def settings_menu(update: Update, context: KhoosheContext) -> None:
    """Shows the reminder setting with a button to switch it."""
    await settle_query(update)
    await show_settings(update, context)


async def show_settings(update: Update, context: KhoosheContext) -> None:
    user = update.effective_user
    assert user is not None
    t = context.t
    muted = await context.services.owner_settings.muted(user.id)
    state = t("Reminders are off. You still receive round announcements and your results.") if muted \
        else t("Reminders are on: while a round is open you are reminded before it closes.")
    await say(update, context, t("<b>Settings</b>") + "\n\n" + state, keyboard(
        [button(t("🔔 Turn reminders on") if muted else t("🔕 Turn reminders off"), cb.SET_MUTE.build(0 if muted else 1))],
        [button(t("📦 My data"), cb.PRIVACY_DATA.build()), button(t("🗑 Delete my data"), cb.PRIVACY_DELETE.build())],
        [button(t("🌐 Language"), cb.SET_LANGUAGE.build()), button(t("🏠 Menu"), cb.MENU.build())],
    ))


async def set_mute(update: Update, context: KhoosheContext) -> None:
    """Stores the reminder choice and shows the settings again."""
    query = update.callback_query
    assert query is not None and query.data is not None and update.effective_user is not None
    muted = query.data.endswith(":1")
    await context.services.owner_settings.set_muted(update.effective_user.id, muted)
    await settle_query(update, text=context.t("Reminders turned off.") if muted else context.t("Reminders turned on."))
    await show_settings(update, context)


async def language_from_settings(update: Update, context: KhoosheContext) -> None:
    from handlers.common.menu import language_command

    await settle_query(update)
    await language_command(update, context)


def register(app: KhoosheApp) -> None:
    app.add_handler(CommandHandler("myrank", my_rank))
    app.add_handler(CommandHandler("ranking", ranking))
    app.add_handler(CallbackQueryHandler(my_rank, pattern=cb.MY_RANK.pattern))
    app.add_handler(CommandHandler("settings", settings_menu))
    app.add_handler(CallbackQueryHandler(settings_menu, pattern=cb.SETTINGS.pattern))
    app.add_handler(CallbackQueryHandler(set_mute, pattern=cb.SET_MUTE.pattern))
    app.add_handler(CallbackQueryHandler(language_from_settings, pattern=cb.SET_LANGUAGE.pattern))
