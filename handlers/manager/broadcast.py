"""Estate managers and admins broadcast notices to firms: choose who, filter, compose, preview,
send now or schedule; /broadcasts lists them and cancels one.

Every step re-reads the sender's role and scope from the database (``requires``), and every
audience is checked against it again: a manager can never reach another estate, even by forging
button data.  The composition itself lives in ``user_data`` until it is confirmed.
"""

from __future__ import annotations

import logging
from datetime import time
from enum import IntEnum
from typing import Any

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
from bot.delivery.broadcasts import CAPTION_LIMIT, TEXT_LIMIT, Tally, prepared_content
from bot.delivery.worker import send_prepared
from bot.domain import callbacks as cb
from bot.domain.calendar import BadDate, format_datetime, parse_jalali_datetime
from bot.domain.sectors import SECTORS
from bot.domain.text import number
from bot.i18n import N_
from bot.services.access import Access, Role, audit
from handlers.common.guard import refuse, requires
from handlers.common.ui import (
    button,
    close_prompt,
    esc,
    keyboard,
    rows,
    say,
    settle_query,
)
from storage.repositories import Repositories
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

def in_scope(access: Access, audience: dict[str, Any]) -> bool:
    """Admins reach anyone; a manager only firms of estates they manage."""
    if access.is_admin:
        return True
    estates = audience.get("estates")
    if estates is None or audience.get("province") is not None:
        return False
    return bool(estates) and all(access.may_manage(int(e)) for e in estates)


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


async def current_round_id(repo: Repositories) -> int | None:
    """The open round, else the latest one: what "submitted or not" refers to."""
    current = await repo.rounds.open_round()
    if current is not None:
        return current.id
    rounds = await repo.rounds.all()
    started = [r for r in rounds if r.state != "scheduled"]
    return max(started, key=lambda r: r.opens_at).id if started else None


# --- choosing who -------------------------------------------------------------------------------

@manager_or_admin
async def begin(update: Update, context: KhoosheContext) -> Step | int:
    """Starts a broadcast: asks which estates (or, for admins, which part of the country)."""
    t, lang = context.t, context.lang
    access: Access = context.access
    async with context.db.read() as repo:
        round_id = await current_round_id(repo)
        if access.is_admin:
            provinces = await repo.provinces.all()
            estates = []
        else:
            provinces = []
            estates = [e for e in [await repo.estates.get(i) for i in access.estates] if e is not None]
    draft: dict[str, Any] = {"audience": {"round_id": round_id}, "content": None}
    context.user_data.broadcast = draft
    if access.is_admin:
        buttons = [[button(t("🌍 All firms"), cb.BC_ALL.build())]]
        buttons += rows([button(p.name(lang), cb.BC_PROVINCE.build(p.id)) for p in provinces], 3)
        await say(update, context, t("📣 New broadcast. Who should receive it? "
                                     "All firms, or choose a province (then the whole province or one estate)."),
                  keyboard(*buttons))
        return Step.SCOPE
    if len(estates) == 1:
        draft["audience"]["estates"] = [estates[0].id]
        await show_filters(update, context)
        return Step.FILTERS
    buttons = [[button(e.name, cb.BC_ESTATE.build(e.id))] for e in estates]
    buttons.append([button(t("All my estates"), cb.BC_ESTATE.build("all"))])
    await say(update, context, t("📣 New broadcast. Which of your estates should receive it?"), keyboard(*buttons))
    return Step.SCOPE


@manager_or_admin
async def chose_everyone(update: Update, context: KhoosheContext) -> Step | None:
    """Admins only: every firm."""
    draft = draft_of(context)
    if not context.access.is_admin or draft is None:
        await refuse(context, update, "broadcast_all", "all firms", detail="out of scope")
        return None
    await settle_query(update)
    draft["audience"].update(estates=None, province=None)
    await show_filters(update, context, edit=True)
    return Step.FILTERS


@manager_or_admin
async def chose_province(update: Update, context: KhoosheContext) -> Step | None:
    """Admins only: offers the whole province or one of its estates."""
    query = update.callback_query
    assert query is not None and query.data is not None
    if not context.access.is_admin or draft_of(context) is None:
        await refuse(context, update, "broadcast_province", query.data, detail="out of scope")
        return None
    province_id = cb.BC_PROVINCE.parse_int(query.data)
    t = context.t
    async with context.db.read() as repo:
        province = await repo.provinces.get(province_id)
        estates = await repo.estates.in_province(province_id)
    if province is None:
        await settle_query(update, text=t("This button is no longer active."))
        return None
    await settle_query(update)
    buttons = [[button(t("The whole province"), cb.BC_WHOLE_PROVINCE.build(province_id))]]
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
    if not context.access.is_admin or draft is None:
        await refuse(context, update, "broadcast_province", query.data, detail="out of scope")
        return None
    await settle_query(update)
    draft["audience"].update(estates=None, province=cb.BC_WHOLE_PROVINCE.parse_int(query.data))
    await show_filters(update, context, edit=True)
    return Step.FILTERS


@manager_or_admin
async def chose_estate(update: Update, context: KhoosheContext) -> Step | None:
    """One estate (any for admins, their own for managers), or all of a manager's estates."""
    query = update.callback_query
    assert query is not None and query.data is not None
    access: Access = context.access
    draft = draft_of(context)
    (value,) = cb.BC_ESTATE.parse(query.data)
    estates = list(access.estates) if value == "all" else [int(value)]
    if draft is None or not estates or not all(access.may_manage(e) for e in estates):
        await refuse(context, update, "broadcast_estate", query.data, detail="out of scope")
        return None
    async with context.db.read() as repo:
        found = [await repo.estates.get(e) for e in estates]
        if any(e is None for e in found):
            await settle_query(update, text=context.t("This button is no longer active."))
            return None
    await settle_query(update)
    draft["audience"].update(estates=estates, province=None)
    await show_filters(update, context, edit=True)
    return Step.FILTERS


# --- filters ------------------------------------------------------------------------------------

async def describe_audience(repo: Repositories, context: KhoosheContext, audience: dict[str, Any]) -> list[str]:
    t, lang = context.t, context.lang
    lines = []
    if audience.get("estates"):
        names = [e.name for e in [await repo.estates.get(int(i)) for i in audience["estates"]] if e]
        separator = "\u060c " if lang == "fa" else ", "  # the Persian comma
        lines.append(t("Estates: {names}", names=esc(separator.join(names))))
    elif audience.get("province") is not None:
        province = await repo.provinces.get(int(audience["province"]))
        lines.append(t("Province: {name}", name=esc(province.name(lang) if province else "?")))
    else:
        lines.append(t("All firms"))
    if audience.get("cluster") is not None:
        cluster = await repo.clusters.get(int(audience["cluster"]))
        lines.append(t("Cluster: {name}", name=esc(cluster.name if cluster else "?")))
    if audience.get("sector"):
        lines.append(t("Sector: {name}", name=sector_name(context, audience["sector"])))
    if audience.get("size"):
        lines.append(t("Employees: {band}", band=band_label(audience["size"], lang)))
    if audience.get("submitted") is not None:
        lines.append(t("Only firms that have submitted the current round") if audience["submitted"]
                     else t("Only firms that have not submitted the current round"))
    return lines


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
    async with context.db.read() as repo:
        lines = await describe_audience(repo, context, audience)
        count = await repo.broadcasts.count_audience(audience)
    text = "\n".join([t("<b>Recipients</b>"), *lines, "",
                      t("Firms that will receive it: {n}", n=number(count, lang)),
                      t("Narrow it down with the buttons, or continue.")])
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
    buttons.append([button(t("➡️ Continue"), cb.BC_CONTINUE.build()), button(t("✖️ Cancel"), cb.BC_LEAVE.build())])
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
    audience = dict(draft["audience"])
    if which == "sub":
        cycle = {None: False, False: True, True: None}
        draft["audience"]["submitted"] = cycle[draft["audience"].get("submitted")]
        await settle_query(update)
        await show_filters(update, context, edit=True)
        return Step.FILTERS
    if which not in ("cl", "sec", "size") or (which == "size" and not context.access.is_admin):
        await refuse(context, update, "broadcast_filter", query.data, detail="out of scope")
        return None
    buttons = [[button(t("Any"), cb.BC_FILTER_VALUE.build(which, "any"))]]
    async with context.db.read() as repo:
        if which == "cl":
            audience.pop("cluster", None)
            for cluster_id in await repo.broadcasts.distinct(audience, "cluster_id"):
                cluster = await repo.clusters.get(cluster_id)
                if cluster is not None:
                    buttons.append([button(cluster.name, cb.BC_FILTER_VALUE.build("cl", cluster_id))])
        elif which == "sec":
            audience.pop("sector", None)
            for code in await repo.broadcasts.distinct(audience, "sector"):
                buttons.append([button(sector_name(context, code), cb.BC_FILTER_VALUE.build("sec", code))])
        else:
            buttons += rows([button(band_label(b, lang), cb.BC_FILTER_VALUE.build("size", b)) for b in SIZE_BANDS], 4)
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
    audience = draft["audience"]
    if which == "cl":
        audience["cluster"] = None if value == "any" else int(value)
    elif which == "sec":
        audience["sector"] = None if value == "any" or value not in SECTORS else value
    elif which == "size" and context.access.is_admin:
        audience["size"] = value if value in SIZE_BANDS else None
    else:
        await refuse(context, update, "broadcast_filter", query.data, detail="out of scope")
        return None
    await settle_query(update)
    await show_filters(update, context, edit=True)
    return Step.FILTERS


# --- the content and its preview --------------------------------------------------------------

@manager_or_admin
async def ask_content(update: Update, context: KhoosheContext) -> Step | None:
    """Asks for the notice itself."""
    if await checked_draft(update, context) is None:
        return None
    await settle_query(update)
    await close_prompt(update, context.t("Now send the notice: a text, or a photo or a document with a caption. "
                                         "Firms receive it exactly as you send it."))
    return Step.CONTENT


@manager_or_admin
async def got_content(update: Update, context: KhoosheContext) -> Step | None:
    """Stores the text, photo or document, sends the preview and asks how to send it."""
    t = context.t
    draft = await checked_draft(update, context)
    message = update.message
    if draft is None or message is None:
        return None
    if message.photo:
        content = {"kind": "photo", "file_id": message.photo[-1].file_id, "text": esc(message.caption or "")}
        too_long = len(message.caption or "") > CAPTION_LIMIT
    elif message.document:
        content = {"kind": "document", "file_id": message.document.file_id, "text": esc(message.caption or "")}
        too_long = len(message.caption or "") > CAPTION_LIMIT
    elif message.text:
        content = {"kind": "text", "text": esc(message.text)}
        too_long = len(message.text) > TEXT_LIMIT
    else:
        await say(update, context, t("Please send a text, a photo or a document."))
        return Step.CONTENT
    if too_long:
        limit = TEXT_LIMIT if content["kind"] == "text" else CAPTION_LIMIT
        await say(update, context, t("That is too long: at most {n} characters. Please send it again, shorter.",
                                     n=number(limit, context.lang)))
        return Step.CONTENT
    draft["content"] = content
    await preview(update, context, draft)
    return Step.CONFIRM


async def preview(update: Update, context: KhoosheContext, draft: dict[str, Any]) -> None:
    t = context.t
    chat = update.effective_chat
    assert chat is not None
    async with context.db.read() as repo:
        count = await repo.broadcasts.count_audience(draft["audience"])
    await say(update, context, t("👇 Preview: this is exactly what firms will receive."))
    await send_prepared(context.bot, chat.id, prepared_content(draft["content"]), bulk=False)
    await say(update, context, t("☝️ It will go to {n} firms. Send it now, or schedule it?", n=number(count, context.lang)),
              keyboard([button(t("🚀 Send now"), cb.BC_NOW.build()), button(t("🗓 Schedule"), cb.BC_SCHEDULE.build())],
                       [button(t("✖️ Cancel"), cb.BC_LEAVE.build())]))


async def create(update: Update, context: KhoosheContext, draft: dict[str, Any], send_at: Any) -> tuple[int, int]:
    user = update.effective_user
    chat = update.effective_chat
    assert user is not None and chat is not None
    async with context.db.transaction() as repo:
        count = await repo.broadcasts.count_audience(draft["audience"])
        broadcast_id = await repo.broadcasts.create(
            created_by=user.id, audience=draft["audience"], content=draft["content"], send_at=send_at,
            progress_chat=chat.id,
        )
        await audit(repo, user_id=user.id, action="broadcast_create", target=f"broadcast {broadcast_id}",
                    detail=f"{count} recipients")
    context.user_data.broadcast = None
    return broadcast_id, count


@manager_or_admin
async def send_now(update: Update, context: KhoosheContext) -> int | None:
    """Queues the broadcast at once; the progress message follows."""
    draft = await checked_draft(update, context)
    if draft is None or draft.get("content") is None:
        return None
    await settle_query(update)
    broadcast_id, count = await create(update, context, draft, context.now())
    await close_prompt(update, context.t("🚀 Broadcast #{id} to {n} firms is on its way. Progress follows.",
                                         id=number(broadcast_id, context.lang), n=number(count, context.lang)))
    keeper = context.services.broadcasts
    if keeper is not None:
        await keeper.tick(context.now())
    return ConversationHandler.END


@manager_or_admin
async def ask_when(update: Update, context: KhoosheContext) -> Step | None:
    """Asks for the Solar Hijri date and Tehran time."""
    if await checked_draft(update, context) is None:
        return None
    await settle_query(update)
    await close_prompt(update, context.t("When should it go out? Send a Solar Hijri date and Tehran time, for example 1405/09/15 10:30."))
    return Step.SCHEDULE


@manager_or_admin
async def got_when(update: Update, context: KhoosheContext) -> Step | int | None:
    """Schedules the broadcast for the given moment (quiet hours still apply when it is sent)."""
    t, lang, zone = context.t, context.lang, context.settings.zone
    draft = await checked_draft(update, context)
    if draft is None or update.message is None or draft.get("content") is None:
        return None
    typed = update.message.text or ""
    try:
        when = parse_jalali_datetime(typed, zone, default=time(9, 0))
    except BadDate:
        await say(update, context, t("«{text}» is not a Solar Hijri date like 1405/10/01 or 1405/10/01 08:00.", text=esc(typed)))
        return Step.SCHEDULE
    if when <= context.now():
        await say(update, context, t("That moment has already passed. Please send a later date and time."))
        return Step.SCHEDULE
    broadcast_id, count = await create(update, context, draft, when)
    lines = [t("🗓 Broadcast #{id} to {n} firms is scheduled for {when} (Tehran time).",
               id=number(broadcast_id, lang), n=number(count, lang), when=format_datetime(when, lang, zone))]
    quiet = context.services.quiet
    if not quiet.allowed(when):
        lines.append(t("That falls in quiet hours, so it will go out at {when}.",
                       when=format_datetime(quiet.next_allowed(when), lang, zone)))
    lines.append(t("/broadcasts lists your broadcasts; you can cancel it there."))
    await say(update, context, "\n".join(lines))
    return ConversationHandler.END


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
    return "\n".join([
        t("<b>#{id}</b> — {state} — {when}", id=number(b.id, lang), state=t(STATE_NAMES[b.state]),
          when=format_datetime(b.send_at, lang, zone)),
        t("Recipients {n}: delivered {delivered}, blocked the bot {blocked}, failed {failed}, remaining {remaining}",
          n=number(b.recipients or tally.total, lang), delivered=number(tally.delivered, lang),
          blocked=number(tally.blocked, lang), failed=number(tally.failed, lang),
          remaining=number(tally.remaining, lang)),
    ])


@manager_or_admin
async def list_broadcasts(update: Update, context: KhoosheContext) -> None:
    """Lists the sender's recent broadcasts (an admin's list shows everyone's)."""
    t, lang = context.t, context.lang
    access: Access = context.access
    async with context.db.read() as repo:
        found = await repo.broadcasts.recent(created_by=None if access.is_admin else access.user_id)
        tallies = [Tally.of(await repo.broadcasts.delivery_counts(b.id)) for b in found]
    if not found:
        await say(update, context, t("No broadcasts yet. Start one with /broadcast."))
        return
    text = "\n\n".join(describe(b, tally, context) for b, tally in zip(found, tallies, strict=True))
    cancellable = [b for b in found if b.state in ("scheduled", "running")]
    buttons = rows([button(t("✖️ Cancel #{id}", id=number(b.id, lang)), cb.BC_CANCEL_BROADCAST.build(b.id)) for b in cancellable], 2)
    await say(update, context, text, keyboard(*buttons) if buttons else None)


@manager_or_admin
async def cancel_broadcast(update: Update, context: KhoosheContext) -> None:
    """Cancels a scheduled or running broadcast: its own sender's, or any for an admin."""
    query = update.callback_query
    assert query is not None and query.data is not None
    t, lang = context.t, context.lang
    access: Access = context.access
    try:
        broadcast_id = cb.BC_CANCEL_BROADCAST.parse_int(query.data)
    except ValueError:
        await refuse(context, update, "broadcast_cancel", query.data, detail="out of scope")
        return
    async with context.db.read() as repo:
        found = await repo.broadcasts.get(broadcast_id)
    if found is None or not (access.is_admin or found.created_by == access.user_id):
        await refuse(context, update, "broadcast_cancel", f"broadcast {broadcast_id}", detail="out of scope")
        return
    keeper = context.services.broadcasts
    assert keeper is not None
    tally = await keeper.cancel(broadcast_id, context.now())
    if tally is None:
        await settle_query(update, text=t("Broadcast #{id} is no longer running.", id=number(broadcast_id, lang)))
        return
    async with context.db.transaction() as repo:
        await audit(repo, user_id=access.user_id, action="broadcast_cancel", target=f"broadcast {broadcast_id}",
                    detail=f"{tally.cancelled} not sent")
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
        entry_points=[CommandHandler("broadcast", begin)],
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
            Step.SCHEDULE: [MessageHandler(typed, got_when), cancel],
        },
        fallbacks=[CommandHandler(["cancel", "start", "menu"], leave)],
        # One conversation per user and chat, whichever message a button is on: the steps mix
        # typed text and buttons (per_message=True would need only CallbackQueryHandlers).
        per_message=False,
        allow_reentry=True,
        name="broadcast",
    ))
    app.add_handler(CommandHandler("broadcasts", list_broadcasts))
    app.add_handler(CallbackQueryHandler(cancel_broadcast, pattern=cb.BC_CANCEL_BROADCAST.pattern))
