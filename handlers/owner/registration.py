"""Registering a firm, and editing its profile later: one guided conversation.

Each answer is committed together with the step asked next (the registration draft), so the
conversation resumes exactly where it was after a restart.
"""

from __future__ import annotations

from enum import IntEnum
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
from bot.domain.calendar import solar_year
from bot.domain.national_id import parse_national_id, shape_problem
from bot.domain.sectors import SECTORS
from bot.domain.text import localize_digits, normalize, number, only_digits, year
from bot.i18n import N_
from bot.persistence import REGISTRATION
from handlers.common.menu import show_menu
from handlers.common.ui import (
    button,
    close_prompt,
    esc,
    keyboard,
    rows,
    say,
    settle_query,
)
from storage.models import Firm
from storage.repositories import Repositories
from storage.repositories.firms import FIRM_FIELDS


class Step(IntEnum):
    NAME = 1
    NATIONAL_ID = 2
    PROVINCE = 3
    ESTATE = 4
    CLUSTER = 5
    SECTOR = 6
    EMPLOYEES = 7
    FOUNDED = 8
    PHONE = 9
    CONSENT = 10
    REVIEW = 11


# The draft field each step fills, in the order they are asked.
FIELD_OF_STEP = {
    Step.NAME: "name",
    Step.NATIONAL_ID: "national_id",
    Step.PROVINCE: "province_id",
    Step.ESTATE: "estate_id",
    Step.CLUSTER: "cluster_id",
    Step.SECTOR: "sector",
    Step.EMPLOYEES: "employees",
    Step.FOUNDED: "founded_year",
    Step.PHONE: "phone",
    Step.CONSENT: "consent_public",
}
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
ESTATES_PER_PAGE = 8
MAX_EMPLOYEES = 100_000
EARLIEST_FOUNDING_YEAR = 1250
NAME_LENGTH = (2, 100)


def state_of(step: str) -> Step:
    """Maps a stored step name back to the conversation state (used on restart)."""
    return Step[step]


def next_step(data: dict[str, Any]) -> Step:
    """The first field still missing, or the review once all are filled."""
    for step, field in FIELD_OF_STEP.items():
        if field not in data:
            return step
    return Step.REVIEW


def draft_from_firm(firm: Firm) -> dict[str, Any]:
    return {field: getattr(firm, field) for field in FIRM_FIELDS}


# --- asking ----------------------------------------------------------------------------------


async def ask(update: Update, context: KhoosheContext, step: Step, data: dict[str, Any]) -> Step:
    """Sends the question of ``step`` and returns it as the conversation's new state."""
    t, lang = context.t, context.lang
    if step is Step.NAME:
        await say(update, context, t("What is your firm's registered name?"))
    elif step is Step.NATIONAL_ID:
        await say(update, context, t("What is the firm's national ID? It has 11 digits."))
    elif step is Step.PROVINCE:
        async with context.db.read() as repo:
            provinces = await repo.provinces.all()
        buttons = [button(p.name(lang), cb.REG_PROVINCE.build(p.id)) for p in provinces]
        await say(update, context, t("Which province is the firm in?"), keyboard(*rows(buttons, 3)))
    elif step is Step.ESTATE:
        await ask_estate(update, context, data, page=0, query=None)
    elif step is Step.CLUSTER:
        async with context.db.read() as repo:
            clusters = await repo.clusters.in_province(data["province_id"])
        choices = [[button(c.name, cb.REG_CLUSTER.build(c.id))] for c in clusters]
        choices.append([button(t("Not in a cluster"), cb.REG_CLUSTER.build(0))])
        await say(update, context, t("Is the firm a member of a business cluster?"), keyboard(*choices))
    elif step is Step.SECTOR:
        buttons = [button(t(name), cb.REG_SECTOR.build(code)) for code, name in SECTORS.items()]
        await say(update, context, t("Which sector is the firm's main activity in?"), keyboard(*rows(buttons, 2)))
    elif step is Step.EMPLOYEES:
        await say(update, context, t("How many people work at the firm? Type a number."))
    elif step is Step.FOUNDED:
        await say(update, context, t("In which year was the firm founded? Type the Solar Hijri year, for example {example}.",
                                     example=year(1385, lang)))
    elif step is Step.PHONE:
        markup = ReplyKeyboardMarkup(
            [[KeyboardButton(t("📱 Share my phone number"), request_contact=True)]],
            resize_keyboard=True, one_time_keyboard=True,
        )
        await say(update, context, t("Please share your mobile number with the button below."), markup)
    elif step is Step.CONSENT:
        await say(update, context, t("May Khooshe show your firm's name in public rankings, such as the top 100? "
                                     "Your scores stay private either way."),
                  keyboard([button(t("Yes, show our name"), cb.REG_CONSENT.build(1))],
                           [button(t("No, keep us anonymous"), cb.REG_CONSENT.build(0))]))
    else:
        await show_review(update, context, data)
    return step


async def ask_estate(
    update: Update, context: KhoosheContext, data: dict[str, Any], *, page: int, query: str | None
) -> None:
    """Lists the province's estates a page at a time, or those whose name contains ``query``."""
    t, lang = context.t, context.lang
    async with context.db.read() as repo:
        estates = await repo.estates.in_province(data["province_id"])
        province = await repo.provinces.get(data["province_id"])
    province_name = province.name(lang) if province else ""
    change = [button(t("↩️ Change province"), cb.REG_EDIT_PROVINCE.build())]
    if not estates:
        await say(update, context, t("No estates of {province} are registered in Khooshe yet. "
                                     "Please choose another province, or ask your estate office to contact us.",
                                     province=esc(province_name)), keyboard(change))
        return
    if query:
        needle = normalize(query).casefold()
        matches = [e for e in estates if needle in normalize(e.name).casefold()]
        if not matches:
            text = t("No estate of {province} matches «{query}». Choose from the list or type another part of its name.",
                     province=esc(province_name), query=esc(query))
            await say(update, context, text)
        else:
            text = t("Estates matching «{query}»:", query=esc(query))
            await say(update, context, text, keyboard(*[[button(e.name, cb.REG_ESTATE.build(e.id))] for e in matches[:20]], change))
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
    await say(update, context, text, keyboard(*[[button(e.name, cb.REG_ESTATE.build(e.id))] for e in shown], nav, change))


async def describe(repo: Repositories, context: KhoosheContext, data: dict[str, Any]) -> list[tuple[Step, str]]:
    """Each filled field as the owner should read it."""
    t, lang = context.t, context.lang
    shown: list[tuple[Step, str]] = []
    for step, field in FIELD_OF_STEP.items():
        if field not in data:
            shown.append((step, "—"))
            continue
        value = data[field]
        if step is Step.PROVINCE:
            province = await repo.provinces.get(value)
            text = province.name(lang) if province else "—"
        elif step is Step.ESTATE:
            estate = await repo.estates.get(value)
            text = estate.name if estate else "—"
        elif step is Step.CLUSTER:
            cluster = await repo.clusters.get(value) if value else None
            text = cluster.name if cluster else t("Not in a cluster")
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
        shown.append((step, text))
    return shown


async def show_review(update: Update, context: KhoosheContext, data: dict[str, Any]) -> None:
    """Shows every field with a button to edit each, and the confirm button."""
    t = context.t
    async with context.db.read() as repo:
        fields = await describe(repo, context, data)
    lines = [t("<b>Please check the firm's details:</b>"), ""]
    lines += [f"• {t(FIELD_LABELS[step])}: <b>{esc(text)}</b>" for step, text in fields]
    edit_buttons = [button(t("✏️ {field}", field=t(FIELD_LABELS[step])), cb.REG_EDIT.build(step.name)) for step, _ in fields]
    await say(update, context, "\n".join(lines), keyboard(
        *rows(edit_buttons, 2), [button(t("✅ Confirm"), cb.REG_CONFIRM.build())]
    ))


# --- storing -----------------------------------------------------------------------------------


async def store(update: Update, context: KhoosheContext, **fields: Any) -> Step:
    """Commits ``fields`` with the next step, then asks it."""
    user = update.effective_user
    assert user is not None
    async with context.db.transaction() as repo:
        draft = await repo.drafts.get(user.id)
        data = dict(draft.data) if draft else {}
        if "province_id" in fields and fields["province_id"] != data.get("province_id"):
            # Estates and clusters belong to a province: a new province asks for them again.
            data.pop("estate_id", None)
            data.pop("cluster_id", None)
        data.update(fields)
        step = next_step(data)
        if draft is None:
            await repo.drafts.start(user_id=user.id, step=step.name, data=data, editing=False)
        else:
            await repo.drafts.update(user_id=user.id, step=step.name, data=data)
    return await ask(update, context, step, data)


async def current_data(context: KhoosheContext, user_id: int) -> dict[str, Any]:
    async with context.db.read() as repo:
        draft = await repo.drafts.get(user_id)
    return dict(draft.data) if draft else {}


async def retry(update: Update, context: KhoosheContext, message: str, step: Step) -> Step:
    """Says what was wrong and asks the same question again."""
    await say(update, context, message)
    assert update.effective_user is not None
    return await ask(update, context, step, await current_data(context, update.effective_user.id))


def typed(update: Update) -> str:
    return normalize(update.message.text if update.message and update.message.text else "")


# --- entry and exit ------------------------------------------------------------------------------


async def begin(update: Update, context: KhoosheContext) -> Step | int:
    """Starts a registration, resumes one, or opens the profile editor for a registered firm."""
    await settle_query(update)
    user = update.effective_user
    assert user is not None
    async with context.db.transaction() as repo:
        firm = await repo.firms.by_owner(user.id)
        draft = await repo.drafts.get(user.id)
        if firm is not None and (draft is None or not draft.editing):
            await repo.drafts.start(user_id=user.id, step=Step.REVIEW.name, data=draft_from_firm(firm), editing=True)
            data, step = draft_from_firm(firm), Step.REVIEW
        elif draft is not None:
            data, step = dict(draft.data), Step[draft.step]
            await repo.drafts.set_active(user_id=user.id, active=True)
        else:
            data, step = {}, Step.NAME
            await repo.drafts.start(user_id=user.id, step=step.name, data=data, editing=False)
    if firm is None and not data:
        await say(update, context, context.t("Let's register your firm. You can leave with /cancel at any time; what you typed is kept."))
    elif firm is None:
        await say(update, context, context.t("Welcome back! Let's continue your registration."))
    return await ask(update, context, step, data)


async def leave(update: Update, context: KhoosheContext) -> int:
    """Leaves the conversation; a new registration is kept for later, a profile edit dropped."""
    await settle_query(update)
    user = update.effective_user
    assert user is not None
    async with context.db.transaction() as repo:
        draft = await repo.drafts.get(user.id)
        if draft is not None and draft.editing:
            await repo.drafts.delete(user.id)
            note = context.t("Your profile was left unchanged.")
        else:
            await repo.drafts.set_active(user_id=user.id, active=False)
            note = context.t("Registration paused. What you entered is kept; continue any time from the menu.")
    await say(update, context, note, ReplyKeyboardRemove())
    await show_menu(update, context)
    return ConversationHandler.END


# --- one handler per step ----------------------------------------------------------------------------


async def got_name(update: Update, context: KhoosheContext) -> Step:
    """Stores the firm's name and asks for the national ID."""
    t = context.t
    name = typed(update)
    low, high = NAME_LENGTH
    if not low <= len(name) <= high:
        return await retry(update, context, t("The name should be between {low} and {high} characters.",
                                              low=number(low, context.lang), high=number(high, context.lang)), Step.NAME)
    if only_digits(name) is not None:
        return await retry(update, context, t("That looks like a number. Please type the firm's name."), Step.NAME)
    return await store(update, context, name=name)


async def got_national_id(update: Update, context: KhoosheContext) -> Step:
    """Checks and stores the national ID, then asks for the province."""
    t, lang = context.t, context.lang
    text = typed(update)
    national_id = parse_national_id(text)
    if national_id is None:
        problem = shape_problem(text)
        if problem == "letters":
            message = t("The national ID is made of digits only. Please type its 11 digits.")
        elif problem == "length":
            count = len(only_digits(text, ignore=" -_") or "")
            message = t("The national ID has 11 digits; you typed {count}.", count=number(count, lang))
        else:
            message = t("This national ID is not valid: its check digit does not match. Please check it and type it again.")
        return await retry(update, context, message, Step.NATIONAL_ID)
    user = update.effective_user
    assert user is not None
    async with context.db.read() as repo:
        holder = await repo.firms.by_national_id(national_id)
    if holder is not None and holder.owner_id != user.id:
        return await retry(update, context, t("This national ID is already registered by another account. "
                                              "If it is your firm, please contact your estate office."), Step.NATIONAL_ID)
    return await store(update, context, national_id=national_id)


async def got_province_button(update: Update, context: KhoosheContext) -> Step:
    """Stores the province pressed and asks for the estate."""
    query = update.callback_query
    assert query is not None and query.data is not None
    province_id = cb.REG_PROVINCE.parse_int(query.data)
    async with context.db.read() as repo:
        province = await repo.provinces.get(province_id)
    if province is None:
        await settle_query(update, text=context.t("This button is no longer active."))
        return Step.PROVINCE
    await settle_query(update)
    await close_prompt(update, context.t("Province: <b>{name}</b>", name=esc(province.name(context.lang))))
    return await store(update, context, province_id=province_id)


async def got_province_text(update: Update, context: KhoosheContext) -> Step:
    """Accepts a typed province name when it names exactly one province."""
    needle = typed(update).casefold()
    async with context.db.read() as repo:
        provinces = await repo.provinces.all()
    matches = [p for p in provinces if needle and (needle == p.name_fa or needle == p.name_en.casefold())]
    if not matches and needle:
        matches = [p for p in provinces if needle in p.name_fa or needle in p.name_en.casefold()]
    if len(matches) == 1:
        return await store(update, context, province_id=matches[0].id)
    return await retry(update, context, context.t("Please choose the province with the buttons."), Step.PROVINCE)


async def got_estate_button(update: Update, context: KhoosheContext) -> Step:
    """Stores the estate pressed (it must lie in the chosen province) and asks for the cluster."""
    query = update.callback_query
    assert query is not None and query.data is not None and update.effective_user is not None
    estate_id = cb.REG_ESTATE.parse_int(query.data)
    data = await current_data(context, update.effective_user.id)
    async with context.db.read() as repo:
        estate = await repo.estates.get(estate_id)
    if estate is None or not estate.active or estate.province_id != data.get("province_id"):
        await settle_query(update, text=context.t("This button is no longer active."))
        return Step.ESTATE
    await settle_query(update)
    await close_prompt(update, context.t("Estate: <b>{name}</b>", name=esc(estate.name)))
    return await store(update, context, estate_id=estate_id)


async def estate_page(update: Update, context: KhoosheContext) -> Step:
    """Shows another page of the estate list."""
    query = update.callback_query
    assert query is not None and query.data is not None and update.effective_user is not None
    await settle_query(update)
    data = await current_data(context, update.effective_user.id)
    if "province_id" not in data:
        return await ask(update, context, next_step(data), data)
    await ask_estate(update, context, data, page=cb.REG_ESTATE_PAGE.parse_int(query.data), query=None)
    return Step.ESTATE


async def got_estate_text(update: Update, context: KhoosheContext) -> Step:
    """Filters the estate list by the typed text."""
    assert update.effective_user is not None
    data = await current_data(context, update.effective_user.id)
    text = typed(update)
    await ask_estate(update, context, data, page=0, query=text or None)
    return Step.ESTATE


async def got_cluster(update: Update, context: KhoosheContext) -> Step:
    """Stores the cluster (or none) and asks for the sector."""
    query = update.callback_query
    assert query is not None and query.data is not None and update.effective_user is not None
    cluster_id = cb.REG_CLUSTER.parse_int(query.data) or None
    if cluster_id is not None:
        data = await current_data(context, update.effective_user.id)
        async with context.db.read() as repo:
            cluster = await repo.clusters.get(cluster_id)
        if cluster is None or cluster.province_id != data.get("province_id"):
            await settle_query(update, text=context.t("This button is no longer active."))
            return Step.CLUSTER
        label = cluster.name
    else:
        label = context.t("Not in a cluster")
    await settle_query(update)
    await close_prompt(update, context.t("Cluster: <b>{name}</b>", name=esc(label)))
    return await store(update, context, cluster_id=cluster_id)


async def got_sector(update: Update, context: KhoosheContext) -> Step:
    """Stores the sector and asks for the number of employees."""
    query = update.callback_query
    assert query is not None and query.data is not None
    (code,) = cb.REG_SECTOR.parse(query.data)
    if code not in SECTORS:
        await settle_query(update, text=context.t("This button is no longer active."))
        return Step.SECTOR
    await settle_query(update)
    await close_prompt(update, context.t("Sector: <b>{name}</b>", name=esc(context.t(SECTORS[code]))))
    return await store(update, context, sector=code)


async def got_employees(update: Update, context: KhoosheContext) -> Step:
    """Stores the number of employees and asks for the founding year."""
    t, lang = context.t, context.lang
    digits = only_digits(typed(update), ignore=" ,")
    if digits is None or not 1 <= int(digits) <= MAX_EMPLOYEES:
        return await retry(update, context, t("Please type the number of employees as a whole number between {low} and {high}.",
                                              low=number(1, lang), high=number(MAX_EMPLOYEES, lang)), Step.EMPLOYEES)
    return await store(update, context, employees=int(digits))


async def got_founded(update: Update, context: KhoosheContext) -> Step:
    """Stores the founding year and asks for the phone number."""
    t, lang = context.t, context.lang
    this_year = solar_year(context.now().astimezone(context.settings.zone))
    digits = only_digits(typed(update), ignore=" ")
    if digits is None or not EARLIEST_FOUNDING_YEAR <= int(digits) <= this_year:
        hint = ""
        if digits is not None and 1800 <= int(digits) <= 2100:
            hint = " " + t("That looks like a Gregorian year; please use the Solar Hijri calendar.")
        return await retry(update, context, t("Please type a Solar Hijri year between {low} and {high}.",
                                              low=year(EARLIEST_FOUNDING_YEAR, lang), high=year(this_year, lang)) + hint, Step.FOUNDED)
    return await store(update, context, founded_year=int(digits))


async def got_contact(update: Update, context: KhoosheContext) -> Step:
    """Stores the sender's own phone number and asks about public rankings."""
    message = update.message
    assert message is not None and message.contact is not None and update.effective_user is not None
    if message.contact.user_id != update.effective_user.id:
        return await retry(update, context, context.t("That is someone else's contact. Please share your own number with the button."),
                           Step.PHONE)
    phone = only_digits(message.contact.phone_number, ignore=" -+()") or ""
    phone = "+" + phone
    await say(update, context, context.t("Thank you, your number is saved."), ReplyKeyboardRemove())
    return await store(update, context, phone=phone)


async def got_phone_text(update: Update, context: KhoosheContext) -> Step:
    """Refuses a typed number: only the contact button proves the number is the sender's."""
    return await retry(update, context, context.t("Please use the «Share my phone number» button below instead of typing the number."),
                       Step.PHONE)


async def got_consent(update: Update, context: KhoosheContext) -> Step:
    """Stores the ranking consent and shows the review."""
    query = update.callback_query
    assert query is not None and query.data is not None
    consent = query.data.endswith(":1")
    await settle_query(update)
    await close_prompt(update, context.t("Name in public rankings: <b>{answer}</b>",
                                         answer=context.t("Yes") if consent else context.t("No")))
    return await store(update, context, consent_public=consent)


async def edit_field(update: Update, context: KhoosheContext) -> Step:
    """Asks again for the field chosen on the review screen."""
    query = update.callback_query
    assert query is not None and query.data is not None and update.effective_user is not None
    await settle_query(update)
    (name,) = cb.REG_EDIT.parse(query.data)
    if name not in Step.__members__ or Step[name] is Step.REVIEW:
        return Step.REVIEW
    step = Step[name]
    async with context.db.transaction() as repo:
        draft = await repo.drafts.get(update.effective_user.id)
        data = dict(draft.data) if draft else {}
        await repo.drafts.update(user_id=update.effective_user.id, step=step.name, data=data)
    return await ask(update, context, step, data)


async def confirm(update: Update, context: KhoosheContext) -> Step | int:
    """Saves the firm from the draft and ends the conversation."""
    await settle_query(update)
    user = update.effective_user
    assert user is not None
    t = context.t
    async with context.db.transaction() as repo:
        draft = await repo.drafts.get(user.id)
        data = dict(draft.data) if draft else {}
        missing = next_step(data)
        holder = await repo.firms.by_national_id(data.get("national_id", ""))
        taken = holder is not None and holder.owner_id != user.id
        if missing is Step.REVIEW and not taken:
            await repo.firms.save(owner_id=user.id, fields=data)
            await repo.drafts.delete(user.id)
            editing = bool(draft and draft.editing)
    if taken:
        return await retry(update, context, t("This national ID is already registered by another account. "
                                              "If it is your firm, please contact your estate office."), Step.NATIONAL_ID)
    if missing is not Step.REVIEW:
        return await ask(update, context, missing, data)
    await close_prompt(update, t("✅ Details confirmed."))
    await show_menu(update, context, intro=t("Your firm's profile is updated.") if editing
                    else t("🎉 Your firm is registered. Thank you!"))
    return ConversationHandler.END


async def current_step(context: KhoosheContext, user_id: int) -> tuple[Step, dict[str, Any]]:
    async with context.db.read() as repo:
        draft = await repo.drafts.get(user_id)
    if draft is None:
        return Step.NAME, {}
    return Step[draft.step], dict(draft.data)


async def use_buttons(update: Update, context: KhoosheContext) -> Step:
    """Reminds the owner that this step is answered with the buttons, and asks again."""
    assert update.effective_user is not None
    step, _ = await current_step(context, update.effective_user.id)
    return await retry(update, context, context.t("Please answer with the buttons."), step)


async def resume(update: Update, context: KhoosheContext) -> Step:
    """Asks the current step again: /register or the menu's continue button mid-way, a photo
    or sticker where text was expected, or a button from an older message."""
    assert update.effective_user is not None
    if update.callback_query is not None and (update.callback_query.data or "").startswith(cb.REG_PREFIX + ":"):
        await settle_query(update, text=context.t("This button is no longer active."))
    else:
        await settle_query(update)
    step, data = await current_step(context, update.effective_user.id)
    return await ask(update, context, step, data)


async def switch_language(update: Update, context: KhoosheContext) -> Step:
    """Changes the language without leaving the registration, and asks the step in it."""
    from handlers.common.menu import store_language

    await store_language(update, context)
    return await resume(update, context)


async def show_profile(update: Update, context: KhoosheContext) -> None:
    """Shows the registered firm's profile with an edit button."""
    await settle_query(update)
    user = update.effective_user
    assert user is not None
    t = context.t
    async with context.db.read() as repo:
        firm = await repo.firms.by_owner(user.id)
        if firm is None:
            await show_menu(update, context, intro=t("Your firm is not registered yet."))
            return
        fields = await describe(repo, context, draft_from_firm(firm))
    lines = [t("<b>Your firm's profile</b>"), ""]
    lines += [f"• {t(FIELD_LABELS[step])}: <b>{esc(text)}</b>" for step, text in fields]
    await say(update, context, "\n".join(lines), keyboard(
        [button(t("✏️ Edit the profile"), cb.REGISTER.build())], [button(t("🏠 Menu"), cb.MENU.build())]
    ))


def register(app: KhoosheApp) -> None:
    text = filters.TEXT & ~filters.COMMAND
    buttons_only: list[BaseHandler[Update, KhoosheContext, object]] = [MessageHandler(text, use_buttons)]
    conversation = ConversationHandler(
        entry_points=[
            CommandHandler("register", begin),
            CallbackQueryHandler(begin, pattern=cb.REGISTER.pattern),
        ],
        states={
            Step.NAME: [MessageHandler(text, got_name)],
            Step.NATIONAL_ID: [MessageHandler(text, got_national_id)],
            Step.PROVINCE: [CallbackQueryHandler(got_province_button, pattern=cb.REG_PROVINCE.pattern),
                            MessageHandler(text, got_province_text)],
            Step.ESTATE: [CallbackQueryHandler(got_estate_button, pattern=cb.REG_ESTATE.pattern),
                          CallbackQueryHandler(estate_page, pattern=cb.REG_ESTATE_PAGE.pattern),
                          CallbackQueryHandler(edit_field, pattern=cb.REG_EDIT_PROVINCE.pattern),
                          MessageHandler(text, got_estate_text)],
            Step.CLUSTER: [CallbackQueryHandler(got_cluster, pattern=cb.REG_CLUSTER.pattern), *buttons_only],
            Step.SECTOR: [CallbackQueryHandler(got_sector, pattern=cb.REG_SECTOR.pattern), *buttons_only],
            Step.EMPLOYEES: [MessageHandler(text, got_employees)],
            Step.FOUNDED: [MessageHandler(text, got_founded)],
            Step.PHONE: [MessageHandler(filters.CONTACT, got_contact), MessageHandler(text, got_phone_text)],
            Step.CONSENT: [CallbackQueryHandler(got_consent, pattern=cb.REG_CONSENT.pattern), *buttons_only],
            Step.REVIEW: [CallbackQueryHandler(edit_field, pattern=cb.REG_EDIT.pattern),
                          CallbackQueryHandler(confirm, pattern=cb.REG_CONFIRM.pattern), *buttons_only],
        },
        fallbacks=[
            CommandHandler(["cancel", "start", "menu"], leave),
            CommandHandler("register", resume),
            CallbackQueryHandler(resume, pattern=f"{cb.REGISTER.pattern}|{cb.starts_with(cb.REG_PREFIX)}"),
            CallbackQueryHandler(switch_language, pattern=cb.LANGUAGE.pattern),
            CallbackQueryHandler(leave, pattern=cb.starts_with(cb.MENU_PREFIX)),
            MessageHandler(~filters.COMMAND & ~filters.TEXT, resume),
        ],
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
