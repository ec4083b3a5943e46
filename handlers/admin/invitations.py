"""Manager invitations: an admin creates a single-use deep link for an estate; whoever opens it
and confirms becomes a manager of that estate.

``/invite`` alone lets the admin pick the estate: a province (buttons, paged), then one of its
estates (paged), or part of its name typed (the estate search's rules) and a button from what
it finds.

The invitations themselves are ``InvitationService``'s (only a SHA-256 hash of the token is
stored; single use holds under a race).  The confirm button carries a one-time nonce kept in the
opener's own session, so it cannot be pressed by anyone else or twice.
"""

from __future__ import annotations

import logging
import secrets
from enum import IntEnum
from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, ConversationHandler, MessageHandler, filters

from bot.context import KhoosheApp, KhoosheContext
from bot.domain import callbacks as cb
from bot.domain.calendar import format_datetime
from bot.domain.text import normalize, number, parse_id
from bot.i18n import Translator, translator
from bot.services.access import Role
from bot.services.invitations import Opened
from handlers.admin.places import page_of, page_turns, province_buttons
from handlers.common import commands as menus
from handlers.common.guard import refuse, requires
from handlers.common.privileged import int_arg, user_id_of
from handlers.common.ui import button, close_prompt, esc, keyboard, say, settle_query, show
from storage.models import Estate

log = logging.getLogger(__name__)

TOKEN_PATTERN = r"[A-Za-z0-9_-]{20,64}"

admin_only = requires(Role.ADMIN)




#: Estates on one page of buttons.
ESTATES_PER_PAGE = 10


class Pick(IntEnum):
    ESTATE = 1


@admin_only
async def invite(update: Update, context: KhoosheContext) -> Pick | int:
    """/invite ESTATE_ID: a single-use link that makes its opener a manager of the estate;
    /invite alone: the estate picked with buttons or found by a part of its name."""
    t, lang = context.t, context.lang
    context.user_data.invite_pick = None  # a choice begun earlier ends here
    if not context.args:
        context.user_data.invite_pick = {"query": ""}
        await say(update, context, pick_question(t), keyboard(*await province_keyboard(context, 0)))
        return Pick.ESTATE
    estate_id = int_arg(context)
    if estate_id is None:
        await say(update, context, t("Please give the estate number, for example /invite 12, or send /invite alone to choose it."))
        return ConversationHandler.END
    if await send_invitation(update, context, estate_id) is None:
        await say(update, context, t("There is no active estate #{id}.", id=number(estate_id, lang)))
    return ConversationHandler.END


def pick_question(t: Translator) -> str:
    return t("Which estate is the invitation for? Choose its province, or type part of its name. (/cancel stops)")


async def province_keyboard(context: KhoosheContext, page: int) -> list[list[Any]]:
    provinces = await context.services.places.provinces()
    buttons = province_buttons(provinces, context.lang, page, lambda p: cb.INVITE_PROVINCE.build(p, 0),
                               cb.INVITE_PROVINCES.build, context.t)
    return [*buttons, [button(context.t("✖️ Cancel"), cb.INVITE_LEAVE.build())]]


def estate_keyboard(context: KhoosheContext, estates: list[Estate], page: int, turn: Any) -> list[list[Any]]:
    t = context.t
    shown, page = page_of(estates, page, ESTATES_PER_PAGE)
    buttons = [[button(e.name, cb.INVITE_ESTATE.build(e.id))] for e in shown]
    turns = page_turns(t, page, len(estates), ESTATES_PER_PAGE, turn)
    if turns:
        buttons.append(turns)
    buttons.append([button(t("🗺 Provinces"), cb.INVITE_PROVINCES.build(0)),
                    button(t("✖️ Cancel"), cb.INVITE_LEAVE.build())])
    return buttons


def pending(context: KhoosheContext) -> dict[str, Any] | None:
    return context.user_data.invite_pick


@admin_only
async def turn_provinces(update: Update, context: KhoosheContext) -> None:
    query = update.callback_query
    assert query is not None
    if pending(context) is None:
        await settle_query(update, text=context.t("This button is no longer active."))
        return
    await settle_query(update)
    await show(update, context, pick_question(context.t),
               keyboard(*await province_keyboard(context, cb.INVITE_PROVINCES.parse_int(query.data))), replace=True)


@admin_only
async def chose_province(update: Update, context: KhoosheContext) -> None:
    """A province's active estates, a page of them."""
    query = update.callback_query
    assert query is not None
    t, lang = context.t, context.lang
    if pending(context) is None:
        await settle_query(update, text=t("This button is no longer active."))
        return
    province_text, page_text = cb.INVITE_PROVINCE.parse(query.data)
    province_id = int(province_text)
    estates = await context.services.places.active_estates(province_id=province_id)
    province = next((p for p in await context.services.places.provinces() if p.id == province_id), None)
    await settle_query(update)
    name = esc(province.name(lang)) if province else "?"
    if not estates:
        await show(update, context, t("{province} has no active estate. Choose another province:", province=name),
                   keyboard(*await province_keyboard(context, 0)), replace=True)
        return
    await show(update, context, t("Estates of {province} ({n}): which one?", province=name, n=number(len(estates), lang)),
               keyboard(*estate_keyboard(context, estates, int(page_text),
                                         lambda page: cb.INVITE_PROVINCE.build(province_id, page))), replace=True)


@admin_only
async def typed_search(update: Update, context: KhoosheContext) -> Pick | int | None:
    """Part of an estate's name (or a province, or the estate's number) typed."""
    t, lang = context.t, context.lang
    state = pending(context)
    if state is None or update.message is None:
        return None
    typed = normalize(update.message.text)
    estate_id = parse_id(typed)
    if estate_id is not None:
        if await send_invitation(update, context, estate_id) is None:
            await say(update, context, t("There is no active estate #{id}.", id=number(estate_id, lang)))
            return None
        context.user_data.invite_pick = None
        return ConversationHandler.END
    state["query"] = typed
    await show_found(update, context, 0)
    return None


async def show_found(update: Update, context: KhoosheContext, page: int, *, replace: bool = False) -> None:
    t, lang = context.t, context.lang
    state = pending(context)
    assert state is not None
    estates = await context.services.places.active_estates(text=state["query"])
    if not estates:
        await show(update, context, t("No active estate matches «{text}». Type another part of its name, or choose "
                                      "its province:", text=esc(state["query"])),
                   keyboard(*await province_keyboard(context, 0)), replace=replace)
        return
    await show(update, context, t("{n} estates match «{text}»: which one?", n=number(len(estates), lang),
                                  text=esc(state["query"])),
               keyboard(*estate_keyboard(context, estates, page, cb.INVITE_FOUND.build)), replace=replace)


@admin_only
async def turn_found(update: Update, context: KhoosheContext) -> None:
    query = update.callback_query
    assert query is not None
    if pending(context) is None:
        await settle_query(update, text=context.t("This button is no longer active."))
        return
    await settle_query(update)
    await show_found(update, context, cb.INVITE_FOUND.parse_int(query.data), replace=True)


@admin_only
async def chose_estate(update: Update, context: KhoosheContext) -> int | None:
    query = update.callback_query
    assert query is not None
    t = context.t
    if pending(context) is None:
        await settle_query(update, text=t("This button is no longer active."))
        return None
    estate_id = cb.INVITE_ESTATE.parse_int(query.data)
    await settle_query(update)
    text = await invitation_text(update, context, estate_id)
    if text is None:
        await show(update, context, t("That estate is no longer active. Choose another one:"),
                   keyboard(*await province_keyboard(context, 0)), replace=True)
        return None
    context.user_data.invite_pick = None
    await close_prompt(update, text)
    return ConversationHandler.END


async def leave_pick(update: Update, context: KhoosheContext) -> int:
    context.user_data.invite_pick = None
    text = context.t("Cancelled; no invitation was made.")
    if update.callback_query is not None:
        await settle_query(update)
        await close_prompt(update, text)
    else:
        await say(update, context, text)
    return ConversationHandler.END


async def send_invitation(update: Update, context: KhoosheContext, estate_id: int) -> bool | None:
    """Creates the invitation and sends its link; None when there is no such active estate."""
    text = await invitation_text(update, context, estate_id)
    if text is None:
        return None
    await say(update, context, text)
    return True


async def invitation_text(update: Update, context: KhoosheContext, estate_id: int) -> str | None:
    t, lang = context.t, context.lang
    created = await context.services.invitations.create(user_id_of(update), estate_id)
    if created is None:
        return None
    token, estate, expires, invitation_id = created.token, created.estate, created.expires_at, created.invitation_id
    link = context.settings.messenger.deep_link(context.bot.username, token)
    return "\n".join([
        t("Invitation #{id} to manage «{estate}» is ready. It works once and expires {expires} (Tehran time).",
          id=number(invitation_id, lang), estate=esc(estate.name),
          expires=format_datetime(expires, lang, context.settings.zone)),
        "",
        t("Send this link only to the person who will manage the estate:"),
        esc(link),
        "",
        t("Token: <code>{token}</code>", token=token),
        t("To withdraw it: /revoke {id}", id=number(invitation_id, lang, grouping=False)),
    ])


def invite_conversation() -> ConversationHandler[KhoosheContext]:
    leave: BaseHandler[Update, KhoosheContext, object] = CallbackQueryHandler(leave_pick, pattern=cb.INVITE_LEAVE.pattern)
    return ConversationHandler(
        entry_points=[CommandHandler("invite", invite)],
        states={Pick.ESTATE: [
            CallbackQueryHandler(turn_provinces, pattern=cb.INVITE_PROVINCES.pattern),
            CallbackQueryHandler(chose_province, pattern=cb.INVITE_PROVINCE.pattern),
            CallbackQueryHandler(turn_found, pattern=cb.INVITE_FOUND.pattern),
            CallbackQueryHandler(chose_estate, pattern=cb.INVITE_ESTATE.pattern),
            MessageHandler(filters.TEXT & ~filters.COMMAND, typed_search), leave,
        ]},
        fallbacks=[CommandHandler(["cancel", "start", "menu"], leave_pick)],
        per_message=False,
        allow_reentry=True,
        name="invite",
        # Its position is written down with the flow (bot.flows), so a restart resumes it.
        persistent=True,
    )


@admin_only
async def revoke(update: Update, context: KhoosheContext) -> None:
    """/revoke INVITATION_ID: withdraws an invitation that has not been used."""
    t, lang = context.t, context.lang
    invitation_id = int_arg(context)
    if invitation_id is None:
        await say(update, context, t("Please give the invitation number, for example /revoke 3. /invitations lists them."))
        return
    outcome = await context.services.invitations.revoke(user_id_of(update), invitation_id)
    if outcome == "unknown":
        message = t("There is no invitation #{id}.", id=number(invitation_id, lang))
    elif outcome == "revoked":
        message = t("✅ Invitation #{id} is revoked; its link no longer works.", id=number(invitation_id, lang))
    elif outcome == "used":
        message = t("Invitation #{id} was already used; remove the manager with /removemanager instead.",
                    id=number(invitation_id, lang))
    else:
        message = t("Invitation #{id} was already revoked.", id=number(invitation_id, lang))
    await say(update, context, message)


@admin_only
async def list_invitations(update: Update, context: KhoosheContext) -> None:
    """/invitations: the invitations that can still be used."""
    t, lang, zone = context.t, context.lang, context.settings.zone
    open_ = await context.services.invitations.still_open()
    if not open_:
        await say(update, context, t("No open invitations."))
        return
    lines = [t("<b>Open invitations</b>")]
    for inv, estate in open_:
        lines.append(t("#{id} «{estate}», expires {expires}", id=number(inv.id, lang),
                       estate=esc(estate.name if estate else "?"),
                       expires=format_datetime(inv.expires_at, lang, zone)))
    await say(update, context, "\n".join(lines))


async def open_link(update: Update, context: KhoosheContext) -> None:
    """/start TOKEN: checks the invitation and asks the opener to confirm."""
    t, lang = context.t, context.lang
    user_id = user_id_of(update)
    token = (context.args or [""])[0]
    found = await context.services.invitations.open(user_id, token)
    if not isinstance(found, Opened):
        inv = found.invitation
        if found.problem == "forged" or found.estate is None:
            message = t("This invitation link is not valid. Please check it, or ask the admin who invited you for a new one.")
        elif found.problem == "reused" and found.mine:
            message = t("You have already accepted this invitation; you manage «{estate}». /help lists your commands.",
                        estate=esc(found.estate.name))
        elif found.problem == "reused":
            message = t("This invitation has already been used. Each link works only once; ask the admin for a new one.")
        elif found.problem == "revoked":
            message = t("This invitation was withdrawn by the admin. Ask them for a new one if you still need it.")
        else:
            assert inv is not None
            message = t("This invitation expired on {date}. Ask the admin for a new one.",
                        date=format_datetime(inv.expires_at, lang, context.settings.zone))
        await refuse(context, update, "invite_open", target=f"invitation {inv.id}" if inv else "unknown token",
                     detail=found.problem, message=message)
        return
    inv, estate, province = found.invitation, found.estate, found.province
    nonce = secrets.token_urlsafe(12)
    context.user_data.invitation = {"id": inv.id, "nonce": nonce}
    await say(update, context, t("You are invited to manage «{estate}» ({province}) in Khooshe. "
                                 "As a manager you can reach the estate's firms and follow their results. Do you accept?",
                                 estate=esc(estate.name), province=esc(province.name(lang) if province else "")),
              keyboard([button(t("✅ Accept"), cb.INVITATION.build("ok", nonce)),
                        button(t("✖️ Decline"), cb.INVITATION.build("no", nonce))]))


async def confirm(update: Update, context: KhoosheContext) -> None:
    """The accept or decline button: works once, only for the user who opened the link."""
    query = update.callback_query
    assert query is not None and query.data is not None
    t = context.t
    user_id = user_id_of(update)
    pending = context.user_data.invitation
    answer, nonce = cb.INVITATION.parse(query.data)
    if not pending or not secrets.compare_digest(pending["nonce"], nonce):
        await refuse(context, update, "invite_accept", target=query.data, detail="stale or forged button",
                     message=t("This button is no longer active."))
        return
    context.user_data.invitation = None
    if answer == "no":
        await context.services.invitations.decline(user_id, pending["id"])
        await settle_query(update)
        await close_prompt(update, t("You declined the invitation. Nothing has changed."))
        return
    accepted = await context.services.invitations.accept(user_id, pending["id"])
    if accepted is None:
        await refuse(context, update, "invite_accept", target=f"invitation {pending['id']}",
                     detail="used, revoked or expired meanwhile",
                     message=t("This invitation can no longer be used. Ask the admin for a new one."))
        return
    inv, estate = accepted.invitation, accepted.estate
    await settle_query(update)
    await close_prompt(update, t("✅ You are now a manager of «{estate}». /help lists what you can do.",
                                 estate=esc(estate.name)))
    await menus.publish_for(context.bot, context.services, user_id)
    await tell_inviter(context, inv.created_by, update, estate.name, inv.id)


async def tell_inviter(context: KhoosheContext, admin_id: int, update: Update, estate: str, invitation_id: int) -> None:
    """Lets the admin who sent the invitation know it was accepted (best effort)."""
    user = update.effective_user
    assert user is not None
    lang = await menus.language_of(context.services, admin_id)
    t = translator(lang)
    try:
        await context.bot.send_message(admin_id, t(
            "{name} (id {user_id}) accepted invitation #{id} and now manages «{estate}».",
            name=esc(user.full_name), user_id=number(user.id, lang, grouping=False), id=number(invitation_id, lang), estate=esc(estate)),
            parse_mode="HTML")
    except Exception:  # noqa: BLE001 - a note to the admin must not undo the acceptance
        log.info("could not tell admin %s about invitation %s", admin_id, invitation_id)


def register(app: KhoosheApp) -> None:
    """Adds the deep link (before every other /start) and the invitation commands."""
    app.add_handler(CommandHandler("start", open_link, filters=filters.Regex(rf"^/start(@\w+)?\s+{TOKEN_PATTERN}\s*$")))
    app.add_handler(invite_conversation())
    app.add_handler(CommandHandler("revoke", revoke))
    app.add_handler(CommandHandler("invitations", list_invitations))
    app.add_handler(CallbackQueryHandler(confirm, pattern=cb.INVITATION.pattern))
