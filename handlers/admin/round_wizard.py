"""The guided /newround and /editround: one question per message, buttons wherever the value is
a choice, dates typed as Solar Hijri (echoed back with their weekday) or picked from a small date
keyboard, and a last screen with every value to confirm.

With arguments both commands keep their one-line forms (``handlers.admin.rounds``), which stay
as shortcuts for experts. The values live in ``user_data.round_wizard`` until the confirmation;
the confirm button is the one-line forms' own (a one-time token, ``rounds.confirm``), so the
guided and the typed paths create and change rounds through the same call of the round service.
"""

from __future__ import annotations

import secrets
from datetime import datetime, time
from enum import IntEnum
from typing import Any

from telegram import InlineKeyboardButton, Update
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
from bot.domain.calendar import BadDate
from bot.domain.questionnaire import available_versions, load_questionnaire
from bot.domain.text import number
from bot.i18n import N_
from bot.services.rounds import RoundRefused, check_year
from handlers.admin import rounds
from handlers.common.dates import CLOSING_DAYS, OPENING_DAYS, day_after, day_buttons, read_moment, weekday_moment
from handlers.common.ui import button, close_prompt, esc, keyboard, rows, say, settle_query
from storage.models import Round

admin_only = rounds.admin_only

OPENS_AT = time(8, 0)
CLOSES_AT = time(23, 59)
TITLE_MAX = 100


class Step(IntEnum):
    TITLE = 1
    OPENS = 2
    CLOSES = 3
    VERSION = 4
    WEIGHTS = 5
    CONFIRM = 6
    PICK_ROUND = 7
    PICK_FIELD = 8


FIELD_LABELS = {
    "title": N_("📝 Title"), "opens": N_("📅 Opening date"), "closes": N_("📅 Closing date"),
    "weights": N_("⚖️ Weights"),
}
STATE_LABELS = {"scheduled": N_("scheduled"), "open": N_("open")}
BAD_DATE = N_("Expected a Solar Hijri date such as 1405/09/15, optionally with a time such as 08:00; "
              "or a button above.")


def draft_of(context: KhoosheContext) -> dict[str, Any]:
    draft = context.user_data.round_wizard
    if draft is None:
        draft = context.user_data.round_wizard = {"mode": "new"}
    return draft


def moment(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def leave_row(context: KhoosheContext) -> list[InlineKeyboardButton]:
    return [button(context.t("❌ Cancel"), cb.RW_LEAVE.build())]


def step_of(context: KhoosheContext, n: int) -> str:
    """«Step 2 of 5» for a new round; an edit has no numbered steps."""
    if draft_of(context)["mode"] != "new":
        return ""
    return context.t("Step {n} of {total}", n=number(n, context.lang), total=number(5, context.lang)) + " — "


def typed_text(update: Update) -> str:
    return (update.message.text or "").strip() if update.message else ""


# --- starting ------------------------------------------------------------------------------------

@admin_only
async def begin_new(update: Update, context: KhoosheContext) -> Step | int:
    """/newround alone asks for the title; with arguments it is the one-line form."""
    if context.args:
        await rounds.new_round(update, context)
        return ConversationHandler.END
    await settle_query(update)  # the button under /rounds
    context.user_data.round_wizard = {"mode": "new"}
    return await ask_title(update, context)


async def ask_title(update: Update, context: KhoosheContext) -> Step:
    t = context.t
    draft = draft_of(context)
    if draft["mode"] == "new":
        text = "\n\n".join([
            t("🆕 New round. Answer one question at a time; /cancel stops at any step."),
            step_of(context, 1) + t("What is the new round's title? For example: Winter self-assessment 1405"),
            t("Experts can also type it all at once: /newround title | opens | closes | weights"),
        ])
    else:
        current: Round = draft["current"]
        text = t("Send the new title (now «{title}»).", title=esc(current.title))
    await say(update, context, text, keyboard(leave_row(context)))
    return Step.TITLE


@admin_only
async def got_title(update: Update, context: KhoosheContext) -> Step:
    title = typed_text(update)
    if not title or len(title) > TITLE_MAX:
        await say(update, context, context.t("Expected a title of at most {n} characters.",
                                             n=number(TITLE_MAX, context.lang)))
        return Step.TITLE
    draft = draft_of(context)
    draft["title"] = title
    if draft["mode"] == "edit":
        return await ask_confirm(update, context)
    return await ask_opens(update, context)


# --- dates ---------------------------------------------------------------------------------------

async def ask_opens(update: Update, context: KhoosheContext) -> Step:
    t, zone = context.t, context.settings.zone
    draft = draft_of(context)
    buttons = day_buttons(t, zone, context.now(), OPENING_DAYS, OPENS_AT, cb.RW_DATE.build)
    if draft["mode"] == "new":
        buttons.insert(0, [button(t("▶️ Now, as soon as it is created"), cb.RW_DATE.build("now"))])
    buttons.append(leave_row(context))
    await say(update, context, step_of(context, 2) + t(
        "When does it open? Choose a day (it opens at 08:00 Tehran time), or type a Solar Hijri date "
        "such as 1405/09/15 or 1405/09/15 10:00."), keyboard(*buttons))
    return Step.OPENS


def base_of_closing(context: KhoosheContext) -> datetime:
    """The day the closing keyboard counts from: the (new) opening, else now."""
    return moment(draft_of(context).get("opens")) or context.now()


async def ask_closes(update: Update, context: KhoosheContext) -> Step:
    t, zone = context.t, context.settings.zone
    buttons = day_buttons(t, zone, base_of_closing(context), CLOSING_DAYS, CLOSES_AT, cb.RW_DATE.build)
    buttons.append(leave_row(context))
    await say(update, context, step_of(context, 3) + t(
        "When does it close? Choose how long after the opening (it closes at 23:59 Tehran time), or "
        "type a Solar Hijri date such as 1405/10/15 or 1405/10/15 20:00."), keyboard(*buttons))
    return Step.CLOSES


def which_date(step: Step) -> str:
    return "opens" if step is Step.OPENS else "closes"


async def echo_typed(update: Update, context: KhoosheContext, step: Step) -> Step:
    """Reads a typed date, echoes it back with its weekday and asks to confirm it."""
    t, zone = context.t, context.settings.zone
    try:
        when = read_moment(typed_text(update), zone, default=OPENS_AT if step is Step.OPENS else CLOSES_AT)
        check_year(when, zone)
    except BadDate:
        await say(update, context, t(BAD_DATE))
        return step
    except RoundRefused as exc:
        await rounds.refused(update, context, exc)
        return step
    problem = await check_date(context, step, when)
    if problem is not None:
        await say(update, context, problem)
        return step
    draft_of(context)["typed"] = when.isoformat()
    await say(update, context, t("«{when}» — is that right?", when=weekday_moment(when, t, zone)),
              keyboard([button(t("✅ Yes"), cb.RW_DATE.build("ok")), button(t("✏️ Another date"), cb.RW_DATE.build("re"))],
                       leave_row(context)))
    return step


@admin_only
async def typed_opens(update: Update, context: KhoosheContext) -> Step:
    return await echo_typed(update, context, Step.OPENS)


@admin_only
async def typed_closes(update: Update, context: KhoosheContext) -> Step:
    return await echo_typed(update, context, Step.CLOSES)


@admin_only
async def picked_opens(update: Update, context: KhoosheContext) -> Step:
    return await picked_date(update, context, Step.OPENS)


@admin_only
async def picked_closes(update: Update, context: KhoosheContext) -> Step:
    return await picked_date(update, context, Step.CLOSES)


async def picked_date(update: Update, context: KhoosheContext, step: Step) -> Step:
    """A day from the keyboard, «now», or the typed date confirmed (or to be typed again)."""
    query = update.callback_query
    assert query is not None
    t, zone = context.t, context.settings.zone
    draft = draft_of(context)
    (choice,) = cb.RW_DATE.parse(query.data)
    await settle_query(update)
    if choice == "re":
        draft.pop("typed", None)
        await close_prompt(update, t("Type another date, or choose one of the days above."))
        return step
    when: datetime | None
    if choice == "ok":
        when = moment(draft.pop("typed", None))
        if when is None:
            await close_prompt(update, t("This button is no longer active."))
            return step
    elif choice == "now":
        if step is not Step.OPENS or draft["mode"] != "new":
            return step
        when = None
    else:
        base = context.now() if step is Step.OPENS else base_of_closing(context)
        when = day_after(base, int(choice), OPENS_AT if step is Step.OPENS else CLOSES_AT, zone)
    problem = await check_date(context, step, when)
    if problem is not None:
        await say(update, context, problem)
        return step
    draft[which_date(step)] = when.isoformat() if when else None
    await close_prompt(update, t("Opens: {when}", when=shown(context, when)) if step is Step.OPENS
                       else t("Closes: {when}", when=shown(context, when)))
    if draft["mode"] == "edit":
        return await ask_confirm(update, context)
    if step is Step.OPENS:
        return await ask_closes(update, context)
    return await ask_version(update, context)


def shown(context: KhoosheContext, when: datetime | None) -> str:
    if when is None:
        return context.t("now, as soon as you confirm")
    return weekday_moment(when, context.t, context.settings.zone)


async def check_date(context: KhoosheContext, step: Step, when: datetime | None) -> str | None:
    """What is wrong with this opening or closing (one short line), or None."""
    t, now = context.t, context.now()
    draft = draft_of(context)
    if step is Step.OPENS and when is not None and when < now:
        return t("That moment has already passed; choose a later day.") if draft["mode"] == "edit" else \
            t("That moment has already passed; choose «Now» or a later day.")
    if step is Step.OPENS and draft["mode"] == "new":
        return None  # the closing step checks the span
    current = draft.get("current")
    opens = when if step is Step.OPENS else moment(draft.get("opens"))
    closes = when if step is Step.CLOSES else None
    if current is not None:  # an edit: the other date is the round's own
        opens = opens or current.opens_at
        closes = closes or current.closes_at
    assert closes is not None
    try:
        await context.services.rounds.validate(opens=opens or now, closes=closes,
                                               besides=current.id if current else None)
    except RoundRefused as exc:
        return esc(exc.render(context.lang, context.settings.zone))
    return None


# --- the questionnaire version and the weights -------------------------------------------------

async def ask_version(update: Update, context: KhoosheContext) -> Step:
    t, lang = context.t, context.lang
    versions = sorted(available_versions(), reverse=True)
    buttons = [button(t("Version {version} (the newest)", version=number(v, lang)) if v == versions[0]
                      else t("Version {version}", version=number(v, lang)), cb.RW_VERSION.build(v)) for v in versions]
    await say(update, context, step_of(context, 4) + t("Which questionnaire version should firms answer?"),
              keyboard(*rows(buttons, 2), leave_row(context)))
    return Step.VERSION


@admin_only
async def picked_version(update: Update, context: KhoosheContext) -> Step:
    query = update.callback_query
    assert query is not None
    version = cb.RW_VERSION.parse_int(query.data)
    await settle_query(update)
    if version not in available_versions():
        return Step.VERSION
    draft_of(context)["version"] = version
    await close_prompt(update, context.t("Questionnaire: version {version}", version=number(version, context.lang)))
    return await ask_weights(update, context)


def dimension_names(context: KhoosheContext, version: int) -> list[str]:
    return [d.title(context.lang) for d in load_questionnaire(version).scored_dimensions]


def version_of(context: KhoosheContext) -> int:
    draft = draft_of(context)
    current: Round | None = draft.get("current")
    return int(draft.get("version") or (current.questionnaire_version if current else max(available_versions())))


def listing(context: KhoosheContext, names: list[str]) -> str:
    return ("\u060c " if context.lang == "fa" else ", ").join(names)


async def ask_weights(update: Update, context: KhoosheContext) -> Step:
    t = context.t
    names = dimension_names(context, version_of(context))
    await say(update, context, step_of(context, 5) + t(
        "How much does each part weigh in the total score? Equal weights are the usual choice; or type "
        "{n} numbers in this order: {names}. For example: {example}",
        n=number(len(names), context.lang), names=listing(context, names),
        example=" ".join(number(v, context.lang) for v in [2] + [1] * (len(names) - 1))),
        keyboard([button(t("⚖️ Equal weights"), cb.RW_WEIGHTS.build("eq"))], leave_row(context)))
    return Step.WEIGHTS


@admin_only
async def equal_weights(update: Update, context: KhoosheContext) -> Step:
    await settle_query(update)
    draft = draft_of(context)
    draft["weights"] = None
    draft["equal"] = True
    await close_prompt(update, context.t("Weights: equal"))
    return await ask_confirm(update, context)


@admin_only
async def typed_weights(update: Update, context: KhoosheContext) -> Step:
    version = version_of(context)
    try:
        weights = rounds.parse_weights(typed_text(update), version)
    except ValueError:
        names = dimension_names(context, version)
        await say(update, context, context.t(
            "Expected {n} numbers, not negative and not all zero, in this order: {names}.",
            n=number(len(names), context.lang), names=listing(context, names)))
        return Step.WEIGHTS
    draft = draft_of(context)
    draft["weights"] = weights
    draft["equal"] = False
    return await ask_confirm(update, context)


def weights_text(context: KhoosheContext, weights: dict[str, float] | None, version: int) -> str:
    if not weights:
        return context.t("equal")
    dims = load_questionnaire(version).scored_dimensions
    return ("\u060c " if context.lang == "fa" else ", ").join(
        f"{d.title(context.lang)} {number(weights.get(d.id, 0), context.lang, decimals=2)}" for d in dims)


# --- the confirmation ----------------------------------------------------------------------------

async def ask_confirm(update: Update, context: KhoosheContext) -> Step:
    """Shows every value with «Create» (or «Save») and «Cancel»; the button is the one-line
    forms' confirmation, so it runs once, for this admin only."""
    t, lang = context.t, context.lang
    draft = draft_of(context)
    token = secrets.token_urlsafe(12)
    draft["token"] = token
    if draft["mode"] == "new":
        version = version_of(context)
        opens = moment(draft.get("opens"))
        closes = moment(draft["closes"])
        assert closes is not None
        lines = [t("Please check the new round:"), "",
                 t("Title: {title}", title=esc(draft["title"])),
                 t("Opens: {when}", when=shown(context, opens)),
                 t("Closes: {when}", when=shown(context, closes)),
                 t("Questionnaire: version {version}", version=number(version, lang)),
                 t("Weights: {weights}", weights=weights_text(context, draft.get("weights"), version))]
        if opens is None:
            lines += ["", t("It opens at once and every firm is told.")]
        context.user_data.round_action = {
            "token": token, "action": "create", "title": draft["title"],
            "opens": (opens or context.now()).isoformat(), "closes": closes.isoformat(),
            "weights": draft.get("weights"), "version": version, "start_now": opens is None,
        }
        label = t("✅ Create the round")
    else:
        current: Round = draft["current"]
        field = draft["field"]
        before, after = described_field(context, current, field, draft)
        lines = [t("Change the {field} of round #{id} «{title}»?", field=t(FIELD_NAMES[field]),
                   id=number(current.id, lang), title=esc(current.title)), "",
                 t("Now: {value}", value=before), t("New: {value}", value=after)]
        pending: dict[str, Any] = {"token": token, "action": "change", "round_id": current.id}
        if field == "weights":
            pending["weights"] = draft.get("weights") or {
                d.id: 1.0 for d in load_questionnaire(current.questionnaire_version).scored_dimensions}
        else:
            pending[field] = draft[field]
        context.user_data.round_action = pending
        label = t("✅ Save")
    await say(update, context, "\n".join(lines),
              keyboard([button(label, cb.ROUND_CONFIRM.build(token)), button(t("❌ Cancel"), cb.ROUND_DISMISS.build(token))]))
    return Step.CONFIRM


FIELD_NAMES = {"title": N_("title"), "opens": N_("opening date"), "closes": N_("closing date"), "weights": N_("weights")}


def described_field(context: KhoosheContext, r: Round, field: str, draft: dict[str, Any]) -> tuple[str, str]:
    if field == "title":
        return esc(r.title), esc(draft["title"])
    if field in ("opens", "closes"):
        old = r.opens_at if field == "opens" else r.closes_at
        return shown(context, old), shown(context, moment(draft[field]))
    return (weights_text(context, r.weights, r.questionnaire_version),
            weights_text(context, draft.get("weights"), r.questionnaire_version))


@admin_only
async def confirmed(update: Update, context: KhoosheContext) -> int:
    """«Create»/«Save» or «Cancel» on the last screen: the one-line forms' confirmation runs it."""
    context.user_data.round_wizard = None
    await rounds.confirm(update, context)
    return ConversationHandler.END


# --- editing -------------------------------------------------------------------------------------

@admin_only
async def begin_edit(update: Update, context: KhoosheContext) -> Step | int:
    """/editround alone offers the rounds that can be edited; with arguments it is the one-line form."""
    t, lang = context.t, context.lang
    if context.args:
        await rounds.edit_round(update, context)
        return ConversationHandler.END
    await settle_query(update)  # the button under /rounds
    editable = await context.services.rounds.editable()
    if not editable:
        context.user_data.round_wizard = None
        await say(update, context, t("No round can be edited now: only a round that has not closed can. "
                                     "Create one with /newround."))
        return ConversationHandler.END
    context.user_data.round_wizard = {"mode": "edit"}
    buttons = [[button(t("#{id} «{title}» — {state}", id=number(r.id, lang), title=r.title, state=t(STATE_LABELS[r.state])),
                       cb.RW_ROUND.build(r.id))] for r in editable[:20]]
    await say(update, context, t("✏️ Which round do you want to change?"), keyboard(*buttons, leave_row(context)))
    return Step.PICK_ROUND


@admin_only
async def picked_round(update: Update, context: KhoosheContext) -> Step:
    query = update.callback_query
    assert query is not None
    t, lang = context.t, context.lang
    await settle_query(update)
    try:
        found = await context.services.rounds.get(cb.RW_ROUND.parse_int(query.data))
    except RoundRefused as exc:
        await close_prompt(update, esc(exc.render(lang, context.settings.zone)))
        return Step.PICK_ROUND
    if found.state not in STATE_LABELS:
        await say(update, context, t("Round #{id} has closed and can no longer be changed.", id=number(found.id, lang)))
        return Step.PICK_ROUND
    draft_of(context)["current"] = found
    fields = ["title"] if found.state == "open" else list(FIELD_LABELS)
    text = t("Round #{id} «{title}». What do you want to change?", id=number(found.id, lang), title=esc(found.title))
    if found.state == "open":
        text += "\n" + t("It is open, so only its title can change; /extend moves its closing date.")
    await close_prompt(update, text)
    await say(update, context, rounds.describe_round(found, context),
              keyboard(*rows([button(t(FIELD_LABELS[f]), cb.RW_FIELD.build(f)) for f in fields], 2), leave_row(context)))
    return Step.PICK_FIELD


@admin_only
async def picked_field(update: Update, context: KhoosheContext) -> Step:
    query = update.callback_query
    assert query is not None
    (field,) = cb.RW_FIELD.parse(query.data)
    await settle_query(update)
    draft = draft_of(context)
    current: Round | None = draft.get("current")
    if current is None or (current.state == "open" and field != "title"):
        return Step.PICK_FIELD
    draft["field"] = field
    await close_prompt(update, context.t("Changing: {field}", field=context.t(FIELD_LABELS[field])))
    if field == "title":
        return await ask_title(update, context)
    if field == "opens":
        return await ask_opens(update, context)
    if field == "closes":
        return await ask_closes(update, context)
    return await ask_weights(update, context)


# --- leaving and wrong input ------------------------------------------------------------------

async def leave(update: Update, context: KhoosheContext) -> int:
    """/cancel (or /start, /menu, «Cancel») at any step: nothing is created or changed."""
    draft = context.user_data.round_wizard
    pending = context.user_data.round_action
    if draft and pending and pending.get("token") == draft.get("token"):
        context.user_data.round_action = None
    context.user_data.round_wizard = None
    await settle_query(update)
    text = context.t("Stopped; no round was created or changed.")
    if update.callback_query is not None:
        await close_prompt(update, text)
    else:
        await say(update, context, text)
    return ConversationHandler.END


async def use_buttons(update: Update, context: KhoosheContext) -> None:
    """Text where only a button will do: one short line; the step stays."""
    await say(update, context, context.t("Please choose with the buttons above, or /cancel to stop."))


async def not_text(update: Update, context: KhoosheContext) -> None:
    """A photo, sticker, file… in a step: one short line; the step stays."""
    await say(update, context, context.t("Please answer with text or the buttons above, or /cancel to stop."))


async def stale(update: Update, context: KhoosheContext) -> None:
    """A button of an earlier step: answered, nothing changes."""
    await settle_query(update, text=context.t("This button is no longer active."))


def register(app: KhoosheApp) -> None:
    typed = filters.TEXT & ~filters.COMMAND
    leave_button: BaseHandler[Update, KhoosheContext, object] = CallbackQueryHandler(leave, pattern=cb.RW_LEAVE.pattern)
    buttons_only: BaseHandler[Update, KhoosheContext, object] = MessageHandler(typed, use_buttons)
    app.add_handler(ConversationHandler(
        entry_points=[CommandHandler("newround", begin_new), CommandHandler("editround", begin_edit),
                      CallbackQueryHandler(begin_new, pattern=cb.RW_START.pattern_of("new")),
                      CallbackQueryHandler(begin_edit, pattern=cb.RW_START.pattern_of("edit"))],
        states={
            Step.TITLE: [MessageHandler(typed, got_title)],
            Step.OPENS: [CallbackQueryHandler(picked_opens, pattern=cb.RW_DATE.pattern), MessageHandler(typed, typed_opens)],
            Step.CLOSES: [CallbackQueryHandler(picked_closes, pattern=cb.RW_DATE.pattern), MessageHandler(typed, typed_closes)],
            Step.VERSION: [CallbackQueryHandler(picked_version, pattern=cb.RW_VERSION.pattern), buttons_only],
            Step.WEIGHTS: [CallbackQueryHandler(equal_weights, pattern=cb.RW_WEIGHTS.pattern),
                           MessageHandler(typed, typed_weights)],
            Step.CONFIRM: [CallbackQueryHandler(confirmed, pattern=cb.ROUND_CHOICE.pattern), buttons_only],
            Step.PICK_ROUND: [CallbackQueryHandler(picked_round, pattern=cb.RW_ROUND.pattern), buttons_only],
            Step.PICK_FIELD: [CallbackQueryHandler(picked_field, pattern=cb.RW_FIELD.pattern), buttons_only],
        },
        fallbacks=[
            CommandHandler(["cancel", "start", "menu"], leave),
            leave_button,
            CallbackQueryHandler(leave, pattern=cb.starts_with(cb.MENU_PREFIX)),
            CallbackQueryHandler(stale, pattern=cb.starts_with(cb.RW_PREFIX)),
            MessageHandler(~filters.COMMAND & ~filters.TEXT, not_text),
        ],
        # One conversation per admin and chat, whichever message a button is on: the steps mix
        # typed text and buttons.
        per_message=False,
        allow_reentry=True,
        name="round_wizard",
        # Its position is written down with the flow (bot.flows), so a restart resumes it.
        persistent=True,
    ))
