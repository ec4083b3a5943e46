"""Admins: estates owners named because theirs was not listed (/estaterequests).  Each request
is one message with «✅ Add» (list it as it is) and «🔗 Merge with …» (choose the listed estate
of its province it is; its firms move there)."""

from __future__ import annotations

from datetime import datetime

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.context import KhoosheApp, KhoosheContext
from bot.domain import callbacks as cb
from bot.domain.calendar import format_date
from bot.domain.text import number
from bot.services.access import Role
from bot.services.estate_requests import EstateRequestService, Request
from handlers.common.guard import requires
from handlers.common.privileged import user_id_of
from handlers.common.ui import button, esc, keyboard, say, settle_query, show

admin_only = requires(Role.ADMIN)
#: Requests listed at most by one /estaterequests (the oldest first).
SHOWN = 20
#: Listed estates offered at most as the target of a merge.
TARGETS = 24


def service(context: KhoosheContext) -> EstateRequestService:
    return EstateRequestService(context.db, context.services.clock)


def describe(context: KhoosheContext, request: Request) -> str:
    t, lang = context.t, context.lang
    estate = request.estate
    when = format_date(datetime.fromisoformat(estate.requested_at), lang, context.settings.zone) if estate.requested_at else "—"
    return "\n".join([
        t("🏷 «{name}» · {province}", name=esc(estate.name), province=esc(request.province.name(lang) if request.province else "?")),
        t("Named on {date}; firms in it: {n}", date=when, n=number(estate.firms, lang)),
    ])


def choices(context: KhoosheContext, estate_id: int) -> InlineKeyboardMarkup:
    t = context.t
    return keyboard([button(t("✅ Add"), cb.ESTATE_REQUEST_ADD.build(estate_id)),
                     button(t("🔗 Merge with …"), cb.ESTATE_REQUEST_MERGE.build(estate_id))])


@admin_only
async def list_requests(update: Update, context: KhoosheContext) -> None:
    """/estaterequests: the estates awaiting an admin, one message each."""
    t, lang = context.t, context.lang
    pending = await service(context).pending()
    if not pending:
        await say(update, context, t("No estate is awaiting confirmation. Owners whose estate is not listed name it "
                                     "at registration; you are told when one does."))
        return
    head = t("<b>Estates awaiting confirmation: {n}</b>", n=number(len(pending), lang))
    if len(pending) > SHOWN:
        head += "\n" + t("The oldest {shown} are below; decide on them to see the next.", shown=number(SHOWN, lang))
    await say(update, context, head)
    for request in pending[:SHOWN]:
        await say(update, context, describe(context, request), choices(context, request.estate.id))


async def gone(update: Update, context: KhoosheContext) -> None:
    await settle_query(update)
    await show(update, context, context.t("This request was already decided. /estaterequests lists those still open."),
               replace=True)


@admin_only
async def accept(update: Update, context: KhoosheContext) -> None:
    """✅ Add: the estate is listed as it was named."""
    query = update.callback_query
    assert query is not None
    decided = await service(context).accept(user_id_of(update), cb.ESTATE_REQUEST_ADD.parse_int(query.data))
    if decided == "gone":
        await gone(update, context)
        return
    await settle_query(update)
    await show(update, context, context.t("✅ «{name}» is now in the list; the owners of its {n} firms are told.",
                                          name=esc(decided.name), n=number(decided.firms, context.lang)), replace=True)


@admin_only
async def merge_choices(update: Update, context: KhoosheContext) -> None:
    """🔗 Merge with …: the listed estates of the request's province, closest names first."""
    query = update.callback_query
    assert query is not None
    estate_id = cb.ESTATE_REQUEST_MERGE.parse_int(query.data)
    request = await service(context).one(estate_id)
    if request is None:
        await gone(update, context)
        return
    await settle_query(update)
    t = context.t
    targets = await service(context).merge_targets(estate_id)
    back = [button(t("↩️ Back"), cb.ESTATE_REQUEST_BACK.build(estate_id))]
    if not targets:
        await show(update, context, describe(context, request) + "\n\n" + t("Its province has no listed estate to merge it with."),
                   keyboard(back), replace=True)
        return
    buttons = [[button(e.name, cb.ESTATE_REQUEST_INTO.build(estate_id, e.id))] for e in targets[:TARGETS]]
    await show(update, context, describe(context, request) + "\n\n" + t("Which listed estate is it? Its firms move there."),
               keyboard(*buttons, back), replace=True)


@admin_only
async def merge(update: Update, context: KhoosheContext) -> None:
    """A listed estate chosen: the request's firms move into it."""
    query = update.callback_query
    assert query is not None
    estate_id, into = (int(v) for v in cb.ESTATE_REQUEST_INTO.parse(query.data))
    decided = await service(context).merge(user_id_of(update), estate_id, into)
    if decided == "gone":
        await gone(update, context)
        return
    if decided == "no_target":
        await settle_query(update, text=context.t("That estate can no longer take it; choose another."))
        return
    await settle_query(update)
    assert decided.into is not None
    await show(update, context, context.t("🔗 «{name}» merged into «{into}»: {n} firms moved; their owners are told.",
                                          name=esc(decided.name), into=esc(decided.into.name),
                                          n=number(decided.firms, context.lang)), replace=True)


@admin_only
async def back(update: Update, context: KhoosheContext) -> None:
    """↩️ Back from the merge targets to the request."""
    query = update.callback_query
    assert query is not None
    estate_id = cb.ESTATE_REQUEST_BACK.parse_int(query.data)
    request = await service(context).one(estate_id)
    if request is None:
        await gone(update, context)
        return
    await settle_query(update)
    await show(update, context, describe(context, request), choices(context, estate_id), replace=True)


def register(app: KhoosheApp) -> None:
    app.add_handler(CommandHandler("estaterequests", list_requests))
    app.add_handler(CallbackQueryHandler(accept, pattern=cb.ESTATE_REQUEST_ADD.pattern))
    app.add_handler(CallbackQueryHandler(merge_choices, pattern=cb.ESTATE_REQUEST_MERGE.pattern))
    app.add_handler(CallbackQueryHandler(merge, pattern=cb.ESTATE_REQUEST_INTO.pattern))
    app.add_handler(CallbackQueryHandler(back, pattern=cb.ESTATE_REQUEST_BACK.pattern))
