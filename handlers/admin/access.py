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
from telegram.constants import ParseMode
from telegram.error import TelegramError
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
from bot.domain.text import local_phone, localize_digits, number
from bot.i18n import N_, Translator, translator
from bot.services.access import Role
from bot.services.dashboard import chunks as dashboard_chunks
from bot.services.roles import Person
from handlers.common import commands as menus
from handlers.common.guard import refuse, requires
from handlers.common.privileged import int_arg, user_id_of
from handlers.common.ui import button, close_prompt, esc, keyboard, say, settle_query

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


# --- role changes: asked, confirmed, then told to the person -----------------------------------


def who(person: Person, t: Translator, lang: str) -> str:
    """«Mina» (id 4901, firm «Zarrin»): enough for an admin to be sure of the person."""
    user = uid(person.user_id, lang)
    if not person.known:
        return t("user {user} (has not used the bot yet)", user=user)
    name = esc(person.first_name) if person.first_name else t("(no name)")
    if person.firm_name:
        return t("{name} (id {user}, firm «{firm}»)", name=name, user=user, firm=esc(person.firm_name))
    return t("{name} (id {user}, no firm registered)", name=name, user=user)


def roles_now(person: Person, t: Translator) -> str:
    parts = []
    if person.is_admin:
        parts.append(t("admin (by configuration)") if person.configured_admin else t("admin"))
    if person.estates:
        parts.append(t("manager of {estates}", estates=t(", ").join(f"«{esc(e.name)}»" for e in person.estates)))
    if person.blocked:
        parts.append(t("blocked"))
    return t("Roles now: {roles}", roles=", ".join(parts) if parts else t("firm owner only"))


QUESTIONS = {
    "promote": N_("Make {who} an admin? Admins run rounds, see every estate and change roles."),
    "demote": N_("Take admin rights away from {who}?"),
    "block": N_("Block {who}? They get one notice; every message and button of theirs is ignored after that."),
    "unmgr": N_("Remove {who} as manager of {estates}?"),
}


async def ask(update: Update, context: KhoosheContext, action: str, target: int, estate_id: int | None = None) -> None:
    """Shows who the change is about and asks to confirm it (buttons ``cb.ROLE_CHANGE``)."""
    t, lang = context.t, context.lang
    person = await context.services.roles.person(target)
    estates = ""
    if action == "unmgr":
        chosen = [e for e in person.estates if estate_id is None or e.id == estate_id]
        if not chosen:
            await say(update, context, t("User {user} manages no such estate.", user=uid(target, lang)))
            return
        estates = t(", ").join(f"«{esc(e.name)}»" for e in chosen)
    text = "\n".join([t(QUESTIONS[action], who=who(person, t, lang), estates=estates), roles_now(person, t)])
    await say(update, context, text, keyboard([
        button(t("✅ Confirm"), cb.ROLE_CHANGE.build(action, target, estate_id if estate_id is not None else "")),
        button(t("✖️ Cancel"), cb.ROLE_KEEP.build()),
    ]))


@admin_only
async def block(update: Update, context: KhoosheContext) -> None:
    """/block USER_ID: asks, then the user's messages and buttons are ignored (not an admin's)."""
    target = int_arg(context)
    if target is None:
        await say(update, context, context.t("Please give the user's numeric id, for example /block 123456789."))
        return
    await ask(update, context, "block", target)


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
    # Told, unlike a block: a blocked user hears of it once, when they next write.
    await tell(context, target, N_("Your access to Khooshe is restored. Send /start to continue."), estates=[])


@admin_only
async def promote(update: Update, context: KhoosheContext) -> None:
    """/promote USER_ID: asks, then makes the user an admin."""
    target = int_arg(context)
    if target is None:
        await say(update, context, context.t("Please give the user's numeric id, for example /promote 123456789."))
        return
    await ask(update, context, "promote", target)


@admin_only
async def demote(update: Update, context: KhoosheContext) -> None:
    """/demote USER_ID: asks, then takes away admin rights given in the bot."""
    target = int_arg(context)
    if target is None:
        await say(update, context, context.t("Please give the user's numeric id, for example /demote 123456789."))
        return
    await ask(update, context, "demote", target)


@admin_only
async def remove_manager(update: Update, context: KhoosheContext) -> None:
    """/removemanager USER_ID [ESTATE_ID]: asks, then removes them from one estate or all."""
    target, estate_id = int_arg(context), int_arg(context, 1)
    if target is None or (len(context.args or []) > 1 and estate_id is None):
        await say(update, context, context.t("Usage: /removemanager USER_ID [ESTATE_ID]"))
        return
    await ask(update, context, "unmgr", target, estate_id)


@admin_only
async def keep_roles(update: Update, context: KhoosheContext) -> None:
    await settle_query(update)
    await close_prompt(update, context.t("Nothing was changed."))


@admin_only
async def change_role(update: Update, context: KhoosheContext) -> None:
    """The confirmed change (the role is checked again here, on the press)."""
    query = update.callback_query
    assert query is not None
    action, target_text, estate_text = cb.ROLE_CHANGE.parse(query.data)
    target, estate_id = int(target_text), int(estate_text) if estate_text else None
    t, lang = context.t, context.lang
    roles, actor, user = context.services.roles, user_id_of(update), uid(target, lang)
    told: str | None = None  # what the person concerned hears (a msgid)
    estates: list[str] = []
    if action == "block":
        if await roles.block(actor, target) == "admin":
            await refuse(context, update, "block", target=f"user {target}", detail="target is an admin",
                         message=t("An admin cannot be blocked; demote them first if you must."))
            await close_prompt(update, t("An admin cannot be blocked; demote them first if you must."))
            return
        done = t("✅ User {user} is blocked. They get one notice and are ignored after that.", user=user)
    elif action == "promote":
        outcome = await roles.promote(actor, target)
        if outcome == "blocked":
            done = t("User {user} is blocked; unblock them first.", user=user)
        elif outcome == "already":
            done = t("User {user} is already an admin.", user=user)
        else:
            done, told = t("✅ User {user} is now an admin.", user=user), N_(
                "You are now an admin of Khooshe. Send /help to see your commands.")
    elif action == "demote":
        demoted = await roles.demote(actor, target)
        if demoted == "configured":
            await refuse(context, update, "demote", target=f"user {target}", detail="configured admin",
                         message=t("User {user} is an admin by the bot's configuration (KHOOSHE_ADMINS) and cannot be demoted here.",
                                   user=user))
            await close_prompt(update, t("Nothing was changed."))
            return
        if demoted == "not_admin":
            done = t("User {user} is not an admin.", user=user)
        else:
            done, told = t("✅ User {user} is no longer an admin.", user=user), N_(
                "Your admin rights in Khooshe were withdrawn.")
    else:
        person = await roles.person(target)
        estates = [e.name for e in person.estates if estate_id is None or e.id == estate_id]
        removed = await roles.remove_manager(actor, target, estate_id)
        if not removed:
            done = t("User {user} manages no such estate.", user=user)
        else:
            done, told = t("✅ User {user} no longer manages {n} estate(s).", user=user, n=number(removed, lang)), N_(
                "You no longer manage {estates} in Khooshe.")
    await settle_query(update)
    await close_prompt(update, done)
    if told is not None:
        await menus.publish_for(context.bot, context.services, target)
        await tell(context, target, told, estates=estates)


async def tell(context: KhoosheContext, user_id: int, msgid: str, *, estates: list[str]) -> None:
    """Tells a person that their role changed, in their language (best effort: they may never
    have opened the bot, or have blocked it)."""
    t = translator(await menus.language_of(context.services, user_id))
    named = t(", ").join(f"«{esc(e)}»" for e in estates)
    try:
        await context.bot.send_message(user_id, t(msgid, estates=named), parse_mode=ParseMode.HTML)
    except TelegramError as exc:
        log.info("could not tell user %s about their role: %s", user_id, exc)


@admin_only
async def list_admins(update: Update, context: KhoosheContext) -> None:
    """/admins: every admin and every blocked user, with who they are."""
    t, lang = context.t, context.lang
    admins, blocked = await context.services.roles.admins_and_blocked(user_id_of(update))
    lines = [t("<b>Admins</b>")]
    for person in admins:
        mark = t(" – by configuration") if person.configured_admin else ""
        lines.append(f"• {who(person, t, lang)}{mark}")
    lines += ["", t("<b>Blocked users</b>")]
    lines += [f"• {who(person, t, lang)}" for person in blocked] or [t("Nobody is blocked.")]
    await say(update, context, "\n".join(lines))


@admin_only
async def find(update: Update, context: KhoosheContext) -> None:
    """/find TEXT: the firms and owners matching a name, a national ID, a phone or a user id."""
    t, lang = context.t, context.lang
    text = " ".join(context.args or []).strip()
    if not text:
        await say(update, context, t("Usage: /find a firm's name, national ID, phone number or user id"))
        return
    found, total = await context.services.roles.find(user_id_of(update), text)
    if not found:
        await say(update, context, t("No firm matches «{text}».", text=esc(text)))
        return
    lines = [t("<b>Found {n}</b>", n=number(total, lang))
             if total <= len(found) else t("<b>Found {n}; the first {shown}:</b>", n=number(total, lang),
                                          shown=number(len(found), lang))]
    for item in found:
        firm = item.firm
        lines += ["", t("#{id} «{name}» — {estate}", id=number(firm.id, lang, grouping=False), name=esc(firm.name),
                        estate=esc(item.estate.name) if item.estate else "?"),
                  t("Owner: {who}", who=who(item.owner, t, lang)),
                  t("National ID {nid} · phone {phone}", nid=localize_digits(firm.national_id, lang),
                    phone=localize_digits(local_phone(firm.phone), lang))]
        lines.append(roles_now(item.owner, t))
    lines += ["", t("Act on a person with their id: /block, /promote, /demote, /removemanager.")]
    for chunk in dashboard_chunks(["\n".join(lines)]):
        await say(update, context, chunk)


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


# --- the audit log -------------------------------------------------------------------------------


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
    app.add_handler(CommandHandler("admins", list_admins))
    app.add_handler(CommandHandler("find", find))
    app.add_handler(CallbackQueryHandler(change_role, pattern=cb.ROLE_CHANGE.pattern))
    app.add_handler(CallbackQueryHandler(keep_roles, pattern=cb.ROLE_KEEP.pattern))
    app.add_handler(CommandHandler("managers", list_managers))
    app.add_handler(CommandHandler("removemanager", remove_manager))
    app.add_handler(CommandHandler("auditexport", export_audit))
