"""Manager invitations: an admin creates a single-use deep link for an estate; whoever opens it
and confirms becomes a manager of that estate.

The invitations themselves are ``InvitationService``'s (only a SHA-256 hash of the token is
stored; single use holds under a race).  The confirm button carries a one-time nonce kept in the
opener's own session, so it cannot be pressed by anyone else or twice.
"""

from __future__ import annotations

import logging
import secrets

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler, filters

from bot.context import KhoosheApp, KhoosheContext
from bot.domain import callbacks as cb
from bot.domain.calendar import format_datetime
from bot.domain.text import number
from bot.i18n import translator
from bot.services.access import Role
from bot.services.invitations import Opened
from handlers.common import commands as menus
from handlers.common.guard import refuse, requires
from handlers.common.privileged import int_arg, user_id_of
from handlers.common.ui import button, close_prompt, esc, keyboard, say, settle_query

log = logging.getLogger(__name__)

TOKEN_PATTERN = r"[A-Za-z0-9_-]{20,64}"

admin_only = requires(Role.ADMIN)




@admin_only
async def invite(update: Update, context: KhoosheContext) -> None:
    """/invite ESTATE_ID: a single-use link that makes its opener a manager of the estate."""
    t, lang = context.t, context.lang
    estate_id = int_arg(context)
    if estate_id is None:
        await say(update, context, t("Please give the estate number, for example /invite 12. /estates lists them."))
        return
    created = await context.services.invitations.create(user_id_of(update), estate_id)
    if created is None:
        await say(update, context, t("There is no active estate #{id}.", id=number(estate_id, lang)))
        return
    token, estate, expires, invitation_id = created.token, created.estate, created.expires_at, created.invitation_id
    link = context.settings.messenger.deep_link(context.bot.username, token)
    await say(update, context, "\n".join([
        t("Invitation #{id} to manage «{estate}» is ready. It works once and expires {expires} (Tehran time).",
          id=number(invitation_id, lang), estate=esc(estate.name),
          expires=format_datetime(expires, lang, context.settings.zone)),
        "",
        t("Send this link only to the person who will manage the estate:"),
        esc(link),
        "",
        t("Token: <code>{token}</code>", token=token),
        t("To withdraw it: /revoke {id}", id=number(invitation_id, lang, grouping=False)),
    ]))


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
    app.add_handler(CommandHandler("invite", invite))
    app.add_handler(CommandHandler("revoke", revoke))
    app.add_handler(CommandHandler("invitations", list_invitations))
    app.add_handler(CallbackQueryHandler(confirm, pattern=cb.INVITATION.pattern))
