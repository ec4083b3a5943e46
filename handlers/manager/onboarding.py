"""Estate managers onboard their firms: /onboard (or 📇 in the menu) asks for the estate's firm
list, a CSV or .xlsx file (name, national_id, mobile); the answer is a report naming each line
not taken, a ZIP with a printable sheet and a QR code per firm and ``invitations.csv``, and each
firm's SMS text to paste. /onboarding shows the funnel: invited → opened → registered →
submitted; /revokefirm withdraws a link.

The choices and checks are ``OnboardingService``'s (bot/services/onboarding.py); the reading and
the pack are built in the worker process. The estate a file is for is held in memory for the
manager who asked (a restart asks again).
"""

from __future__ import annotations

import logging
from collections import OrderedDict

from telegram import InputFile, Message, Update
from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.context import KhoosheApp, KhoosheContext
from bot.domain import callbacks as cb
from bot.domain.calendar import file_date
from bot.domain.text import local_phone, localize_digits, number, parse_id
from bot.i18n import Translator, join_words
from bot.services.access import Role
from bot.services.offload import run_heavy
from bot.services.onboarding import (
    HEADER,
    LICENCE_COLUMN,
    MAX_FIRMS,
    PACK_FIRMS,
    Batch,
    FirmList,
    Invited,
    NotReadable,
    OnboardingFunnel,
    OnboardingService,
    Problem,
    read_firm_list,
)
from bot.services.onboarding_sheets import SheetCard, build_pack
from bot.services.places_import import TooManyRows, UnreadableLine, WrongColumns
from bot.transport.download import FileTooLarge, download_file
from handlers.common.guard import refuse, requires
from handlers.common.menu import pressed
from handlers.common.privileged import user_id_of
from handlers.common.ui import button, close_prompt, esc, keyboard, rows, say, settle_query
from storage.models import Estate

log = logging.getLogger(__name__)

manager_only = requires(Role.MANAGER)
#: Rejected lines named in the report; the rest are counted.
SHOWN_PROBLEMS = 50
#: Up to this many firms, each SMS text comes as its own message (easy to copy on a phone).
SMS_MESSAGES = 10
#: Firms listed by /onboarding; the rest are counted.
FUNNEL_LINES = 40
#: Managers waiting to send a file: user id → estate id (the oldest forgotten past the limit).
_waiting: OrderedDict[int, int] = OrderedDict()
_WAITING_MEMORY = 2000


def service(context: KhoosheContext) -> OnboardingService:
    return OnboardingService(context.db, context.services.clock)


class _Waiting(filters.MessageFilter):
    """A message from a manager /onboard asked for a file."""

    def filter(self, message: Message) -> bool:
        return message.from_user is not None and message.from_user.id in _waiting


def wait_for_file(user_id: int, estate_id: int) -> None:
    _waiting.pop(user_id, None)
    _waiting[user_id] = estate_id
    while len(_waiting) > _WAITING_MEMORY:
        _waiting.popitem(last=False)


async def chosen_estate(update: Update, context: KhoosheContext, estate_id: int | None, action: str) -> Estate | None:
    """The estate named (it must be the user's), the manager's only one, or None after asking
    which (``action`` builds the buttons' data) or saying why not."""
    t, access = context.t, context.access
    if estate_id is not None:
        if not access.may_manage(estate_id):
            await refuse(context, update, action, f"estate:{estate_id}", detail="not a manager of this estate")
            return None
        estate = await service(context).estate(estate_id)
        if estate is None:
            await say(update, context, t("There is no active estate #{id}.", id=number(estate_id, context.lang)))
        return estate
    estates = await service(context).estates(access)
    if len(estates) == 1:
        return estates[0]
    if not estates:
        await say(update, context, t("Please give the estate number, for example /{command} 12.", command=action))
        return None
    if action == "onboard":
        await say(update, context, t("Which estate is the firm list for?"),
                  keyboard(*rows([button(e.name, cb.ONB_ESTATE.build(e.id)) for e in estates], 1)))
        return None
    lines = [t("Which estate? Give its number, for example /{command} {id}.", command=action,
               id=number(estates[0].id, context.lang, grouping=False))]
    lines += [t("#{id} {name}", id=number(e.id, context.lang, grouping=False), name=esc(e.name)) for e in estates]
    await say(update, context, "\n".join(lines))
    return None


def args_estate(context: KhoosheContext) -> int | None:
    args = context.args or []
    return parse_id(args[0]) if args else None


async def ask_for_file(update: Update, context: KhoosheContext, estate: Estate) -> None:
    wait_for_file(user_id_of(update), estate.id)
    await say(update, context, "\n".join([
        context.t("Send the firm list of «{estate}» as a file: CSV (UTF-8) or Excel (.xlsx), one firm per row. "
                  "The first line is the header:", estate=esc(estate.name)),
        f"<code>{HEADER}</code>",
        context.t("The mobile is the owner's and may be left empty. Each firm gets a personal link, a QR code, a "
                  "printable sheet and a text for SMS. /cancel to stop."),
        context.t("A sole proprietorship without a national ID: the owner's 10-digit national code in {national_id} "
                  "and its business licence number in a fourth column, {licence}.",
                  national_id="<code>national_id</code>", licence=f"<code>{LICENCE_COLUMN}</code>"),
    ]))


@manager_only
async def onboard_command(update: Update, context: KhoosheContext) -> None:
    """/onboard [ESTATE_ID]: asks for the estate's firm list."""
    estate = await chosen_estate(update, context, args_estate(context), "onboard")
    if estate is not None:
        await ask_for_file(update, context, estate)


@manager_only
async def onboard_estate_button(update: Update, context: KhoosheContext) -> None:
    query = update.callback_query
    assert query is not None
    estate_id = cb.ONB_ESTATE.parse_int(query.data)
    estate = await chosen_estate(update, context, estate_id, "onboard")
    if estate is None:
        await settle_query(update)
        return
    await settle_query(update)
    await close_prompt(update, context.t("Estate: <b>{name}</b>", name=esc(estate.name)))
    await ask_for_file(update, context, estate)


async def cancel_waiting(update: Update, context: KhoosheContext) -> None:
    _waiting.pop(user_id_of(update), None)
    await say(update, context, context.t("Cancelled; no invitation was made."))


@manager_only
async def got_file(update: Update, context: KhoosheContext) -> None:
    """The firm list, after /onboard asked for it."""
    message = update.message
    assert message is not None and message.document is not None
    estate_id = _waiting.pop(user_id_of(update), None)
    if estate_id is None:
        return
    estate = await chosen_estate(update, context, estate_id, "onboard")
    if estate is not None:
        await run(update, context, estate, message)


@manager_only
async def got_captioned_file(update: Update, context: KhoosheContext) -> None:
    """A file sent with the caption /onboard [ESTATE_ID]."""
    message = update.message
    assert message is not None and message.document is not None
    words = (message.caption or "").split()
    estate = await chosen_estate(update, context, parse_id(words[1]) if len(words) > 1 else None, "onboard")
    if estate is not None:
        await run(update, context, estate, message)


def refusal_text(exc: Exception, context: KhoosheContext) -> str:
    t, lang = context.t, context.lang
    if isinstance(exc, TooManyRows):
        return t("The file has more than {limit} rows; no invitation was made. Split it into files of at most {limit} rows"
                 " and send them one by one.", limit=number(exc.limit, lang))
    if isinstance(exc, WrongColumns):
        return t("The first line must be the header: {header} (then one firm per line); no invitation was made.",
                 header=f"<code>{HEADER}</code>")
    if isinstance(exc, UnreadableLine):
        return t("Line {line} cannot be read as CSV (a stray quote or line break, or a very long field); no invitation"
                 " was made. Fix that line and send the file again.", line=number(exc.line, lang, grouping=False))
    if isinstance(exc, NotReadable) and exc.kind == "xlsx":
        return t("This file cannot be opened as an Excel workbook (.xlsx). Save it again as .xlsx or as «CSV UTF-8» and send it again.")
    return t("The file is not UTF-8 text. In Excel choose «Save as» → «CSV UTF-8», then send it again.")


def problem_text(problem: Problem, t: Translator, lang: str) -> str:
    if problem.code == "columns":
        return t("has {found} fields; the header has {expected}", found=number(problem.found, lang),
                 expected=number(problem.expected, lang))
    if problem.code == "control":
        return t("the {column} holds a control character (a line break or similar)", column=problem.column)
    if problem.code == "too_long":
        return t("the {column} is longer than {limit} characters", column=problem.column, limit=number(problem.found, lang))
    if problem.code == "name":
        return t("the firm name must be 2 to 100 characters and not only digits")
    if problem.code == "national_id":
        return t("the national ID «{value}» is not valid: it has 11 digits and a matching check digit",
                 value=esc(localize_digits(problem.value, lang)))
    if problem.code == "duplicate" and problem.column == "licence":
        return t("the licence number «{value}» is already on line {line}", value=esc(localize_digits(problem.value, lang)),
                 line=number(problem.found, lang, grouping=False))
    if problem.code == "duplicate":
        return t("the national ID «{value}» is already on line {line}", value=localize_digits(problem.value, lang),
                 line=number(problem.found, lang, grouping=False))
    if problem.code == "licence" and not problem.value:
        return t("a 10-digit national code is a sole proprietorship's: its business licence number is needed too, in "
                 "a {column} column", column=f"<code>{LICENCE_COLUMN}</code>")
    if problem.code == "licence":
        return t("the business licence number «{value}» is not valid", value=esc(localize_digits(problem.value, lang)))
    return t("the mobile «{value}» is not an Iranian mobile number like 09121234567",
             value=esc(localize_digits(problem.value, lang)))


def report_text(context: KhoosheContext, estate: Estate, firms: FirmList, batch: Batch | None) -> str:
    t, lang = context.t, context.lang
    invited = len(batch.invited) if batch else 0
    lines = [t("<b>Invitations for «{estate}»</b>: {invited} firms invited, {registered} already registered, "
               "{rejected} lines not taken.", estate=esc(estate.name), invited=number(invited, lang),
               registered=number(len(batch.registered) if batch else 0, lang), rejected=number(len(firms.rejected), lang))]
    for line, problem in firms.rejected[:SHOWN_PROBLEMS]:
        lines.append(t("line {line}: {reason}", line=number(line, lang, grouping=False), reason=problem_text(problem, t, lang)))
    if len(firms.rejected) > SHOWN_PROBLEMS:
        lines.append(t("…and {n} more.", n=number(len(firms.rejected) - SHOWN_PROBLEMS, lang)))
    if batch and batch.registered:
        names = join_words(t, [esc(r.name) for r in batch.registered[:10]])
        lines.append(t("Already registered (no link needed): {names}", names=names))
    if batch and batch.replaced:
        lines.append(t("{n} older links of the same firms no longer work; use the new ones.", n=number(batch.replaced, lang)))
    if invited:
        lines.append(t("The ZIP file below holds a printable sheet and a QR code for each firm, and invitations.csv "
                       "with every link and SMS text. Each link works for its firm only, once. /onboarding shows "
                       "who has registered."))
    elif firms.rejected:
        lines.append(t("Fix the lines above and send the file again with /onboard."))
    elif not (batch and batch.registered):
        lines.append(t("The file lists no firm after its header line. /onboard to send the list again."))
    return "\n".join(lines)


def identity_line(t: Translator, lang: str, national_id: str, licence_no: str | None) -> str:
    """The firm's identifier as the sheet prints it: the national ID, or a sole proprietorship's
    national code and licence number."""
    if licence_no is None:
        return t("National ID: {id}", id=localize_digits(national_id, lang))
    return t("National code: {code} · Licence: {licence}", code=localize_digits(national_id, lang),
             licence=localize_digits(licence_no, lang))


def sms_text(context: KhoosheContext, estate: Estate, invited: Invited, link: str) -> str:
    return context.t("Hello! «{estate}» invites «{firm}» to Khooshe, the self-assessment of the estate's firms. "
                     "Your firm's registration is ready: {link}",
                     estate=estate.name, firm=invited.row.name, link=link)


def card_of(context: KhoosheContext, estate: Estate, province: str, invited: Invited, number_: int) -> SheetCard:
    t, lang = context.t, context.lang
    link = context.settings.messenger.deep_link(context.bot.username, invited.payload)
    messenger = t("Bale") if context.settings.messenger.name == "bale" else t("Telegram")
    mobile = local_phone(invited.row.mobile) if invited.row.mobile else ""
    return SheetCard(
        number=number_, link=link, sms=sms_text(context, estate, invited, link), name=invited.row.name,
        national_id=invited.row.national_id, mobile=mobile,
        heading=(t("Invitation to Khooshe's self-assessment"), f"{estate.name} — {province}" if province else estate.name,
                 invited.row.name, identity_line(t, lang, invited.row.national_id, invited.row.licence_no)),
        footer=(t("Scan the code with your phone's camera, or open the link: Khooshe opens in {messenger} with your "
                  "firm's registration filled in; a few short questions remain.", messenger=messenger),
                t("This link is for this firm only and works once.")),
    )


async def run(update: Update, context: KhoosheContext, estate: Estate, message: Message) -> None:
    """Downloads the list (at most KHOOSHE_IMPORT_MAX_BYTES), reads it, makes the invitations
    and sends the report, the pack and the SMS texts."""
    t, lang, settings = context.t, context.lang, context.settings
    document = message.document
    assert document is not None
    limit = settings.import_max_bytes
    try:
        if document.file_size is not None and document.file_size > limit:
            raise FileTooLarge
        data = await download_file(context.bot, document.file_id, limit)
    except FileTooLarge:
        await say(update, context, t("The file is larger than {megabytes} MB; no invitation was made. Split it into "
                                     "smaller files and send them one by one.", megabytes=number(limit / 2**20, lang, decimals=1)))
        return
    try:
        firms = await run_heavy(read_firm_list, data, document.file_name, min(settings.import_max_rows, MAX_FIRMS))
    except (TooManyRows, WrongColumns, UnreadableLine, NotReadable) as exc:
        wait_for_file(user_id_of(update), estate.id)  # the corrected file may follow at once
        await say(update, context, refusal_text(exc, context))
        return
    batch = await service(context).invite(user_id_of(update), estate, firms) if firms.rows else None
    await say(update, context, report_text(context, estate, firms, batch))
    if batch is None or not batch.invited:
        return
    async with context.db.read() as repo:
        province = await repo.provinces.get(estate.province_id)
    province_name = province.name(lang) if province else ""
    cards = [card_of(context, estate, province_name, invited, n) for n, invited in enumerate(batch.invited, start=1)]
    header = (t("Firm name"), t("National ID"), t("Mobile"), t("Link"), t("SMS text"))
    chat = update.effective_chat
    assert chat is not None
    day = file_date(context.now(), settings.zone)
    packs = [cards[start:start + PACK_FIRMS] for start in range(0, len(cards), PACK_FIRMS)]
    for index, part in enumerate(packs, start=1):
        pack = await run_heavy(build_pack, part, header)
        suffix = f"-{index}" if len(packs) > 1 else ""
        await context.bot.send_document(
            chat.id, InputFile(pack, filename=f"khooshe-invitations-estate-{estate.id}-{day}{suffix}.zip"),
            caption=t("📇 {n} invitations: a sheet to print and a QR code per firm, and invitations.csv.",
                      n=number(len(part), lang)))
    if len(cards) <= SMS_MESSAGES:
        for card in cards:
            await say(update, context, esc(card.sms))


# --- the funnel ----------------------------------------------------------------------------------


def funnel_text(view: OnboardingFunnel, t: Translator, lang: str) -> str:
    counts = view.counts
    round_line = (t("Submitted in «{round}»", round=esc(view.round.title)) if view.round else t("Submitted (no round yet)"))
    lines = [
        t("<b>Onboarding of «{estate}»</b>", estate=esc(view.estate.name)),
        t("📨 Invited: {n}", n=number(counts.invited, lang)),
        t("👀 Opened the link: {n}", n=number(counts.opened, lang)),
        t("📝 Registered: {n}", n=number(counts.registered, lang)),
        f"✅ {round_line}: {number(counts.submitted, lang)}",
    ]
    if not view.rows:
        lines.append("")
        lines.append(t("No firm invited yet. /onboard sends the estate's firm list."))
        return "\n".join(lines)
    lines.append("")
    for row in view.rows[:FUNNEL_LINES]:
        if row.submitted:
            state = t("submitted")
        elif row.firm_id is not None:
            state = t("registered")
        elif row.opened:
            state = t("opened, not registered yet")
        else:
            state = t("not opened yet")
        line = t("#{id} {name}: {state}", id=number(row.id, lang, grouping=False), name=esc(row.name), state=state)
        if view.phone_differs(row):
            line += " " + t("(registered with another mobile than the list's)")
        lines.append(line)
    if len(view.rows) > FUNNEL_LINES:
        lines.append(t("…and {n} more.", n=number(len(view.rows) - FUNNEL_LINES, lang)))
    lines.append(t("To withdraw a link not used yet: /revokefirm NUMBER"))
    return "\n".join(lines)


@manager_only
async def onboarding_command(update: Update, context: KhoosheContext) -> None:
    """/onboarding [ESTATE_ID]: the funnel of the estate's invited firms."""
    estate = await chosen_estate(update, context, args_estate(context), "onboarding")
    if estate is None:
        return
    view = await service(context).funnel(context.access, estate)
    await say(update, context, funnel_text(view, context.t, context.lang))


@manager_only
async def revoke_command(update: Update, context: KhoosheContext) -> None:
    """/revokefirm INVITATION_NUMBER: withdraws a firm's link that was not used."""
    t, lang = context.t, context.lang
    invitation_id = args_estate(context)
    if invitation_id is None:
        await say(update, context, t("Please give the invitation number, for example /revokefirm 3. /onboarding lists them."))
        return
    outcome = await service(context).revoke(context.access, invitation_id)
    shown = number(invitation_id, lang, grouping=False)
    if outcome in ("unknown", "forbidden"):
        message = t("There is no invitation #{id} for your estates.", id=shown)
    elif outcome == "revoked":
        message = t("✅ Invitation #{id} is withdrawn; its link no longer works.", id=shown)
    elif outcome == "used":
        message = t("Invitation #{id} was already used by its firm.", id=shown)
    else:
        message = t("Invitation #{id} was already withdrawn.", id=shown)
    await say(update, context, message)


def register(app: KhoosheApp) -> None:
    """Before the admins' CSV import: a file /onboard asked for is the firm list."""
    app.add_handler(CommandHandler("onboard", onboard_command))
    app.add_handler(CallbackQueryHandler(pressed(onboard_command), pattern=cb.TASK.pattern_of("onboard")))
    app.add_handler(CallbackQueryHandler(onboard_estate_button, pattern=cb.ONB_ESTATE.pattern))
    app.add_handler(MessageHandler(filters.Document.ALL & filters.CaptionRegex(r"^/onboard(@\w+)?\b"), got_captioned_file))
    # Any file while /onboard waits: one that is neither CSV text nor .xlsx is answered with how to save it.
    app.add_handler(MessageHandler(filters.Document.ALL & _Waiting(), got_file))
    app.add_handler(CommandHandler("cancel", cancel_waiting, filters=_Waiting()))
    app.add_handler(CommandHandler("onboarding", onboarding_command))
    app.add_handler(CommandHandler("revokefirm", revoke_command))
