"""Registering a firm, and editing its profile later: one guided conversation.

The steps, their checks and finishing are ``RegistrationService`` (bot/services/registration.py);
this module asks the questions and says what each outcome means.
"""

from __future__ import annotations

from typing import Any

from telegram import KeyboardButton, ReplyKeyboardMarkup, ReplyKeyboardRemove, Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.context import KhoosheApp, KhoosheContext
from bot.domain import callbacks as cb
from bot.domain.national_id import parse_licence, parse_national_code, parse_national_id
from bot.domain.sectors import SECTORS
from bot.domain.text import localize_digits, normalize, number, year
from bot.i18n import N_
from bot.persistence import REGISTRATION
from bot.services.registration import (
    EARLIEST_FOUNDING_YEAR,
    ESTATE_NAME_LENGTH,
    FIELD_OF_STEP,
    MAX_EMPLOYEES,
    NAME_LENGTH,
    Answer,
    EstateChoices,
    Finished,
    Places,
    Position,
    Refused,
    RegistrationService,
    Step,
    Stored,
)
from handlers.common.conversation import fallbacks
from handlers.common.menu import show_menu
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
from handlers.owner import onboarding
from storage.models import Cluster, Estate, Province

FIELD_LABELS = {
    Step.NAME: N_("Firm name"),
    Step.NATIONAL_ID: N_("National ID"),
    Step.PROVINCE: N_("Province"),
    Step.ESTATE: N_("Estate"),
    Step.CLUSTER: N_("Cluster"),
    Step.SECTOR: N_("Sector"),
    Step.EMPLOYEES: N_("Employees"),
    Step.FOUNDED: N_("Year founded"),
    Step.PHONE: N_("Phone"),
    Step.CONSENT: N_("Name in public rankings"),
}
#: A sole proprietorship's identity, shown instead of the national ID.
SOLE_LABELS = {Step.NATIONAL_CODE: N_("Owner's national code (sole proprietor)"),
               Step.LICENCE: N_("Business licence number")}
ESTATES_PER_PAGE = 8
#: Estates a search lists at most; a longer list asks for more of the name.
MATCHES_SHOWN = 20


def state_of(step: str) -> Step:
    """Maps a stored step name back to the conversation state (used on restart)."""
    return Step[step]


def service(context: KhoosheContext) -> RegistrationService:
    return context.services.registration


# --- asking ----------------------------------------------------------------------------------


async def ask(update: Update, context: KhoosheContext, step: Step, data: dict[str, Any]) -> Step:
    """Sends the question of ``step`` and returns it as the conversation's new state."""
    t, lang = context.t, context.lang
    if step is Step.NAME:
        await say(update, context, t("What is your firm's registered name?"))
    elif step is Step.NATIONAL_ID:
        await say(update, context, t("What is the firm's national ID? It has 11 digits."),
                  keyboard([button(t("I am a sole proprietor (no national ID)"), cb.REG_SOLE.build())]))
    elif step is Step.NATIONAL_CODE:
        await say(update, context, t("Sole proprietorship: please type <b>your own national code</b>, "
                                     "the 10 digits on your national card."),
                  keyboard([button(t("↩️ The firm has an 11-digit national ID"), cb.REG_LEGAL.build())]))
    elif step is Step.LICENCE:
        await say(update, context, t("Please type the firm's <b>business licence number</b> (operating licence "
                                     "or business permit) as it is written on it."))
    elif step is Step.PROVINCE:
        provinces = await service(context).provinces()
        buttons = [button(p.name(lang), cb.REG_PROVINCE.build(p.id)) for p in provinces]
        await say(update, context, t("Which province is the firm in? Tap it, or type the name of your estate."),
                  keyboard(*rows(buttons, 3)))
    elif step is Step.ESTATE:
        await ask_estate(update, context, data, page=0)
    elif step is Step.ESTATE_NAME:
        await say(update, context, t("Please type the name of your estate or industrial zone. Your firm is "
                                     "registered with it at once; the admins then add it to the list."),
                  keyboard([button(t("📋 Back to the list"), cb.REG_EDIT_ESTATE.build())]))
    elif step is Step.CLUSTER:
        clusters = await service(context).clusters(data["province_id"])
        choices = [[button(c.name, cb.REG_CLUSTER.build(c.id))] for c in clusters]
        choices.append([button(t("Not in a cluster"), cb.REG_CLUSTER.build(0))])
        await say(update, context, t("Is the firm a member of a business cluster?"), keyboard(*choices))
    elif step is Step.SECTOR:
        buttons = [button(t(name), cb.REG_SECTOR.build(code)) for code, name in SECTORS.items()]
        await say(update, context, t("Which sector is the firm's main activity in?"), keyboard(*rows(buttons, 2)))
    elif step is Step.EMPLOYEES:
        await say(update, context, t("How many people work at the firm? Type a number. You can add the year it was "
                                     "founded after it, for example {example}.",
                                     example=t("«{employees}, {year}»", employees=number(45, lang), year=year(1388, lang))))
    elif step is Step.FOUNDED:
        await say(update, context, t("In which year was the firm founded? Type the Solar Hijri year, for example {example}.",
                                     example=year(1385, lang)))
    elif step is Step.PHONE:
        markup = ReplyKeyboardMarkup(
            [[KeyboardButton(t("📱 Share my phone number"), request_contact=True)]],
            resize_keyboard=True, one_time_keyboard=True,
        )
        await say(update, context, t("Please share your mobile number with the button below. "
                                     "The managers of your estate will see it, to reach you about the programme."), markup)
    elif step is Step.CONSENT:
        await say(update, context, t("May Khooshe name your firm in the public ranking? If your firm is among the "
                                     "country's top 100 in a round, its name and overall score appear in the list "
                                     "every Khooshe user sees with /ranking once results are published, with its "
                                     "place in that list. Your answers, dimension scores and your ranks in your "
                                     "province and estate stay private either way."),
                  keyboard([button(t("Yes, show our name"), cb.REG_CONSENT.build(1))],
                           [button(t("No, keep us anonymous"), cb.REG_CONSENT.build(0))]))
    else:
        await show_review(update, context, data)
    return step


async def ask_estate(
    update: Update, context: KhoosheContext, data: dict[str, Any], *, page: int,
    choices: EstateChoices | None = None, replace: bool = False,
) -> None:
    """Lists the province's estates a page at a time (``replace``: in the pressed message), or
    those a typed name found (``choices``), or says in one line that it found none."""
    t, lang = context.t, context.lang
    if choices is None:
        choices = await service(context).estates(data["province_id"])
    estates = choices.estates
    province_name = choices.province.name(lang) if choices.province else ""
    change = [button(t("↩️ Change province"), cb.REG_EDIT_PROVINCE.build())]
    whole_list = [button(t("📋 All estates of {province}", province=province_name), cb.REG_ESTATE_PAGE.build(0))]
    unlisted = [button(t("🏷 My estate is not listed"), cb.REG_ESTATE_UNLISTED.build())]
    if not estates:
        await show(update, context, t("No estates of {province} are in Khooshe's list yet. Tap the button below "
                                      "and type your estate's name: your firm is registered with it, and the "
                                      "admins add it to the list.",
                                      province=esc(province_name)), keyboard(unlisted, change), replace=replace)
        return
    if choices.matches is not None:
        query = esc(choices.query)
        if not choices.matches:
            text = t("No estate of {province} matches «{query}».", province=esc(province_name), query=query)
            again = [button(t("🔎 Search again"), cb.REG_ESTATE_SEARCH.build())]
            await show(update, context, text, keyboard(again, whole_list, unlisted, change), replace=replace)
        else:
            found = [[button(e.name, cb.REG_ESTATE.build(e.id))] for e in choices.matches[:MATCHES_SHOWN]]
            text = t("Estates matching «{query}»:", query=query)
            if len(choices.matches) > MATCHES_SHOWN:
                text += "\n" + t("The first {shown} of {total}; type more of the name to narrow them down.",
                                 shown=number(MATCHES_SHOWN, lang), total=number(len(choices.matches), lang))
            await show(update, context, text, keyboard(*found, whole_list, unlisted, change), replace=replace)
        return
    pages = max(1, -(-len(estates) // ESTATES_PER_PAGE))
    page = min(max(page, 0), pages - 1)
    shown = estates[page * ESTATES_PER_PAGE : (page + 1) * ESTATES_PER_PAGE]
    nav = []
    if page > 0:
        nav.append(button(t("« Previous"), cb.REG_ESTATE_PAGE.build(page - 1)))
    if page < pages - 1:
        nav.append(button(t("Next »"), cb.REG_ESTATE_PAGE.build(page + 1)))
    text = t("Which estate or industrial zone is the firm in? Tap it, or type part of its name.")
    if pages > 1:
        text += "\n" + t("Page {page} of {pages}", page=number(page + 1, lang), pages=number(pages, lang))
    await show(update, context, text, keyboard(*[[button(e.name, cb.REG_ESTATE.build(e.id))] for e in shown], nav,
                                               unlisted, change), replace=replace)


def describe(context: KhoosheContext, data: dict[str, Any], places: Places) -> list[tuple[Step, str, str]]:
    """Each field as the owner should read it: the step that asks it, its label and its value
    (a sole proprietorship shows the owner's national code and the licence number instead of
    the national ID)."""
    t, lang = context.t, context.lang
    shown: list[tuple[Step, str, str]] = []
    for step, field in FIELD_OF_STEP.items():
        if step is Step.NATIONAL_ID and data.get("sole"):
            for sole_step, value in ((Step.NATIONAL_CODE, data.get("national_id")), (Step.LICENCE, data.get("licence_no"))):
                shown.append((sole_step, SOLE_LABELS[sole_step], localize_digits(str(value), lang) if value else "—"))
            continue
        if field not in data:
            shown.append((step, FIELD_LABELS[step], "—"))
            continue
        value = data[field]
        if step is Step.PROVINCE:
            text = places.province.name(lang) if places.province else "—"
        elif step is Step.ESTATE:
            text = places.estate.name if places.estate else places.unlisted or "—"
            if places.unlisted:
                text += " " + t("(awaiting the admins' confirmation)")
        elif step is Step.CLUSTER:
            text = places.cluster.name if places.cluster else t("Not in a cluster")
        elif step is Step.SECTOR:
            text = t(SECTORS[value]) if value in SECTORS else "—"
        elif step is Step.EMPLOYEES:
            text = number(value, lang)
        elif step is Step.FOUNDED:
            text = year(value, lang)
        elif step in (Step.NATIONAL_ID, Step.PHONE):
            text = localize_digits(str(value), lang)
        elif step is Step.CONSENT:
            text = t("Yes") if value else t("No")
        else:
            text = str(value)
        shown.append((step, FIELD_LABELS[step], text))
    return shown


async def show_review(update: Update, context: KhoosheContext, data: dict[str, Any]) -> None:
    """Shows every field with a button to edit each, and the confirm button.  Until the owner
    has said whether the firm may be named in public rankings, that question is asked here,
    and each of its two answers confirms."""
    t = context.t
    asked = "consent_public" in data
    fields = [f for f in describe(context, data, await service(context).places(data)) if asked or f[0] is not Step.CONSENT]
    lines = [t("<b>Please check the firm's details:</b>"), ""]
    lines += [f"• {t(label)}: <b>{esc(text)}</b>" for _, label, text in fields]
    edit_buttons = [button(t("✏️ {field}", field=t(label)), cb.REG_EDIT.build(step.name)) for step, label, _ in fields]
    if asked:
        confirm = [[button(t("✅ Confirm"), cb.REG_CONFIRM.build())]]
    else:
        lines += ["", t("<b>Last question:</b> may Khooshe name your firm in the public ranking? If it is among the "
                        "country's top 100 in a round, its name and overall score appear in the list every Khooshe "
                        "user sees with /ranking once results are published, with its place in that list. Your "
                        "answers, dimension scores and your ranks in your province and estate stay private "
                        "either way. Your answer confirms the details.")]
        confirm = [[button(t("✅ Confirm, show our name"), cb.REG_CONFIRM_CONSENT.build(1))],
                   [button(t("✅ Confirm, keep us anonymous"), cb.REG_CONFIRM_CONSENT.build(0))]]
    await say(update, context, "\n".join(lines), keyboard(*rows(edit_buttons, 2), *confirm))


# --- what an outcome means ---------------------------------------------------------------------


def refusal(context: KhoosheContext, refused: Refused) -> str:
    """Why a typed answer was not taken, in the owner's language."""
    t, lang = context.t, context.lang
    low, high = NAME_LENGTH
    messages = {
        "name_length": lambda: t("The name should be between {low} and {high} characters.",
                                 low=number(low, lang), high=number(high, lang)),
        "name_digits": lambda: t("That looks like a number. Please type the firm's name."),
        "id_letters": lambda: t("The national ID is made of digits only. Please type its 11 digits."),
        "id_length": lambda: t("The national ID has 11 digits; you typed {count}.", count=number(refused.count, lang)),
        "id_is_code": lambda: t("That is a person's 10-digit national code, not a firm's national ID (11 digits). "
                                "If the firm has no national ID, press the button below."),
        "id_check": lambda: t("This national ID is not valid: its check digit does not match. Please check it and type it again."),
        "id_taken": lambda: t("This national ID is already registered by another account. If it is your "
                              "firm, press the button below: the admins see both accounts and will write "
                              "to you here. You can also ask your estate office."),
        "code_letters": lambda: t("The national code is made of digits only. Please type its 10 digits."),
        "code_length": lambda: t("The national code has 10 digits; you typed {count}.", count=number(refused.count, lang)),
        "code_check": lambda: t("This national code is not valid: its check digit does not match. Please check it and type it again."),
        "code_taken": lambda: t("A firm with this national code is already registered by another account. If it is "
                                "yours, press the button below: the admins see both accounts and will write to you "
                                "here. You can also ask your estate office."),
        "licence_invalid": lambda: t("Please type the licence number as it is written on the licence: digits, "
                                     "with letters, «/» or «-» if it has them."),
        "licence_taken": lambda: t("A firm with this licence number is already registered by another account. If "
                                   "it is yours, press the button below: the admins see both accounts and will write "
                                   "to you here. You can also ask your estate office."),
        "estate_name_length": lambda: t("Please type the estate's name, between {low} and {high} characters.",
                                        low=number(ESTATE_NAME_LENGTH[0], lang), high=number(ESTATE_NAME_LENGTH[1], lang)),
        "province_unclear": lambda: t("Please choose the province with the buttons."),
        "employees": lambda: t("Please type the number of employees as a whole number between {low} and {high}.",
                               low=number(1, lang), high=number(MAX_EMPLOYEES, lang)),
        "founded": lambda: t("Please type a Solar Hijri year between {low} and {high}.",
                             low=year(EARLIEST_FOUNDING_YEAR, lang), high=year(refused.count, lang)),
        "founded_gregorian": lambda: t("Please type a Solar Hijri year between {low} and {high}.",
                                       low=year(EARLIEST_FOUNDING_YEAR, lang), high=year(refused.count, lang))
        + " " + t("That looks like a Gregorian year; please use the Solar Hijri calendar."),
        "contact_other": lambda: t("That is someone else's contact. Please share your own number with the button."),
        "stale": lambda: t("This button is no longer active."),
    }
    return messages[refused.reason]()


async def retry(update: Update, context: KhoosheContext, message: str, step: Step, data: dict[str, Any], *,
                again: bool = False) -> Step:
    """Says in one line what was wrong; the question stays on screen above it. ``again`` asks
    the question anew too: when it is not the one on screen, or its keyboard must come back."""
    await say(update, context, message)
    if again:
        return await ask(update, context, step, data)
    return step


async def answered(update: Update, context: KhoosheContext, answer: Answer, step: Step) -> Step:
    """A typed answer: the next question once stored, else why not (``step`` stays on screen)."""
    if isinstance(answer, Refused):
        return await retry(update, context, refusal(context, answer), answer.position.step, answer.position.data,
                           again=answer.position.step != step)
    return await ask(update, context, answer.step, answer.data)


async def pressed(update: Update, context: KhoosheContext, answer: Answer, step: Step, chosen: str) -> Step:
    """A button's answer: stored, the prompt keeps what was ``chosen`` and the next question
    follows; a stale button leaves ``step`` on screen."""
    if isinstance(answer, Refused):
        await settle_query(update, text=context.t("This button is no longer active."))
        return step
    await settle_query(update)
    await close_prompt(update, chosen)
    return await ask(update, context, answer.step, answer.data)


def typed(update: Update) -> str:
    return normalize(update.message.text if update.message and update.message.text else "")


def user_of(update: Update) -> int:
    assert update.effective_user is not None
    return update.effective_user.id


# --- entry and exit ------------------------------------------------------------------------------


async def begin(update: Update, context: KhoosheContext) -> Step | int:
    """Starts a registration, resumes one, or opens the profile editor for a registered firm."""
    await settle_query(update)
    begun = await service(context).begin(user_of(update))
    if begun.outcome == "new":
        await say(update, context, context.t("Let's register your firm. You can leave with /cancel at any time; what you typed is kept."))
    elif begun.outcome == "resume":
        await say(update, context, context.t("Welcome back! Let's continue your registration."))
    return await ask(update, context, begun.step, begun.data)


async def leave(update: Update, context: KhoosheContext) -> int:
    """Leaves the conversation; a new registration is kept for later, a profile edit dropped."""
    await settle_query(update)
    if await service(context).leave(user_of(update)) == "edit_dropped":
        note = context.t("Your profile was left unchanged.")
    else:
        note = context.t("Registration paused. What you entered is kept; continue any time from the menu.")
    await say(update, context, note, ReplyKeyboardRemove())
    await show_menu(update, context)
    return ConversationHandler.END


# --- one handler per step ----------------------------------------------------------------------------


async def got_name(update: Update, context: KhoosheContext) -> Step:
    """Stores the firm's name and asks for the national ID."""
    return await answered(update, context, await service(context).give_name(user_of(update), typed(update)), Step.NAME)


async def got_national_id(update: Update, context: KhoosheContext) -> Step:
    """Checks and stores the national ID, then asks for the province. An ID another account
    registered comes with a button that asks the admins to look into it."""
    text = typed(update)
    answer = await service(context).give_national_id(user_of(update), text)
    national_id = parse_national_id(text)
    if isinstance(answer, Refused) and answer.reason == "id_is_code":
        await say(update, context, refusal(context, answer), keyboard(
            [button(context.t("I am a sole proprietor (no national ID)"), cb.REG_SOLE.build())]))
        return Step.NATIONAL_ID
    if isinstance(answer, Refused) and answer.reason == "id_taken" and national_id is not None:
        await say(update, context, refusal(context, answer), keyboard(
            [button(context.t("📨 Ask the admins to check"), cb.REG_CLAIM.build(national_id))]))
        return Step.NATIONAL_ID
    return await answered(update, context, answer, Step.NATIONAL_ID)


async def sole(update: Update, context: KhoosheContext) -> Step:
    """«I am a sole proprietor»: the owner's national code and the licence number instead."""
    answer = await service(context).declare_sole(user_of(update))
    return await pressed(update, context, answer, Step.NATIONAL_ID,
                         context.t("National ID: <b>{answer}</b>", answer=context.t("none (sole proprietor)")))


async def legal(update: Update, context: KhoosheContext) -> Step:
    """Back from the national code to the 11-digit national ID."""
    answer = await service(context).declare_legal(user_of(update))
    await settle_query(update)
    await close_prompt(update, context.t("The firm has an 11-digit national ID."))
    return await ask(update, context, answer.step, answer.data)


async def got_national_code(update: Update, context: KhoosheContext) -> Step:
    """Checks and stores a sole proprietor's national code, then asks for the licence number.
    A code another account registered comes with a button that asks the admins to look into it."""
    text = typed(update)
    answer = await service(context).give_national_code(user_of(update), text)
    code = parse_national_code(text)
    if isinstance(answer, Refused) and answer.reason == "code_taken" and code is not None:
        await say(update, context, refusal(context, answer), keyboard(
            [button(context.t("📨 Ask the admins to check"), cb.REG_CLAIM.build(code))]))
        return Step.NATIONAL_CODE
    return await answered(update, context, answer, Step.NATIONAL_CODE)


async def got_licence(update: Update, context: KhoosheContext) -> Step:
    """Checks and stores the business licence number, then asks for the province. A number
    another account registered comes with a button that asks the admins to look into it."""
    text = typed(update)
    answer = await service(context).give_licence(user_of(update), text)
    licence = parse_licence(text)
    if isinstance(answer, Refused) and answer.reason == "licence_taken" and licence is not None:
        await say(update, context, refusal(context, answer), keyboard(
            [button(context.t("📨 Ask the admins to check"), cb.REG_CLAIM_LICENCE.build(licence))]))
        return Step.LICENCE
    return await answered(update, context, answer, Step.LICENCE)


async def claim_licence(update: Update, context: KhoosheContext) -> Step:
    """Sends the admins the owner's request about a licence number another account registered."""
    query = update.callback_query
    user = update.effective_user
    assert query is not None and user is not None
    (licence,) = cb.REG_CLAIM_LICENCE.parse(query.data)
    sent = await service(context).claim_licence(user.id, licence, first_name=user.first_name)
    await settle_query(update)
    if sent:
        await close_prompt(update, context.t(
            "📨 Your request is with the admins; they will look into it and write to you here. Meanwhile "
            "you can type another licence number, or /cancel."))
    else:
        await close_prompt(update, context.t("This licence number is no longer registered by another account; "
                                             "please type it again."))
    return Step.LICENCE


async def claim_national_id(update: Update, context: KhoosheContext) -> Step:
    """Sends the admins the owner's request about a national ID another account registered."""
    query = update.callback_query
    user = update.effective_user
    assert query is not None and user is not None
    (national_id,) = cb.REG_CLAIM.parse(query.data)
    sent = await service(context).claim_national_id(user.id, national_id, first_name=user.first_name)
    await settle_query(update)
    if sent:
        await close_prompt(update, context.t(
            "📨 Your request is with the admins; they will look into it and write to you here. Meanwhile "
            "you can type another national ID, or /cancel."))
    else:
        await close_prompt(update, context.t("This national ID is no longer registered by another account; "
                                             "please type it again."))
    return Step.NATIONAL_CODE if len(national_id) == 10 else Step.NATIONAL_ID


async def got_province_button(update: Update, context: KhoosheContext) -> Step:
    """Stores the province pressed and asks for the estate."""
    query = update.callback_query
    assert query is not None and query.data is not None
    answer = await service(context).choose_province(user_of(update), cb.REG_PROVINCE.parse_int(query.data))
    province = answer.label if isinstance(answer, Stored) else None
    name = province.name(context.lang) if isinstance(province, Province) else ""
    return await pressed(update, context, answer, Step.PROVINCE, context.t("Province: <b>{name}</b>", name=esc(name)))


async def got_province_text(update: Update, context: KhoosheContext) -> Step:
    """Accepts a typed province name when it names exactly one province, or an estate's name
    when it names exactly one listed estate: that chooses the province and the estate (with a
    button to change the estate)."""
    answer = await service(context).name_province(user_of(update), typed(update))
    if isinstance(answer, Stored) and isinstance(answer.label, Estate):
        places = await service(context).places(answer.data)
        province = places.province.name(context.lang) if places.province else ""
        await say(update, context, context.t("✅ Estate: <b>{name}</b> ({province})\nNot this one? Change it with the button.",
                                             name=esc(answer.label.name), province=esc(province)),
                  keyboard([button(context.t("✏️ Change the estate"), cb.REG_EDIT_ESTATE.build())]))
    return await answered(update, context, answer, Step.PROVINCE)


async def got_estate_button(update: Update, context: KhoosheContext) -> Step:
    """Stores the estate pressed (it must lie in the chosen province) and asks for the cluster."""
    query = update.callback_query
    assert query is not None and query.data is not None
    answer = await service(context).choose_estate(user_of(update), cb.REG_ESTATE.parse_int(query.data))
    estate = answer.label if isinstance(answer, Stored) else None
    name = estate.name if isinstance(estate, Estate) else ""
    return await pressed(update, context, answer, Step.ESTATE, context.t("Estate: <b>{name}</b>", name=esc(name)))


async def unlisted_estate(update: Update, context: KhoosheContext) -> Step:
    """🏷 My estate is not listed: its name is asked."""
    position = await service(context).unlisted_estate(user_of(update))
    await settle_query(update)
    if position.step is Step.ESTATE_NAME:
        await close_prompt(update, context.t("Estate: <b>{name}</b>", name=context.t("not in the list")))
    return await ask(update, context, position.step, position.data)


async def got_estate_name(update: Update, context: KhoosheContext) -> Step:
    """The name of an estate that is not listed (or of a listed one, which it then chooses)."""
    answer = await service(context).name_estate(user_of(update), typed(update))
    if isinstance(answer, Stored):
        if isinstance(answer.label, Estate):
            text = context.t("✅ «{name}» is in the list; your firm is registered there.", name=esc(answer.label.name))
        else:
            text = context.t("✅ Estate: <b>{name}</b> (awaiting the admins' confirmation)",
                             name=esc(str(answer.data.get("estate_name", ""))))
        await say(update, context, text)
    return await answered(update, context, answer, Step.ESTATE_NAME)


async def estate_page(update: Update, context: KhoosheContext) -> Step:
    """Shows another page of the estate list."""
    query = update.callback_query
    assert query is not None and query.data is not None
    await settle_query(update)
    position = await service(context).current(user_of(update))
    if "province_id" not in position.data:
        return await ask(update, context, position.step, position.data)
    await ask_estate(update, context, position.data, page=cb.REG_ESTATE_PAGE.parse_int(query.data), replace=True)
    return Step.ESTATE


async def search_again(update: Update, context: KhoosheContext) -> Step:
    """🔎 Search again: the no-match message asks for another part of the name."""
    await settle_query(update)
    t = context.t
    position = await service(context).current(user_of(update))
    if "province_id" not in position.data:
        return await ask(update, context, position.step, position.data)
    choices = await service(context).estates(position.data["province_id"])
    province = choices.province.name(context.lang) if choices.province else ""
    await show(update, context, t("Type another part of the estate's name."), keyboard(
        [button(t("📋 All estates of {province}", province=province), cb.REG_ESTATE_PAGE.build(0))],
        [button(t("↩️ Change province"), cb.REG_EDIT_PROVINCE.build())]), replace=True)
    return Step.ESTATE


async def got_estate_text(update: Update, context: KhoosheContext) -> Step:
    """Finds the estate by the typed text: the one it names is chosen at once (with a button to
    change it); otherwise the estates it found, or a line saying it found none."""
    found = await service(context).find_estate(user_of(update), typed(update))
    if isinstance(found, EstateChoices):
        position = await service(context).current(user_of(update))
        if "province_id" not in position.data:
            return await ask(update, context, position.step, position.data)
        await ask_estate(update, context, position.data, page=0, choices=found)
        return Step.ESTATE
    name = found.label.name if isinstance(found.label, Estate) else ""
    await say(update, context, context.t("✅ Estate: <b>{name}</b>\nNot this one? Change it with the button.", name=esc(name)),
              keyboard([button(context.t("✏️ Change the estate"), cb.REG_EDIT_ESTATE.build())]))
    return await ask(update, context, found.step, found.data)


async def change_estate(update: Update, context: KhoosheContext) -> Step:
    """✏️ Change the estate, pressed on the line that says which estate a search chose: that
    message becomes the estate list (from any later step)."""
    await settle_query(update)
    position = await service(context).current(user_of(update))
    if "province_id" not in position.data:
        return await ask(update, context, position.step, position.data)
    edited = await service(context).edit(user_of(update), Step.ESTATE.name)
    assert edited is not None
    await ask_estate(update, context, edited.data, page=0, replace=True)
    return Step.ESTATE


async def got_cluster(update: Update, context: KhoosheContext) -> Step:
    """Stores the cluster (or none) and asks for the sector."""
    query = update.callback_query
    assert query is not None and query.data is not None
    answer = await service(context).choose_cluster(user_of(update), cb.REG_CLUSTER.parse_int(query.data) or None)
    cluster = answer.label if isinstance(answer, Stored) else None
    label = cluster.name if isinstance(cluster, Cluster) else context.t("Not in a cluster")
    return await pressed(update, context, answer, Step.CLUSTER, context.t("Cluster: <b>{name}</b>", name=esc(label)))


async def got_sector(update: Update, context: KhoosheContext) -> Step:
    """Stores the sector and asks for the number of employees."""
    query = update.callback_query
    assert query is not None and query.data is not None
    (code,) = cb.REG_SECTOR.parse(query.data)
    answer = await service(context).choose_sector(user_of(update), code)
    name = context.t(SECTORS[code]) if code in SECTORS else ""
    return await pressed(update, context, answer, Step.SECTOR, context.t("Sector: <b>{name}</b>", name=esc(name)))


async def got_employees(update: Update, context: KhoosheContext) -> Step:
    """Stores the number of employees and asks for the founding year (unless it came along)."""
    text = typed(update)
    answer = await service(context).give_employees(user_of(update), text)
    if isinstance(answer, Stored) and service(context).employees_and_year(text) is not None:
        lang = context.lang
        await say(update, context, context.t("✔️ Employees: {employees} · Year founded: {year}",
                                             employees=number(answer.data["employees"], lang),
                                             year=year(answer.data["founded_year"], lang)))
    return await answered(update, context, answer, Step.EMPLOYEES)


async def got_founded(update: Update, context: KhoosheContext) -> Step:
    """Stores the founding year and asks for the phone number."""
    answer = await service(context).give_founded(user_of(update), typed(update))
    return await answered(update, context, answer, Step.FOUNDED)


async def got_contact(update: Update, context: KhoosheContext) -> Step:
    """Stores the sender's own phone number and asks about public rankings."""
    message = update.message
    assert message is not None and message.contact is not None
    answer = await service(context).share_contact(
        user_of(update), contact_user_id=message.contact.user_id, phone_number=message.contact.phone_number)
    if isinstance(answer, Stored):
        await say(update, context, context.t("Thank you, your number is saved."), ReplyKeyboardRemove())
    return await answered(update, context, answer, Step.PHONE)


async def got_phone_text(update: Update, context: KhoosheContext) -> Step:
    """Refuses a typed number: only the contact button proves the number is the sender's."""
    position = await service(context).current(user_of(update))
    return await retry(update, context, context.t("Please use the «Share my phone number» button below instead of typing the number."),
                       Step.PHONE, position.data, again=True)


async def got_consent(update: Update, context: KhoosheContext) -> Step:
    """Stores the ranking consent and shows the review."""
    query = update.callback_query
    assert query is not None and query.data is not None
    consent = query.data.endswith(":1")
    answer = await service(context).consent(user_of(update), consent)
    return await pressed(update, context, answer, Step.CONSENT, context.t(
        "Name in public rankings: <b>{answer}</b>", answer=context.t("Yes") if consent else context.t("No")))


async def edit_field(update: Update, context: KhoosheContext) -> Step:
    """Asks again for the field chosen on the review screen."""
    query = update.callback_query
    assert query is not None and query.data is not None
    await settle_query(update)
    (name,) = cb.REG_EDIT.parse(query.data)
    position = await service(context).edit(user_of(update), name)
    if position is None:
        return Step.REVIEW
    return await ask(update, context, position.step, position.data)


async def show_finished(update: Update, context: KhoosheContext, finished: Finished) -> int:
    t = context.t
    await close_prompt(update, t("✅ Details confirmed."))
    intro = t("Your firm's profile is updated.") if finished.outcome == "updated" else t("🎉 Your firm is registered. Thank you!")
    if finished.unlisted:
        intro += "\n" + t("Your estate «{name}» is not in Khooshe's list yet; the admins will confirm it and "
                          "you will hear from us here. Meanwhile everything works as usual: the self-assessment "
                          "and your results.", name=esc(finished.unlisted))
    await show_menu(update, context, intro=intro)
    return ConversationHandler.END


async def confirm(update: Update, context: KhoosheContext) -> Step | int:
    """Saves the firm from the draft and ends the conversation; the ✅ buttons that also say
    whether the firm may be named in public rankings give that answer with it."""
    await settle_query(update)
    query = update.callback_query
    consent = None
    if query is not None and (query.data or "").startswith(cb.REG_CONFIRM_CONSENT.prefix + ":"):
        consent = cb.REG_CONFIRM_CONSENT.parse_int(query.data) == 1
    outcome = await service(context).finish(user_of(update), consent)
    if isinstance(outcome, Refused):
        return await retry(update, context, refusal(context, outcome), outcome.position.step, outcome.position.data,
                           again=True)
    if isinstance(outcome, Position):
        return await ask(update, context, outcome.step, outcome.data)
    return await show_finished(update, context, outcome)


async def confirmed_again(update: Update, context: KhoosheContext) -> int:
    """✅ Confirm pressed once the registration it confirms has ended: the twin of a tap that
    just finished it sees what that tap saw; an older button is no longer active."""
    finished = await service(context).finished_just_now(user_of(update))
    if finished is None:
        await settle_query(update, text=context.t("This button is no longer active."))
        await show_menu(update, context)
        return ConversationHandler.END
    await settle_query(update)
    return await show_finished(update, context, finished)


async def use_buttons(update: Update, context: KhoosheContext) -> Step:
    """Reminds the owner that this step is answered with the buttons, and asks again."""
    position = await service(context).current(user_of(update))
    return await retry(update, context, context.t("Please answer with the buttons."), position.step, position.data)


#: What each step needs, said in one line when a sticker, photo, voice or file arrives instead.
MEDIA_NEEDS = {
    Step.NAME: N_("Please type the firm's name as a text message."),
    Step.NATIONAL_ID: N_("Please type the firm's 11-digit national ID as a text message."),
    Step.NATIONAL_CODE: N_("Please type your 10-digit national code as a text message."),
    Step.LICENCE: N_("Please type the business licence number as a text message."),
    Step.ESTATE_NAME: N_("Please type the estate's name as a text message."),
    Step.PROVINCE: N_("Please choose the province with the buttons above."),
    Step.ESTATE: N_("Please choose the estate with the buttons above, or type part of its name."),
    Step.EMPLOYEES: N_("Please type the number of employees, like {example}."),
    Step.FOUNDED: N_("Please type the year the firm was founded, like {example}."),
    Step.PHONE: N_("Please share your mobile number with the button below."),
}


async def media(update: Update, context: KhoosheContext) -> Step:
    """A sticker, voice, photo, video, file, location (or someone's contact before the phone
    step) where text or a button was expected: one short line says what this step needs; the
    step stays on screen."""
    position = await service(context).current(user_of(update))
    needed = MEDIA_NEEDS.get(position.step, N_("Please answer with the buttons."))
    example = year(1385, context.lang) if position.step is Step.FOUNDED else number(25, context.lang)
    await say(update, context, context.t(needed, example=example))
    return position.step


async def resume(update: Update, context: KhoosheContext) -> Step:
    """Asks the current step again: /register or the menu's continue button mid-way, a
    language switch, or a button from an older message."""
    if update.callback_query is not None and (update.callback_query.data or "").startswith(cb.REG_PREFIX + ":"):
        await settle_query(update, text=context.t("This button is no longer active."))
    else:
        await settle_query(update)
    position = await service(context).current(user_of(update))
    return await ask(update, context, position.step, position.data)


async def show_profile(update: Update, context: KhoosheContext) -> None:
    """Shows the registered firm's profile with an edit button."""
    await settle_query(update)
    t = context.t
    profile = await service(context).profile(user_of(update))
    if profile is None:
        await show_menu(update, context, intro=t("Your firm is not registered yet."))
        return
    fields = describe(context, *profile)
    lines = [t("<b>Your firm's profile</b>"), ""]
    lines += [f"• {t(label)}: <b>{esc(text)}</b>" for _, label, text in fields]
    await say(update, context, "\n".join(lines), keyboard(
        [button(t("✏️ Edit the profile"), cb.REGISTER.build())], [button(t("🏠 Menu"), cb.MENU.build())]
    ))


def register(app: KhoosheApp) -> None:
    text = filters.TEXT & ~filters.COMMAND
    buttons_only: list[BaseHandler[Update, KhoosheContext, object]] = [MessageHandler(text, use_buttons)]
    # The line saying which estate a search chose keeps its ✏️ button working at every later step.
    change: list[BaseHandler[Update, KhoosheContext, object]] = [
        CallbackQueryHandler(change_estate, pattern=cb.REG_EDIT_ESTATE.pattern)]
    conversation = ConversationHandler(
        entry_points=[
            CommandHandler("register", begin),
            CallbackQueryHandler(begin, pattern=cb.REGISTER.pattern),
            CallbackQueryHandler(confirmed_again, pattern=cb.REG_CONFIRM.pattern),
            CallbackQueryHandler(confirmed_again, pattern=cb.REG_CONFIRM_CONSENT.pattern),
            onboarding.accept_handler(),  # an invitation's pre-filled details confirmed (issue 10)
        ],
        states={
            Step.NAME: [MessageHandler(text, got_name)],
            Step.NATIONAL_ID: [MessageHandler(text, got_national_id),
                               CallbackQueryHandler(sole, pattern=cb.REG_SOLE.pattern),
                               CallbackQueryHandler(claim_national_id, pattern=cb.REG_CLAIM.pattern)],
            Step.NATIONAL_CODE: [MessageHandler(text, got_national_code),
                                 CallbackQueryHandler(legal, pattern=cb.REG_LEGAL.pattern),
                                 CallbackQueryHandler(claim_national_id, pattern=cb.REG_CLAIM.pattern)],
            Step.LICENCE: [MessageHandler(text, got_licence),
                           CallbackQueryHandler(claim_licence, pattern=cb.REG_CLAIM_LICENCE.pattern)],
            Step.PROVINCE: [CallbackQueryHandler(got_province_button, pattern=cb.REG_PROVINCE.pattern),
                            MessageHandler(text, got_province_text)],
            Step.ESTATE: [CallbackQueryHandler(got_estate_button, pattern=cb.REG_ESTATE.pattern),
                          CallbackQueryHandler(estate_page, pattern=cb.REG_ESTATE_PAGE.pattern),
                          CallbackQueryHandler(search_again, pattern=cb.REG_ESTATE_SEARCH.pattern), *change,
                          CallbackQueryHandler(unlisted_estate, pattern=cb.REG_ESTATE_UNLISTED.pattern),
                          CallbackQueryHandler(edit_field, pattern=cb.REG_EDIT_PROVINCE.pattern),
                          MessageHandler(text, got_estate_text)],
            Step.ESTATE_NAME: [MessageHandler(text, got_estate_name), *change],
            Step.CLUSTER: [CallbackQueryHandler(got_cluster, pattern=cb.REG_CLUSTER.pattern), *change, *buttons_only],
            Step.SECTOR: [CallbackQueryHandler(got_sector, pattern=cb.REG_SECTOR.pattern), *change, *buttons_only],
            Step.EMPLOYEES: [MessageHandler(text, got_employees), *change],
            Step.FOUNDED: [MessageHandler(text, got_founded), *change],
            Step.PHONE: [MessageHandler(filters.CONTACT, got_contact), MessageHandler(text, got_phone_text), *change],
            Step.CONSENT: [CallbackQueryHandler(got_consent, pattern=cb.REG_CONSENT.pattern), *change, *buttons_only],
            Step.REVIEW: [*change, CallbackQueryHandler(edit_field, pattern=cb.REG_EDIT.pattern),
                          CallbackQueryHandler(confirm, pattern=cb.REG_CONFIRM.pattern),
                          CallbackQueryHandler(confirm, pattern=cb.REG_CONFIRM_CONSENT.pattern), *buttons_only],
        },
        fallbacks=[onboarding.accept_handler(), *fallbacks(command="register", resume=resume, leave=leave, media=media,
                                                           resume_pattern=f"{cb.REGISTER.pattern}|{cb.starts_with(cb.REG_PREFIX)}")],
        # One conversation per user and chat, whichever message a button is on: the steps mix
        # typed text and buttons (per_message=True would need only CallbackQueryHandlers).
        per_message=False,
        name=REGISTRATION,
        persistent=True,
        allow_reentry=False,
    )
    app.add_handler(conversation)
    app.add_handler(CommandHandler("profile", show_profile))
    app.add_handler(CallbackQueryHandler(show_profile, pattern=cb.PROFILE.pattern))
