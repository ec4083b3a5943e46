"""Who may do what, managed from the chat: estate managers, admins, blocked users, the audit log.

Every command checks the role when it runs (handlers.common.guard.requires); the changes, and
their audit rows, are ``RolesService``'s. Blocked users are
stopped before any other handler: one short notice, then silence.
"""

from __future__ import annotations

import csv
import io
import logging

from telegram import Update
from telegram.ext import (
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    TypeHandler,
)

from bot.context import KhoosheApp, KhoosheContext
from bot.domain import callbacks as cb
from bot.domain.calendar import format_datetime
from bot.domain.cells import csv_field
from bot.domain.text import number
from bot.i18n import translator
from bot.services.access import Role
from handlers.common import commands as menus
from handlers.common.guard import refuse, requires
from handlers.common.menu import pressed
from handlers.common.privileged import int_arg, user_id_of
from handlers.common.ui import esc, say, settle_query

log = logging.getLogger(__name__)

admin_only = requires(Role.ADMIN)
managers_only = requires(Role.MANAGER)


def uid(value: int, lang: str) -> str:
    """A user id as the reader writes digits, without grouping (it is typed back in commands)."""
    return number(value, lang, grouping=False)


# --- blocked users ------------------------------------------------------------------------------


async def stop_blocked(update: Update, context: KhoosheContext) -> None:
    """Runs before everything else: a blocked user gets one notice, then nothing."""
    user = update.effective_user
    services = context.services
    if user is None or user.id not in services.blocked:
        return
    if update.callback_query is not None:
        await settle_query(update)
    if user.id not in services.blocked_noticed:
        services.blocked_noticed.add(user.id)
        if update.effective_chat is not None:
            t = translator(await menus.language_of(services, user.id))
            await say(update, context,
                      t("Your access to this bot is suspended. If you think this is a mistake, contact your estate's office."))
    raise ApplicationHandlerStop


@admin_only
async def block(update: Update, context: KhoosheContext) -> None:
    """/block USER_ID: the user's messages and buttons are ignored from now on (not an admin's)."""
    t, lang = context.t, context.lang
    target = int_arg(context)
    if target is None:
        await say(update, context, t("Please give the user's numeric id, for example /block 123456789."))
        return
    if await context.services.roles.block(user_id_of(update), target) == "admin":
        await refuse(context, update, "block", target=f"user {target}", detail="target is an admin",
                     message=t("An admin cannot be blocked; demote them first if you must."))
        return
    await say(update, context, t("✅ User {user} is blocked. They get one notice and are ignored after that.",
                                 user=uid(target, lang)))


@admin_only
async def unblock(update: Update, context: KhoosheContext) -> None:
    """/unblock USER_ID."""
    t, lang = context.t, context.lang
    target = int_arg(context)
    if target is None:
        await say(update, context, t("Please give the user's numeric id, for example /unblock 123456789."))
        return
    if not await context.services.roles.unblock(user_id_of(update), target):
        await say(update, context, t("User {user} is not blocked.", user=uid(target, lang)))
        return
    await say(update, context, t("✅ User {user} is unblocked.", user=uid(target, lang)))


# --- admins -----------------------------------------------------------------------------------


@admin_only
async def promote(update: Update, context: KhoosheContext) -> None:
    """/promote USER_ID: makes a user an admin."""
    t, lang = context.t, context.lang
    target = int_arg(context)
    if target is None:
        await say(update, context, t("Please give the user's numeric id, for example /promote 123456789."))
        return
    outcome = await context.services.roles.promote(user_id_of(update), target)
    if outcome == "blocked":
        await say(update, context, t("User {user} is blocked; unblock them first.", user=uid(target, lang)))
        return
    if outcome == "already":
        await say(update, context, t("User {user} is already an admin.", user=uid(target, lang)))
        return
    await menus.publish_for(context.bot, context.services, target)
    await say(update, context, t("✅ User {user} is now an admin.", user=uid(target, lang)))


@admin_only
async def demote(update: Update, context: KhoosheContext) -> None:
    """/demote USER_ID: takes away admin rights given in the bot (not the configured admins')."""
    t, lang = context.t, context.lang
    target = int_arg(context)
    if target is None:
        await say(update, context, t("Please give the user's numeric id, for example /demote 123456789."))
        return
    outcome = await context.services.roles.demote(user_id_of(update), target)
    if outcome == "configured":
        await refuse(context, update, "demote", target=f"user {target}", detail="configured admin",
                     message=t("User {user} is an admin by the bot's configuration (KHOOSHE_ADMINS) and cannot be demoted here.",
                               user=uid(target, lang)))
        return
    if outcome == "not_admin":
        await say(update, context, t("User {user} is not an admin.", user=uid(target, lang)))
        return
    await menus.publish_for(context.bot, context.services, target)
    await say(update, context, t("✅ User {user} is no longer an admin.", user=uid(target, lang)))


# --- estate managers --------------------------------------------------------------------------


@managers_only
async def list_managers(update: Update, context: KhoosheContext) -> None:
    """/managers [ESTATE_ID]: admins see any estate's managers (or all), managers their own."""
    t, lang = context.t, context.lang
    access = context.access
    estate_id = int_arg(context)
    if context.args and estate_id is None:
        await say(update, context, t("Usage: /managers [ESTATE_ID]"))
        return
    if estate_id is not None and not access.may_manage(estate_id):
        await refuse(context, update, "list_managers", target=f"estate {estate_id}", detail="not their estate")
        return
    pairs = await context.services.roles.managers(access, estate_id)
    if not pairs:
        await say(update, context, t("No managers yet. Invite one with /invite ESTATE_ID."))
        return
    lines = [t("<b>Estate managers</b>")]
    for line in pairs[:100]:
        lines.append(t("{name} (id {user}) – «{estate}» (#{estate_id})",
                       name=esc((line.user.first_name if line.user else None) or "?"), user=uid(line.user_id, lang),
                       estate=esc(line.estate.name if line.estate else "?"), estate_id=number(line.estate_id, lang)))
    if len(pairs) > 100:
        lines.append(t("…and {n} more.", n=number(len(pairs) - 100, lang)))
    await say(update, context, "\n".join(lines))


@admin_only
async def remove_manager(update: Update, context: KhoosheContext) -> None:
    """/removemanager USER_ID [ESTATE_ID]: from one estate, or from all of them."""
    t, lang = context.t, context.lang
    target, estate_id = int_arg(context), int_arg(context, 1)
    if target is None or (len(context.args or []) > 1 and estate_id is None):
        await say(update, context, t("Usage: /removemanager USER_ID [ESTATE_ID]"))
        return
    removed = await context.services.roles.remove_manager(user_id_of(update), target, estate_id)
    if not removed:
        await say(update, context, t("User {user} manages no such estate.", user=uid(target, lang)))
        return
    await menus.publish_for(context.bot, context.services, target)
    await say(update, context, t("✅ User {user} no longer manages {n} estate(s).", user=uid(target, lang),
                                 n=number(removed, lang)))


@managers_only
async def my_estates(update: Update, context: KhoosheContext) -> None:
    """/myestates: the estates a manager manages."""
    t, lang = context.t, context.lang
    estates = await context.services.roles.my_estates(context.access)
    if not estates:
        await say(update, context, t("You manage no estate; as an admin you can reach every estate."))
        return
    lines = [t("<b>Your estates</b>")]
    lines += [t("#{id} «{name}»", id=number(e.id, lang), name=esc(e.name)) for e in estates]
    await say(update, context, "\n".join(lines))


# --- the audit log -------------------------------------------------------------------------------


@admin_only
async def show_audit(update: Update, context: KhoosheContext) -> None:
    """/audit [USER_ID]: the latest 50 entries, newest first."""
    t, lang, zone = context.t, context.lang, context.settings.zone
    who = int_arg(context)
    if context.args and who is None:
        await say(update, context, t("Usage: /audit [USER_ID]"))
        return
    entries = await context.services.roles.audit_log(user_id_of(update), who)
    if not entries:
        await say(update, context, t("The audit log has no entries yet."))
        return
    lines = [t("<b>Audit log</b> (latest {n}, newest first)", n=number(len(entries), lang))]
    for e in entries:
        outcome = t("ok") if e.outcome == "ok" else t("refused")
        lines.append(t("{when} · {user} · {action} · {target} · {outcome}",
                       when=format_datetime(e.at, lang, zone), user=uid(e.user_id, lang), action=esc(e.action),
                       target=esc(e.target or "–"), outcome=outcome))
    # Telegram allows 4096 characters a message; split on entry boundaries.
    chunk: list[str] = []
    for line in lines:
        if sum(len(x) + 1 for x in chunk) + len(line) > 3800:
            await say(update, context, "\n".join(chunk))
            chunk = []
        chunk.append(line)
    if chunk:
        await say(update, context, "\n".join(chunk))


@admin_only
async def export_audit(update: Update, context: KhoosheContext) -> None:
    """/auditexport: the whole log as a CSV document (UTF-8 with BOM, so Excel reads Persian)."""
    t, zone = context.t, context.settings.zone
    entries = await context.services.roles.audit_export(user_id_of(update))
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["id", "when_tehran", "when_utc", "user_id", "action", "target", "outcome", "detail"])
    for e in entries:
        writer.writerow([csv_field(v) for v in (e.id, format_datetime(e.at, "en", zone), e.at.isoformat(), e.user_id,
                                                e.action, e.target or "", e.outcome, e.detail or "")])
    data = ("\ufeff" + buffer.getvalue()).encode("utf-8")
    assert update.effective_chat is not None
    await context.bot.send_document(
        update.effective_chat.id, document=data, filename="khooshe-audit.csv",
        caption=t("The audit log: {n} entries.", n=number(len(entries), context.lang)),
    )


def register(app: KhoosheApp) -> None:
    app.add_handler(TypeHandler(Update, stop_blocked), group=-2)
    app.add_handler(CommandHandler("block", block))
    app.add_handler(CommandHandler("unblock", unblock))
    app.add_handler(CommandHandler("promote", promote))
    app.add_handler(CommandHandler("demote", demote))
    app.add_handler(CommandHandler("managers", list_managers))
    app.add_handler(CommandHandler("removemanager", remove_manager))
    app.add_handler(CommandHandler("myestates", my_estates))
    app.add_handler(CallbackQueryHandler(pressed(my_estates), pattern=cb.TASK.pattern_of("myestates")))
    app.add_handler(CommandHandler("audit", show_audit))
    app.add_handler(CommandHandler("auditexport", export_audit))
