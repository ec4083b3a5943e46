"""A firm opens its invitation link (``/start f_<token>``): the details its estate listed (name,
national ID, estate) are shown to confirm; confirming fills them into the registration, which
then asks only what is missing (cluster, sector, size, founding year, the phone; the consent on the review).

The link's token rides on the two buttons, so they work after a restart and only for whoever
holds the link; the service binds the link to the first account that confirms it (single use).
``accept`` is an entry point (and a fallback) of the registration conversation
(handlers/owner/registration.py), so the steps that follow are that conversation's.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from bot.context import KhoosheApp, KhoosheContext
from bot.domain import callbacks as cb
from bot.domain.text import local_phone, localize_digits
from bot.i18n import Translator
from bot.services.onboarding import PAYLOAD_PREFIX, TOKEN_PATTERN, Card, OnboardingService, Unusable
from bot.services.registration import Position, Step
from handlers.common.menu import show_menu
from handlers.common.privileged import user_id_of
from handlers.common.ui import button, close_prompt, esc, keyboard, say, settle_query

#: ``/start f_<40 hex digits>``, before the manager invitations' wider /start pattern.
START_PATTERN = rf"^/start(@\w+)?\s+{PAYLOAD_PREFIX}{TOKEN_PATTERN}\s*$"


def service(context: KhoosheContext) -> OnboardingService:
    return OnboardingService(context.db, context.services.clock)


def unusable_text(context: KhoosheContext, found: Unusable) -> str:
    t = context.t
    if found.registered_here:
        return t("Your firm is already registered in Khooshe; nothing more is needed. /assess opens the assessment.")
    if found.problem == "revoked":
        return t("This invitation link was withdrawn by your estate office. Ask them for a new one, or register "
                 "yourself with /register.")
    if found.problem == "used":
        return t("This invitation link was already used by another account. If that was not you, tell your estate "
                 "office; you can also register yourself with /register.")
    if found.problem == "has_firm":
        return t("Your account has already registered another firm, so it cannot take this invitation. An account "
                 "registers one firm; the invited firm's owner should open the link from their own account.")
    if found.problem == "id_taken":
        return t("The firm of this invitation is already registered by another account. If it is your firm, tell "
                 "your estate office, or register with /register and ask the admins to check.")
    if found.problem == "inactive":
        return t("The estate of this invitation is no longer in Khooshe. Please ask your estate office.")
    return t("This invitation link is not valid. Please check it, or ask your estate office for a new one.")


def identity_lines(t: Translator, lang: str, national_id: str, licence_no: str | None) -> list[str]:
    """The listed identifier: the national ID, or a sole proprietorship's national code and licence."""
    if licence_no is None:
        return [f"• {t('National ID')}: <b>{localize_digits(national_id, lang)}</b>"]
    code, licence = t("Owner's national code (sole proprietor)"), t("Business licence number")
    return [f"• {code}: <b>{localize_digits(national_id, lang)}</b>",
            f"• {licence}: <b>{esc(localize_digits(licence_no, lang))}</b>"]


def card_text(context: KhoosheContext, card: Card) -> str:
    t, lang = context.t, context.lang
    inv = card.invitation
    estate = card.estate.name + (f" ({card.province.name(lang)})" if card.province else "")
    lines = [
        t("👋 «{estate}» invites your firm to Khooshe, the self-assessment of the estate's firms.", estate=esc(card.estate.name)),
        "",
        t("<b>Is this your firm?</b>"),
        f"• {t('Firm name')}: <b>{esc(inv.name)}</b>",
        *identity_lines(t, lang, inv.national_id, inv.licence_no),
        f"• {t('Estate')}: <b>{esc(estate)}</b>",
    ]
    if inv.mobile:
        lines.append(t("• Mobile on the estate's list: <b>{mobile}</b>", mobile=localize_digits(local_phone(inv.mobile), lang)))
    lines += ["", t("Confirm, and only a few questions remain (about 2 minutes). You can still correct any detail on the "
                    "last screen.")]
    return "\n".join(lines)


async def open_link(update: Update, context: KhoosheContext) -> None:
    """/start f_<token>: the listed details to confirm, or why the link cannot be used."""
    token = (context.args or [""])[0].removeprefix(PAYLOAD_PREFIX)
    found = await service(context).open(user_id_of(update), token)
    if isinstance(found, Unusable):
        await say(update, context, unusable_text(context, found))
        if found.registered_here or found.problem == "has_firm":
            await show_menu(update, context)
        return
    t = context.t
    await say(update, context, card_text(context, found), keyboard(
        [button(t("✅ Yes, this is our firm"), cb.ONB_ACCEPT.build(token))],
        [button(t("✖️ Not our firm"), cb.ONB_DECLINE.build(token))]))


async def accept(update: Update, context: KhoosheContext) -> Step | None:
    """✅ under the card: the registration goes on from the first missing step. Refused (used,
    withdrawn, or this account has a firm meanwhile), the conversation stays where it was."""
    from handlers.owner import registration

    query = update.callback_query
    assert query is not None
    (token,) = cb.ONB_ACCEPT.parse(query.data)
    found = await service(context).accept(user_id_of(update), token)
    if isinstance(found, Unusable):
        await settle_query(update)
        await close_prompt(update, unusable_text(context, found))
        return None
    await settle_query(update)
    await close_prompt(update, context.t("✅ Details confirmed: <b>{name}</b>. A few questions remain.",
                                         name=esc(found.data.get("name", ""))))
    position: Position = found
    return await registration.ask(update, context, position.step, position.data)


async def decline(update: Update, context: KhoosheContext) -> None:
    """✖️ under the card: nothing is stored; the owner may register themselves."""
    query = update.callback_query
    assert query is not None
    (token,) = cb.ONB_DECLINE.parse(query.data)
    await service(context).decline(user_id_of(update), token)
    await settle_query(update)
    await close_prompt(update, context.t("Nothing was stored. If the details are wrong, tell your estate office; "
                                         "you can also register your firm yourself with /register."))


def register(app: KhoosheApp) -> None:
    """The link, before the manager invitations' /start; the decline button. (The confirm button
    is the registration conversation's: ``accept``.)"""
    app.add_handler(CommandHandler("start", open_link, filters=filters.Regex(START_PATTERN)))
    app.add_handler(CallbackQueryHandler(decline, pattern=cb.ONB_DECLINE.pattern))


def accept_handler() -> BaseHandler[Update, KhoosheContext, object]:
    """✅ for the registration conversation: one of its entry points, and a fallback (an owner
    part-way through registering who opens the link)."""
    return CallbackQueryHandler(accept, pattern=cb.ONB_ACCEPT.pattern)
