"""Estate managers and admins broadcast notices to firms: choose who, filter, compose, preview,
send now or schedule; /broadcasts lists them and cancels one.

Every step re-reads the sender's role and scope from the database (``requires``), and
``BroadcastService`` checks every audience against it again: a manager can never reach another
estate, even by forging button data.  The composition itself lives in ``user_data`` until it
is confirmed.
"""

from __future__ import annotations

import logging
from datetime import datetime, time
from enum import IntEnum
from typing import Any

from persiantools.jdatetime import JalaliDate
from telegram import Message, Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.context import KhoosheApp, KhoosheContext
from bot.delivery.broadcasts import prepared_content
from bot.delivery.worker import send_prepared
from bot.domain import callbacks as cb
from bot.domain.calendar import format_datetime
from bot.domain.sectors import SECTORS
from bot.domain.text import number
from bot.i18n import N_
from bot.services.access import Role
from bot.services.broadcasts import (
    BadMoment,
    BroadcastService,
    Created,
    NoRecipients,
    OutOfScope,
    Tally,
    TooLong,
    in_scope,
)
from handlers.common.dates import day_after, day_buttons, weekday_moment
from handlers.common.guard import refuse, requires
from handlers.common.menu import pressed
from handlers.common.ui import (
    button,
    close_prompt,
    esc,
    keyboard,
    rows,
    say,
    settle_query,
    show,
)
from storage.models import Cluster
from storage.repositories.broadcasts import SIZE_BANDS, Broadcast

log = logging.getLogger(__name__)

manager_or_admin = requires(Role.MANAGER)


class Step(IntEnum):
    SCOPE = 1
    FILTERS = 2
    CONTENT = 3
    CONFIRM = 4
    SCHEDULE = 5


STATE_NAMES = {
    "draft": N_("draft"), "scheduled": N_("scheduled"), "running": N_("sending"),
    "done": N_("finished"), "cancelled": N_("cancelled"),
}
SUBMITTED_CHOICES = {
    None: N_("📝 Round: everyone"), False: N_("📝 Round: not submitted yet"), True: N_("📝 Round: submitted"),
}


# --- scope ---------------------------------------------------------------------------------------

def service(context: KhoosheContext) -> BroadcastService:
    return context.services.broadcasting


def draft_of(context: KhoosheContext) -> dict[str, Any] | None:
    return context.user_data.broadcast


async def checked_draft(update: Update, context: KhoosheContext) -> dict[str, Any] | None:
    """The draft in progress when its audience is still within the sender's scope."""
    draft = draft_of(context)
    if draft is None:
        await settle_query(update, text=context.t("This button is no longer active."))
        return None
    if not in_scope(context.access, draft["audience"]):
        await refuse(context, update, "broadcast", draft["audience"], detail="out of scope")
        context.user_data.broadcast = None
        return None
    return draft


# --- choosing who -------------------------------------------------------------------------------

@manager_or_admin
async def begin(update: Update, context: KhoosheContext) -> Step | int:
    """Starts a broadcast: asks which estates (or, for admins, which part of the country)."""
    t, lang = context.t, context.lang
    begun = await service(context).begin(context.access)
    context.user_data.broadcast = {"audience": begun.audience, "content": None}
    if context.access.is_admin:
        buttons = [[button(t("🌍 All firms"), cb.BC_ALL.build())]]
        buttons += rows([button(p.name(lang), cb.BC_PROVINCE.build(p.id)) for p in begun.provinces], 3)
        await say(update, context, t("📣 New broadcast. Who should receive it? "
                                     "All firms, or choose a province (then the whole province or one estate)."),
                  keyboard(*buttons))
        return Step.SCOPE
    if begun.ready:
        await show_filters(update, context)
        return Step.FILTERS
    buttons = [[button(e.name, cb.BC_ESTATE.build(e.id))] for e in begun.estates]
    buttons.append([button(t("All my estates"), cb.BC_ESTATE.build("all"))])
    await say(update, context, t("📣 New broadcast. Which of your estates should receive it?"), keyboard(*buttons))
    return Step.SCOPE


@manager_or_admin
async def chose_everyone(update: Update, context: KhoosheContext) -> Step | None:
    """Admins only: every firm."""
    draft = draft_of(context)
    try:
        if draft is None:
            raise OutOfScope
        draft["audience"] = service(context).everyone(context.access, draft["audience"])
    except OutOfScope:
        await refuse(context, update, "broadcast_all", "all firms", detail="out of scope")
        return None
    await settle_query(update)
    await show_filters(update, context, edit=True)
    return Step.FILTERS


@manager_or_admin
async def chose_province(update: Update, context: KhoosheContext) -> Step | None:
    """Admins only: offers the whole province or one of its estates."""
    query = update.callback_query
    assert query is not None and query.data is not None
    t = context.t
    try:
        if draft_of(context) is None:
            raise OutOfScope
        found = await service(context).province(context.access, cb.BC_PROVINCE.parse_int(query.data))
    except OutOfScope:
        await refuse(context, update, "broadcast_province", query.data, detail="out of scope")
        return None
    if found is None:
        await settle_query(update, text=t("This button is no longer active."))
        return None
    province, estates = found
    await settle_query(update)
    buttons = [[button(t("The whole province"), cb.BC_WHOLE_PROVINCE.build(province.id))]]
    buttons += rows([button(e.name, cb.BC_ESTATE.build(e.id)) for e in estates], 2)
    assert isinstance(query.message, Message)
    await query.message.edit_text(t("{province}: the whole province, or one estate?", province=esc(province.name(context.lang))),
                                  reply_markup=keyboard(*buttons))
    return Step.SCOPE


@manager_or_admin
async def chose_whole_province(update: Update, context: KhoosheContext) -> Step | None:
    """Admins only: every firm of one province."""
    query = update.callback_query
    assert query is not None and query.data is not None
    draft = draft_of(context)
    try:
        if draft is None:
            raise OutOfScope
        draft["audience"] = service(context).whole_province(
            context.access, draft["audience"], cb.BC_WHOLE_PROVINCE.parse_int(query.data))
    except OutOfScope:
        await refuse(context, update, "broadcast_province", query.data, detail="out of scope")
        return None
    await settle_query(update)
    await show_filters(update, context, edit=True)
    return Step.FILTERS


@manager_or_admin
async def chose_estate(update: Update, context: KhoosheContext) -> Step | None:
    """One estate (any for admins, their own for managers), or all of a manager's estates."""
    query = update.callback_query
    assert query is not None and query.data is not None
    draft = draft_of(context)
    (value,) = cb.BC_ESTATE.parse(query.data)
    try:
        if draft is None:
            raise OutOfScope
        audience = await service(context).estates(context.access, draft["audience"], value)
    except OutOfScope:
        await refuse(context, update, "broadcast_estate", query.data, detail="out of scope")
        return None
    if audience is None:
        await settle_query(update, text=context.t("This button is no longer active."))
        return None
    draft["audience"] = audience
    await settle_query(update)
    await show_filters(update, context, edit=True)
    return Step.FILTERS


# --- filters ------------------------------------------------------------------------------------

async def describe_audience(context: KhoosheContext, audience: dict[str, Any]) -> tuple[list[str], int]:
    """The audience's lines as the sender reads them, and its count."""
    t, lang = context.t, context.lang
    found = await service(context).recipients(context.access, audience)
    lines = []
    if audience.get("estates"):
        separator = "\u060c " if lang == "fa" else ", "  # the Persian comma
        lines.append(t("Estates: {names}", names=esc(separator.join(e.name for e in found.estates))))
    elif audience.get("province") is not None:
        lines.append(t("Province: {name}", name=esc(found.province.name(lang) if found.province else "?")))
    else:
        lines.append(t("All firms"))
    if audience.get("cluster") is not None:
        lines.append(t("Cluster: {name}", name=esc(found.cluster.name if found.cluster else "?")))
    if audience.get("sector"):
        lines.append(t("Sector: {name}", name=sector_name(context, audience["sector"])))
    if audience.get("size"):
        lines.append(t("Employees: {band}", band=band_label(audience["size"], lang)))
    if audience.get("submitted") is not None:
        lines.append(t("Only firms that have submitted the current round") if audience["submitted"]
                     else t("Only firms that have not submitted the current round"))
    return lines, found.count


def sector_name(context: KhoosheContext, code: str) -> str:
    label = SECTORS.get(code)
    return context.t(label) if label else code


def band_label(band: str, lang: str) -> str:
    low, high = SIZE_BANDS[band]
    return f"{number(low, lang)}+" if high is None else f"{number(low, lang)}–{number(high, lang)}"


async def show_filters(update: Update, context: KhoosheContext, *, edit: bool = False) -> None:
    """Shows who will receive it, the count, and the filters that can narrow it."""
    t, lang = context.t, context.lang
    draft = draft_of(context)
    assert draft is not None
    audience = draft["audience"]
    lines, count = await describe_audience(context, audience)
    text = "\n".join([t("<b>Recipients</b>"), *lines, "",
                      t("Firms that will receive it: {n}", n=number(count, lang)),
                      t("Narrow it down with the buttons, or continue.") if count else
                      t("No firm matches these filters. Change a filter, or cancel.")])
    any_value = t("any")
    buttons = [
        [button(t("🏷 Cluster: {value}", value=any_value if audience.get("cluster") is None else "✓"), cb.BC_FILTER.build("cl")),
         button(t("🏭 Sector: {value}", value=sector_name(context, audience["sector"]) if audience.get("sector") else any_value),
                cb.BC_FILTER.build("sec"))],
    ]
    row = []
    if audience.get("round_id") is not None:
        row.append(button(t(SUBMITTED_CHOICES[audience.get("submitted")]), cb.BC_FILTER.build("sub")))
    if context.access.is_admin:
        size = audience.get("size")
        row.append(button(t("👥 Employees: {value}", value=band_label(size, lang) if size else any_value), cb.BC_FILTER.build("size")))
    buttons.append(row)
    leave_button = button(t("✖️ Cancel"), cb.BC_LEAVE.build())
    buttons.append([button(t("➡️ Continue"), cb.BC_CONTINUE.build()), leave_button] if count else [leave_button])
    query = update.callback_query
    if edit and query is not None and isinstance(query.message, Message):
        await query.message.edit_text(text, parse_mode="HTML", reply_markup=keyboard(*buttons))
    else:
        await say(update, context, text, keyboard(*buttons))


@manager_or_admin
async def filter_menu(update: Update, context: KhoosheContext) -> Step | None:
    """Offers the values of one filter (only those present among the recipients)."""
    query = update.callback_query
    assert query is not None and query.data is not None
    draft = await checked_draft(update, context)
    if draft is None:
        return None
    t, lang = context.t, context.lang
    (which,) = cb.BC_FILTER.parse(query.data)
    if which == "sub":
        draft["audience"] = service(context).toggle_submitted(context.access, draft["audience"])
        await settle_query(update)
        await show_filters(update, context, edit=True)
        return Step.FILTERS
    try:
        values = await service(context).filter_values(context.access, draft["audience"], which)
    except OutOfScope:
        await refuse(context, update, "broadcast_filter", query.data, detail="out of scope")
        return None
    buttons = [[button(t("Any"), cb.BC_FILTER_VALUE.build(which, "any"))]]
    if which == "cl":
        buttons += [[button(c.name, cb.BC_FILTER_VALUE.build("cl", c.id))] for c in values if isinstance(c, Cluster)]
    elif which == "sec":
        buttons += [[button(sector_name(context, code), cb.BC_FILTER_VALUE.build("sec", code))] for code in values]
    else:
        buttons += rows([button(band_label(b, lang), cb.BC_FILTER_VALUE.build("size", b)) for b in values], 4)
    await settle_query(update)
    assert isinstance(query.message, Message)
    await query.message.edit_text(t("Choose a value:"), reply_markup=keyboard(*buttons))
    return Step.FILTERS


@manager_or_admin
async def filter_value(update: Update, context: KhoosheContext) -> Step | None:
    """Stores one filter's value and shows the recipients again."""
    query = update.callback_query
    assert query is not None and query.data is not None
    draft = await checked_draft(update, context)
    if draft is None:
        return None
    which, value = cb.BC_FILTER_VALUE.parse(query.data)
    try:
        draft["audience"] = service(context).set_filter(context.access, draft["audience"], which, value)
    except (OutOfScope, ValueError):
        await refuse(context, update, "broadcast_filter", query.data, detail="out of scope")
        return None
    await settle_query(update)
    await show_filters(update, context, edit=True)
    return Step.FILTERS


# --- the content and its preview --------------------------------------------------------------

@manager_or_admin
async def ask_content(update: Update, context: KhoosheContext) -> Step | None:
    """Asks for the notice itself (unless no firm would receive it: an old Continue button)."""
    draft = await checked_draft(update, context)
    if draft is None:
        return None
    await settle_query(update)
    if not await service(context).count(context.access, draft["audience"]):
        await show_filters(update, context)
        return Step.FILTERS
    await close_prompt(update, context.t("Now send the notice: a text, or a photo or a document with a caption. "
                                         "Firms receive it as you send it, under a line that names you as its sender."))
    return Step.CONTENT


@manager_or_admin
async def got_content(update: Update, context: KhoosheContext) -> Step | None:
    """Stores the text, photo or document, sends the preview and asks how to send it."""
    t = context.t
    draft = await checked_draft(update, context)
    message = update.message
    if draft is None or message is None:
        return None
    sender = await service(context).sender(context.access, draft["audience"], t, context.lang)
    if message.photo:
        content = BroadcastService.notice("photo", message.caption or "", esc(message.caption or ""),
                                          message.photo[-1].file_id, sender=sender)
    elif message.document:
        content = BroadcastService.notice("document", message.caption or "", esc(message.caption or ""),
                                          message.document.file_id, sender=sender)
    elif message.text:
        content = BroadcastService.notice("text", message.text, esc(message.text), sender=sender)
    else:
        await say(update, context, t("Please send a text, a photo or a document."))
        return Step.CONTENT
    if isinstance(content, TooLong):
        await say(update, context, t("That is too long: at most {n} characters. Please send it again, shorter.",
                                     n=number(content.limit, context.lang)))
        return Step.CONTENT
    draft["content"] = content
    await preview(update, context, draft)
    return Step.CONFIRM


async def preview(update: Update, context: KhoosheContext, draft: dict[str, Any]) -> None:
    t = context.t
    chat = update.effective_chat
    assert chat is not None
    count = await service(context).count(context.access, draft["audience"])
    await say(update, context, t("👇 Preview: this is exactly what firms will receive."))
    await send_prepared(context.bot, chat.id, prepared_content(draft["content"]), bulk=False)
    await say(update, context, t("☝️ It will go to {n} firms. Send it now, or schedule it?", n=number(count, context.lang)),
              keyboard([button(t("🚀 Send now"), cb.BC_NOW.build()), button(t("🗓 Schedule"), cb.BC_SCHEDULE.build())],
                       [button(t("✖️ Cancel"), cb.BC_LEAVE.build())]))


def chat_of(update: Update) -> int:
    assert update.effective_chat is not None
    return update.effective_chat.id


@manager_or_admin
async def send_now(update: Update, context: KhoosheContext) -> int | None:
    """Queues the broadcast at once; the progress message follows."""
    draft = await checked_draft(update, context)
    if draft is None or draft.get("content") is None:
        return None
    await settle_query(update)
    context.user_data.broadcast = None
    created = await service(context).send_now(context.access, draft["audience"], draft["content"], chat_id=chat_of(update))
    if isinstance(created, NoRecipients):
        return await nobody_left(update, context, draft)
    await close_prompt(update, context.t("🚀 Broadcast #{id} to {n} firms is on its way. Progress follows.",
                                         id=number(created.broadcast_id, context.lang), n=number(created.count, context.lang)))
    await service(context).start_due()
    return ConversationHandler.END


#: The sending times offered as buttons: days after today, at 09:00 Tehran time.
WHEN_CHOICES: tuple[tuple[int, str], ...] = ((1, N_("Tomorrow at 9")), (2, N_("The day after at 9")),
                                             (7, N_("In a week at 9")))
WHEN_AT = time(9, 0)


@manager_or_admin
async def ask_when(update: Update, context: KhoosheContext) -> Step | None:
    """Asks when: «now», a few days at 09:00 as buttons, or a typed Solar Hijri date and time."""
    if await checked_draft(update, context) is None:
        return None
    t, zone = context.t, context.settings.zone
    await settle_query(update)
    choices = day_buttons(t, zone, context.now(), WHEN_CHOICES, WHEN_AT,
                          lambda days: cb.BC_AT.build(jalali_key(day_after(context.now(), days, WHEN_AT, zone))),
                          per_row=1)
    await show(update, context, t("When should it go out? Choose a time, or type a Solar Hijri date and Tehran time, "
                                  "for example 1405/09/15 10:30."),
               keyboard([button(t("🚀 Right now"), cb.BC_NOW.build())], *choices,
                        [button(t("✖️ Cancel"), cb.BC_LEAVE.build())]), replace=True)
    return Step.SCHEDULE


def jalali_key(moment: datetime) -> str:
    """A moment as the button carries it: 1405/09/11_09:00 (Latin digits, Tehran time)."""
    return f"{JalaliDate(moment.date()).strftime('%Y/%m/%d')}_{moment:%H:%M}"


@manager_or_admin
async def picked_when(update: Update, context: KhoosheContext) -> Step | int | None:
    """A sending time from the buttons: scheduled as if it had been typed."""
    query = update.callback_query
    assert query is not None
    (key,) = cb.BC_AT.parse(query.data)
    await settle_query(update)
    await close_prompt(update, context.t("When should it go out?"))
    return await schedule_at(update, context, key.replace("_", " "))


@manager_or_admin
async def got_when(update: Update, context: KhoosheContext) -> Step | int | None:
    """Schedules the broadcast for the given moment (quiet hours still apply when it is sent)."""
    if update.message is None:
        return None
    return await schedule_at(update, context, update.message.text or "")


async def schedule_at(update: Update, context: KhoosheContext, typed: str) -> Step | int | None:
    """Schedules the broadcast for a Solar Hijri date and time, typed or from a button."""
    t = context.t
    draft = await checked_draft(update, context)
    if draft is None or draft.get("content") is None:
        return None
    outcome = await service(context).schedule(context.access, draft["audience"], draft["content"], typed,
                                              chat_id=chat_of(update))
    if isinstance(outcome, NoRecipients):
        return await nobody_left(update, context, draft)
    if isinstance(outcome, BadMoment):
        if outcome.reason == "bad_date":
            await say(update, context, t("«{text}» is not a Solar Hijri date like 1405/10/01 or 1405/10/01 08:00.", text=esc(typed)))
        else:
            await say(update, context, t("That moment has already passed. Please send a later date and time."))
        return Step.SCHEDULE
    context.user_data.broadcast = None
    await say(update, context, scheduled_text(context, outcome))
    return ConversationHandler.END


async def nobody_left(update: Update, context: KhoosheContext, draft: dict[str, Any]) -> Step:
    """No firm matches the audience any more (firms left or submitted meanwhile): nothing was
    created; the notice is kept and the sender is back at the filters."""
    context.user_data.broadcast = draft
    await say(update, context, context.t("No firm would receive it now, so nothing was sent. Your notice is kept: "
                                         "change the recipients, or cancel."))
    await show_filters(update, context)
    return Step.FILTERS


def scheduled_text(context: KhoosheContext, created: Created) -> str:
    t, lang, zone = context.t, context.lang, context.settings.zone
    lines = [t("🗓 Broadcast #{id} to {n} firms is scheduled for {when} (Tehran time).",
               id=number(created.broadcast_id, lang), n=number(created.count, lang),
               when=weekday_moment(created.send_at, t, zone))]
    if created.quiet_until is not None:
        lines.append(t("That falls in quiet hours, so it will go out at {when}.",
                       when=format_datetime(created.quiet_until, lang, zone)))
    lines.append(t("/broadcasts lists your broadcasts; you can cancel it there."))
    return "\n".join(lines)


async def leave(update: Update, context: KhoosheContext) -> int:
    """Drops the composition; nothing is sent."""
    context.user_data.broadcast = None
    await settle_query(update)
    text = context.t("Broadcast cancelled; nothing was sent.")
    if update.callback_query is not None:
        await close_prompt(update, text)
    else:
        await say(update, context, text)
    return ConversationHandler.END


async def use_buttons(update: Update, context: KhoosheContext) -> None:
    """Something typed where a button is expected: asks again politely."""
    await say(update, context, context.t("Please use the buttons above, or /cancel to stop."))


# --- the list and cancelling ------------------------------------------------------------------

def describe(b: Broadcast, tally: Tally, context: KhoosheContext) -> str:
    t, lang, zone = context.t, context.lang, context.settings.zone
    lines = [
        t("<b>#{id}</b> — {state} — {when}", id=number(b.id, lang), state=t(STATE_NAMES[b.state]),
          when=format_datetime(b.send_at, lang, zone)),
        t("Recipients {n}: delivered {delivered}, blocked the bot {blocked}, failed {failed}, remaining {remaining}",
          n=number(b.recipients or tally.total, lang), delivered=number(tally.delivered, lang),
          blocked=number(tally.blocked, lang), failed=number(tally.failed, lang),
          remaining=number(tally.remaining, lang)),
    ]
    if tally.uncertain:
        lines.append(t("Uncertain (may have arrived, not sent again): {n}", n=number(tally.uncertain, lang)))
    return "\n".join(lines)


@manager_or_admin
async def list_broadcasts(update: Update, context: KhoosheContext) -> None:
    """Lists the sender's recent broadcasts (an admin's list shows everyone's)."""
    t, lang = context.t, context.lang
    found = await service(context).recent(context.access)
    if not found:
        await say(update, context, t("No broadcasts yet. Start one with /broadcast."))
        return
    text = "\n\n".join(describe(b, tally, context) for b, tally in found)
    cancellable = [b for b, _ in found if b.state in ("scheduled", "running")]
    buttons = rows([button(t("✖️ Cancel #{id}", id=number(b.id, lang)), cb.BC_CANCEL_BROADCAST.build(b.id)) for b in cancellable], 2)
    await say(update, context, text, keyboard(*buttons) if buttons else None)


@manager_or_admin
async def cancel_broadcast(update: Update, context: KhoosheContext) -> None:
    """Cancels a scheduled or running broadcast: its own sender's, or any for an admin."""
    query = update.callback_query
    assert query is not None and query.data is not None
    t, lang = context.t, context.lang
    try:
        broadcast_id = cb.BC_CANCEL_BROADCAST.parse_int(query.data)
    except ValueError:
        await refuse(context, update, "broadcast_cancel", query.data, detail="out of scope")
        return
    try:
        tally = await service(context).cancel(context.access, broadcast_id)
    except OutOfScope:
        await refuse(context, update, "broadcast_cancel", f"broadcast {broadcast_id}", detail="out of scope")
        return
    if tally is None:
        await settle_query(update, text=t("Broadcast #{id} is no longer running.", id=number(broadcast_id, lang)))
        return
    await settle_query(update)
    if tally.total == 0:  # it was still waiting for its time
        await say(update, context, t("✖️ Broadcast #{id} was cancelled.", id=number(broadcast_id, lang)))
        return
    await say(update, context, t("✖️ Broadcast #{id} is cancelled; {n} messages will not be sent.",
                                 id=number(broadcast_id, lang), n=number(tally.cancelled, lang)))


def register(app: KhoosheApp) -> None:
    typed = filters.TEXT & ~filters.COMMAND
    cancel: BaseHandler[Update, KhoosheContext, object] = CallbackQueryHandler(leave, pattern=cb.BC_LEAVE.pattern)
    app.add_handler(ConversationHandler(
        entry_points=[CommandHandler("broadcast", begin),
                      CallbackQueryHandler(pressed(begin), pattern=cb.TASK.pattern_of("broadcast"))],
        states={
            Step.SCOPE: [
                CallbackQueryHandler(chose_everyone, pattern=cb.BC_ALL.pattern),
                CallbackQueryHandler(chose_province, pattern=cb.BC_PROVINCE.pattern),
                CallbackQueryHandler(chose_whole_province, pattern=cb.BC_WHOLE_PROVINCE.pattern),
                CallbackQueryHandler(chose_estate, pattern=cb.BC_ESTATE.pattern),
                cancel, MessageHandler(typed, use_buttons),
            ],
            Step.FILTERS: [
                CallbackQueryHandler(filter_menu, pattern=cb.BC_FILTER.pattern),
                CallbackQueryHandler(filter_value, pattern=cb.BC_FILTER_VALUE.pattern),
                CallbackQueryHandler(ask_content, pattern=cb.BC_CONTINUE.pattern),
                cancel, MessageHandler(typed, use_buttons),
            ],
            Step.CONTENT: [
                MessageHandler((typed | filters.PHOTO | filters.Document.ALL), got_content),
                cancel,
            ],
            Step.CONFIRM: [
                CallbackQueryHandler(send_now, pattern=cb.BC_NOW.pattern),
                CallbackQueryHandler(ask_when, pattern=cb.BC_SCHEDULE.pattern),
                cancel, MessageHandler(typed, use_buttons),
            ],
            Step.SCHEDULE: [MessageHandler(typed, got_when),
                            CallbackQueryHandler(picked_when, pattern=cb.BC_AT.pattern),
                            CallbackQueryHandler(send_now, pattern=cb.BC_NOW.pattern), cancel],
        },
        fallbacks=[CommandHandler(["cancel", "start", "menu"], leave)],
        # One conversation per user and chat, whichever message a button is on: the steps mix
        # typed text and buttons (per_message=True would need only CallbackQueryHandlers).
        per_message=False,
        allow_reentry=True,
        name="broadcast",
        # Its position is written down with the flow (bot.flows), so a restart resumes it.
        persistent=True,
    ))
    app.add_handler(CommandHandler("broadcasts", list_broadcasts))
    app.add_handler(CallbackQueryHandler(pressed(list_broadcasts), pattern=cb.TASK.pattern_of("broadcasts")))
    app.add_handler(CallbackQueryHandler(cancel_broadcast, pattern=cb.BC_CANCEL_BROADCAST.pattern))
