"""/audit: the audit log in the reader's language, filtered and paged.

``/audit [USER_ID] [ACTION] [از DATE] [تا DATE] [همه]`` (the filters: bot.domain.audit_log);
``/audit actions`` lists the action codes with their names. Pages are turned with buttons that
edit the message in place; views (dashboards, exports, lists) are left out unless asked for.
"""

from __future__ import annotations

from datetime import date, datetime

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.context import KhoosheApp, KhoosheContext
from bot.domain import callbacks as cb
from bot.domain.audit_log import (
    ACTION_NAMES,
    LIST_ACTIONS,
    AuditFilter,
    BadFilter,
    action_name,
    keyword,
    parse_filter,
)
from bot.domain.calendar import format_date, format_datetime
from bot.domain.text import localize_digits, normalize, number
from bot.i18n import Translator
from bot.services.access import Role
from handlers.common.guard import requires
from handlers.common.privileged import user_id_of
from handlers.common.ui import button, esc, keyboard, say, settle_query
from storage.repositories.access import AuditEntry

admin_only = requires(Role.ADMIN)


def _day(value: date | None) -> str:
    return value.strftime("%Y%m%d") if value else ""


def page_data(filt: AuditFilter, page: int) -> str:
    return cb.AUDIT_PAGE.build(page, filt.user_id or "", filt.action or "", _day(filt.since), _day(filt.until),
                               int(filt.include_views))


def from_data(data: str | None) -> tuple[AuditFilter, int]:
    page, user, action, since, until, views = cb.AUDIT_PAGE.parse(data)

    def day(text: str) -> date | None:
        return datetime.strptime(text, "%Y%m%d").date() if text else None

    return AuditFilter(user_id=int(user) if user else None, action=action or None, since=day(since),
                       until=day(until), include_views=views == "1"), int(page)


def entry_lines(e: AuditEntry, t: Translator, lang: str, context: KhoosheContext) -> list[str]:
    zone = context.settings.zone
    name = t(action_name(e.action, e.detail), code=e.action)
    second = esc(name)
    if e.target:
        second += " · " + esc(localize_digits(e.target, lang))
    if e.outcome != "ok":
        second += " · " + t("⛔ refused")
    return [t("{when} · user {user}", when=format_datetime(e.at, lang, zone), user=number(e.user_id, lang, grouping=False)),
            second]


def render(entries: list[AuditEntry], filt: AuditFilter, page: int, more: bool,
           t: Translator, lang: str, context: KhoosheContext) -> tuple[str, InlineKeyboardMarkup]:
    zone = context.settings.zone
    lines = [t("<b>Audit log</b>, newest first — page {page}", page=number(page + 1, lang))]
    shown = []
    if filt.user_id is not None:
        shown.append(t("user {user}", user=number(filt.user_id, lang, grouping=False)))
    if filt.action is not None:
        shown.append(t("action {code}", code=f"<code>{esc(filt.action)}</code>"))
    if filt.since is not None:
        shown.append(t("from {day}", day=format_date(filt.since, lang, zone)))
    if filt.until is not None:
        shown.append(t("to {day}", day=format_date(filt.until, lang, zone)))
    if shown:
        lines.append(t("Filter: {filter}", filter=" · ".join(shown)))
    if not filt.include_views:
        lines.append(t("Views (dashboards, lists, exports) are left out."))
    lines.append("")
    if not entries:
        lines.append(t("No entry matches."))
    for e in entries:
        lines += [*entry_lines(e, t, lang, context), ""]
    turn = []
    if page > 0:
        turn.append(button(t("⬅️ Newer"), page_data(filt, page - 1)))
    if more:
        turn.append(button(t("Older ➡️"), page_data(filt, page + 1)))
    toggle = AuditFilter(user_id=filt.user_id, action=filt.action, since=filt.since, until=filt.until,
                         include_views=not filt.include_views)
    label = t("🙈 Hide views") if filt.include_views else t("👁 Show views too")
    return "\n".join(lines).rstrip(), keyboard(turn, [button(label, page_data(toggle, 0))])


def actions_list(t: Translator) -> str:
    lines = [t("<b>Action codes</b> (type one, or its start, after /audit)")]
    lines += [t("{code} – {name}", code=f"<code>{code}</code>", name=t(name)) for code, name in sorted(ACTION_NAMES.items())]
    return "\n".join(lines)


@admin_only
async def show_audit(update: Update, context: KhoosheContext) -> None:
    """/audit [USER_ID] [ACTION] [از DATE] [تا DATE] [همه]"""
    t, lang = context.t, context.lang
    words = context.args or []
    if len(words) == 1 and normalize(words[0]).lower() in keyword(LIST_ACTIONS):
        await say(update, context, actions_list(t))
        return
    try:
        filt = parse_filter(words)
    except BadFilter as exc:
        word = str(exc.args[0])
        if word.startswith("@"):
            await say(update, context, t("The bot does not keep usernames; give the person's numeric user id."))
        else:
            await say(update, context, t("«{word}» is not a filter. Usage: /audit [USER_ID] [ACTION] [from DATE] "
                                         "[to DATE] [all], for example /audit 7001 round from 1405/09/01; "
                                         "/audit actions lists the actions.", word=esc(word)))
        return
    entries, more = await context.services.roles.audit_log(user_id_of(update), filt, context.settings.zone)
    text, markup = render(entries, filt, 0, more, t, lang, context)
    await say(update, context, text, markup)


@admin_only
async def audit_page(update: Update, context: KhoosheContext) -> None:
    """A page button: the same filter, another page (or views shown or hidden), edited in place."""
    query = update.callback_query
    assert query is not None
    filt, page = from_data(query.data)
    entries, more = await context.services.roles.audit_log(user_id_of(update), filt, context.settings.zone,
                                                           page=page)
    text, markup = render(entries, filt, page, more, context.t, context.lang, context)
    await settle_query(update)
    if isinstance(query.message, Message):
        try:
            await query.message.edit_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)
        except BadRequest as exc:
            if "not modified" not in str(exc):
                raise


def register(app: KhoosheApp) -> None:
    app.add_handler(CommandHandler("audit", show_audit))
    app.add_handler(CallbackQueryHandler(audit_page, pattern=cb.AUDIT_PAGE.pattern))

