"""The self-assessment: one question per message, saved the moment it is answered.

The handlers parse the buttons and the typed text and render the screens; what is stored and
where the owner goes next is decided by ``context.services.assessment``
(``bot.services.assessment.AssessmentService``), which commits each answer together with the
next cursor before the next question is shown.
"""

from __future__ import annotations

import logging
from enum import IntEnum
from typing import Any

from telegram import Message, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.context import KhoosheApp, KhoosheContext
from bot.domain import callbacks as cb
from bot.domain.calendar import format_long_date
from bot.domain.questionnaire import NONE_OPTION, Question
from bot.domain.questionnaire.answers import MSG_BUTTONS, InvalidAnswer, display
from bot.domain.scoring import SubmissionScore
from bot.domain.text import localize_digits, number, year
from bot.persistence import ASSESSMENT
from bot.services import assessment
from bot.services.assessment import REVIEW, Sitting
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
)
from storage.models import Round

REVIEW_LINE_LIMIT = 48

log = logging.getLogger(__name__)


class Stage(IntEnum):
    ANSWERING = 1
    REVIEWING = 2


def state_of(cursor: str | None) -> Stage:
    """Maps a stored cursor back to the conversation state (used on restart)."""
    return Stage.REVIEWING if cursor == REVIEW else Stage.ANSWERING


def data(sitting: Sitting, qid: str, op: str) -> str:
    """The callback data of a button of ``qid`` (or the review) in this sitting."""
    return cb.QUESTION.build(sitting.submission.id, qid, op)


async def load(context: KhoosheContext, user_id: int) -> Sitting | None:
    return await context.services.assessment.load(user_id)


# --- showing -------------------------------------------------------------------------------------


def fiscal_year(context: KhoosheContext, sitting: Sitting) -> str:
    return year(assessment.reference_year(sitting.round), context.lang)


async def show(
    update: Update, context: KhoosheContext, sitting: Sitting, cursor: str, *,
    replace: bool = False, note: str | None = None, offer_previous: bool = False, help_open: bool = False,
) -> Stage:
    """Shows the question at ``cursor`` (or the review) and returns the matching state.

    ``replace`` turns the pressed message itself into the next screen: one call instead of
    closing the old prompt and sending a new one, and a tidier chat on a phone.
    """
    if cursor == REVIEW:
        await show_review(update, context, sitting, replace=replace, note=note)
        return Stage.REVIEWING
    question = sitting.question(cursor)
    assert question is not None
    await show_question(update, context, sitting, question, replace=replace, note=note,
                        offer_previous=offer_previous, help_open=help_open)
    return Stage.ANSWERING


async def post(update: Update, context: KhoosheContext, text: str, markup: Any, *, replace: bool) -> None:
    """Edits the pressed message into ``text`` when asked to, otherwise sends a new one and
    takes the buttons off the screen it supersedes."""
    query = update.callback_query
    if replace and query is not None and isinstance(query.message, Message):
        try:
            await query.message.edit_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)
            # An older screen pressed (after a restart, say) is now the current one: the copy
            # that was current loses its buttons, so one live keyboard stays.
            await retire_screen(update, context, keep=query.message.message_id)
            context.user_data.screen = query.message.message_id
            return
        except BadRequest as exc:
            if "not modified" in str(exc).lower():
                return
            if "message to edit not found" not in str(exc).lower():
                raise
    sent = await say(update, context, text, markup)
    await retire_screen(update, context, keep=sent.message_id)
    context.user_data.screen = sent.message_id


async def retire_screen(update: Update, context: KhoosheContext, *, keep: int | None = None) -> None:
    """Removes the buttons of the previous assessment screen (a typed answer leaves it above the
    next question); best effort: an old message that cannot be edited keeps them, and a press
    on it is answered as stale."""
    old, chat = context.user_data.screen, update.effective_chat
    if old is None or old == keep or chat is None:
        return
    context.user_data.screen = None
    try:
        await context.bot.edit_message_reply_markup(chat.id, old, reply_markup=None)
    except TelegramError as exc:
        log.info("could not take the buttons off an old screen: %s", exc)


async def show_question(
    update: Update, context: KhoosheContext, sitting: Sitting, q: Question, *,
    replace: bool = False, note: str | None = None, offer_previous: bool = False, help_open: bool = False,
) -> None:
    """One question with its buttons; ``offer_previous`` adds the button that fills the draft
    with the firm's answers to its last round (on the first screen of a repeat assessment);
    ``help_open`` shows the question's help inside the message (its button then hides it)."""
    t, lang = context.t, context.lang
    position = [x.id for x in sitting.questions].index(q.id) + 1
    dimension = assessment.questionnaire_of(sitting.round).dimension(q.dimension).title(lang)
    lines = [note, ""] if note else []
    lines += [
        t("Question {n} of {total}", n=number(position, lang), total=number(len(sitting.questions), lang))
        + f" · {esc(dimension)}",
        "",
        f"<b>{esc(localize_digits(q.prompt(lang, fiscal_year=fiscal_year(context, sitting)), lang))}</b>",
    ]
    if help_open and q.help is not None:
        lines += ["", "❓ <i>" + esc(localize_digits(q.help_text(lang) or "", lang)) + "</i>"]
    answer = sitting.answers.get(q.id)
    if q.id in sitting.answers and answer is not None:
        lines += ["", t("Current answer: {answer}", answer=esc(localize_digits(display(q, answer, lang), lang)))]
    buttons: list[list[Any]] = []
    if q.type == "multi":
        pending = sitting.submission.pending
        ticked = pending["value"] if pending and pending.get("qid") == q.id else (answer or [])
        opts = [button(("✅ " if o.id in ticked else "▫️ ") + o.label(lang), data(sitting, q.id, f"t.{o.id}")) for o in q.options]
        buttons += rows(opts, 1)
        buttons.append([button(t("Done ✔️"), data(sitting, q.id, "done"))])
        lines += ["", t("Tick all that apply, then press Done.")]
    elif q.type in ("yesno", "single", "ladder"):
        opts = [button(o.label(lang), data(sitting, q.id, f"o.{o.id}")) for o in q.options]
        buttons += rows(opts, 2 if q.type == "yesno" else 1)
    elif q.type == "year_or_none":
        buttons.append([button(q.option(NONE_OPTION).label(lang), data(sitting, q.id, f"o.{NONE_OPTION}"))])
    elif q.type == "text" and not q.required:
        buttons.append([button(t("Skip ⏭"), data(sitting, q.id, "skip"))])
    nav = []
    if assessment.before(sitting.questions, q.id) is not None:
        nav.append(button(t("◀️ Back"), data(sitting, q.id, "back")))
    if q.help is not None and help_open:
        nav.append(button(t("❓ Hide help"), data(sitting, q.id, "nohelp")))
    elif q.help is not None:
        nav.append(button(t("❓ Help"), data(sitting, q.id, "help")))
    buttons.append(nav)
    if offer_previous:
        buttons.append([button(t("📋 Same answers as last round"), data(sitting, q.id, "prev"))])
    await post(update, context, "\n".join(lines), keyboard(*buttons), replace=replace)


async def show_review(
    update: Update, context: KhoosheContext, sitting: Sitting, *, replace: bool = False,
    note: str | None = None,
) -> None:
    """Lists every answer with an edit button per question, and the submit button."""
    t, lang = context.t, context.lang
    lines = [note, ""] if note else []
    lines += [t("<b>Please review your answers</b>"), ""]
    edits = []
    for n, q in enumerate(sitting.questions, start=1):
        prompt = q.prompt(lang, fiscal_year=fiscal_year(context, sitting))
        if len(prompt) > REVIEW_LINE_LIMIT:
            prompt = prompt[: REVIEW_LINE_LIMIT - 1].rstrip() + "…"
        value = sitting.answers.get(q.id)
        shown = display(q, value, lang, limit=40) if value is not None else (
            t("(skipped)") if q.id in sitting.answers else t("(not answered)"))
        # Digits first, escaping second: escaping makes entities like &#x27; whose digits
        # must stay Latin.
        lines.append(f"{number(n, lang)}. {esc(localize_digits(prompt, lang))}\n    <b>{esc(localize_digits(shown, lang))}</b>")
        edits.append(button(t("✏️ {n}", n=number(n, lang)), data(sitting, q.id, "edit")))
    lines += ["", t("Tap a number to change that answer, or submit.")]
    await post(update, context, "\n".join(lines), keyboard(
        *rows(edits, 6),
        [button(t("◀️ Back"), data(sitting, REVIEW, "back")), button(t("✅ Submit"), data(sitting, REVIEW, "submit"))],
    ), replace=replace)


async def show_scores(
    update: Update, context: KhoosheContext, round_: Round, result: SubmissionScore, *, changeable: bool = False,
) -> None:
    """Shows the provisional dimension scores and the composite; ``changeable`` adds the button
    that reopens the answers while the round is open."""
    t, lang = context.t, context.lang
    questionnaire = assessment.questionnaire_of(round_)
    lines = [t("<b>Your provisional scores</b> (out of 100)"), ""]
    for dimension in questionnaire.scored_dimensions:
        if dimension.id in result.dimensions:
            lines.append(f"• {esc(dimension.title(lang))}: <b>{number(result.dimensions[dimension.id], lang)}</b>")
    if result.composite is not None:
        lines += ["", t("Overall score: <b>{score}</b>", score=number(result.composite, lang))]
    lines += ["", t("Ranks among your peers are published after the round closes.")]
    markup = None
    if changeable:
        lines.append(t("You can change your answers until {date}.",
                       date=format_long_date(round_.closes_at, lang, context.settings.zone)))
        markup = keyboard([button(t("✏️ Change my answers"), cb.ASSESS_REOPEN.build())])
    await say(update, context, "\n".join(lines), markup)


# --- moving ----------------------------------------------------------------------------------------


async def begin(update: Update, context: KhoosheContext) -> Stage | int:
    """Starts or resumes the assessment at the first unanswered question."""
    await settle_query(update)
    t = context.t
    user = update.effective_user
    assert user is not None
    begun = await context.services.assessment.begin(user.id)
    if begun.outcome == "unregistered":
        await show_menu(update, context, intro=t("Please register your firm first."))
        return ConversationHandler.END
    if begun.outcome == "closed":
        await show_menu(update, context)
        return ConversationHandler.END
    if begun.outcome == "submitted":
        assert begun.round is not None and begun.scores is not None
        await show_scores(update, context, begun.round, begun.scores, changeable=True)
        return ConversationHandler.END
    sitting = begun.sitting
    assert sitting is not None and begun.round is not None
    if begun.outcome == "new" and begun.previous is not None:
        await say(update, context, t(
            "<b>{title}</b>\n{count} questions. You answered «{previous}»: press «📋 Same answers as "
            "last round» to start from those answers and change only what is different.",
            title=esc(begun.round.title), count=number(len(sitting.questions), context.lang),
            previous=esc(begun.previous.title)))
        return await show(update, context, sitting, begun.cursor, offer_previous=True)
    if begun.outcome == "new":
        await say(update, context, t("<b>{title}</b>\n{count} questions, about five minutes. "
                                     "Every answer is saved as you go: you can leave and come back at any time.",
                                     title=esc(begun.round.title), count=number(len(sitting.questions), context.lang)))
    else:
        await say(update, context, t("Welcome back! You have answered {done} of {total}. Let's continue.",
                                     done=number(begun.answered, context.lang), total=number(begun.total, context.lang)))
    return await show(update, context, sitting, begun.cursor)


async def reopen(update: Update, context: KhoosheContext) -> Stage | int:
    """Reopens the submitted answers on the review screen, to change some while the round is
    open; they stand as submitted unless a change leaves them incomplete."""
    await settle_query(update)
    user = update.effective_user
    assert user is not None
    sitting = await context.services.assessment.reopen(user.id)
    if sitting is None:
        await show_menu(update, context, intro=context.t("These answers can no longer be changed."))
        return ConversationHandler.END
    note = context.t(
        "✏️ Your answers are open for changes until {date}. Change what you need with ✏️, then submit "
        "again; if you change nothing, your submitted answers stand.",
        date=format_long_date(sitting.round.closes_at, context.lang, context.settings.zone))
    return await show(update, context, sitting, REVIEW, note=note)


async def gone(update: Update, context: KhoosheContext) -> int:
    """Ends the conversation when the round closed or the draft vanished meanwhile."""
    await settle_query(update)
    await show_menu(update, context, intro=context.t("This assessment is no longer open."))
    return ConversationHandler.END


async def typed_answer(update: Update, context: KhoosheContext) -> Stage | int:
    """Stores a typed answer to the question on screen and shows the next one."""
    user = update.effective_user
    assert user is not None and update.message is not None
    sitting = await load(context, user.id)
    if sitting is None:
        return await gone(update, context)
    on_screen = sitting.question(sitting.cursor)
    typed = await context.services.assessment.answer_typed(sitting, update.message.text or "")
    if typed.outcome in ("saved", "chosen"):
        # The next question opens with what was read and saved («۱۰۰» for E1 shows as
        # «۱۰۰٪ / ۰٪ / ۰٪», a typed «آره» as the option it picked), as after a press.
        assert on_screen is not None
        shown = localize_digits(display(on_screen, typed.value, context.lang), context.lang) \
            if typed.value is not None else context.t("(skipped)")
        return await show(update, context, sitting, typed.cursor, note=f"✔️ <i>{esc(shown)}</i>")
    # Refused: one short line says what is expected; the question stays on screen above it.
    if typed.outcome == "review":
        await say(update, context, context.t("Please use the buttons to edit or submit."))
        return Stage.REVIEWING
    if typed.outcome == "buttons":
        await say(update, context, context.t(MSG_BUTTONS))
    elif typed.error is not None:
        await say(update, context, explain(context, typed.error))
    return Stage.ANSWERING


def explain(context: KhoosheContext, error: InvalidAnswer) -> str:
    """A refusal's message in the owner's language, its numbers in the owner's digits."""
    params = {k: number(v, context.lang, grouping=False) if isinstance(v, int) else v
              for k, v in error.params.items()}
    return context.t(error.msgid, **params)


async def media(update: Update, context: KhoosheContext) -> Stage | int:
    """A sticker, voice, photo, file, location or contact where an answer was expected: one
    short line says what the question on screen needs, and it stays on screen."""
    user = update.effective_user
    assert user is not None
    sitting = await load(context, user.id)
    if sitting is None:
        return await gone(update, context)
    needed = context.services.assessment.expected(sitting)
    if needed is None:
        await say(update, context, context.t("Please use the buttons to edit or submit."))
        return Stage.REVIEWING
    await say(update, context, explain(context, needed))
    return Stage.ANSWERING


async def pressed(update: Update, context: KhoosheContext) -> Stage | int:
    """Handles every button of a question or of the review screen."""
    query = update.callback_query
    user = update.effective_user
    assert query is not None and query.data is not None and user is not None
    t, lang = context.t, context.lang
    sid, qid, op = cb.QUESTION.parse(query.data)
    sitting = await load(context, user.id)
    if sitting is None:
        return await gone(update, context)
    if not sitting.is_current(sid, qid):
        # A double tap or an old message's button: that message becomes the current step (a
        # double tap finds it so already), never a second copy.
        await settle_query(update, text=t("That question was already answered; here is the current step."))
        return await show(update, context, sitting, sitting.cursor, replace=True)

    if qid == REVIEW:
        return await on_review(update, context, sitting, op)
    question = sitting.question(qid)
    if question is None:
        await settle_query(update)
        return await show(update, context, sitting, assessment.first_unanswered(sitting.questions, sitting.answers))

    if op in ("help", "nohelp"):
        # The help opens and closes inside the question's own message: nothing is left behind.
        await settle_query(update)
        return await show(update, context, sitting, qid, replace=True, help_open=op == "help")
    if op == "prev":
        await settle_query(update)
        return await take_over_previous(update, context, sitting)
    if op == "back":
        await settle_query(update)
        target = await context.services.assessment.back(sitting, qid)
        return await show(update, context, sitting, target, replace=True)
    if op.startswith("t."):
        ticked = await context.services.assessment.tick(sitting, question, op[2:])
        await settle_query(update)
        if ticked is not None:
            await redraw_ticks(query.message, context, sitting, question, ticked)  # type: ignore[arg-type]
        return Stage.ANSWERING
    try:
        saved = await context.services.assessment.answer_press(sitting, question, op)
    except InvalidAnswer as exc:
        await settle_query(update, text=t(exc.msgid, **exc.params), alert=True)
        return Stage.ANSWERING
    await settle_query(update)
    if saved is None:
        return Stage.ANSWERING
    cursor, value = saved
    shown = display(question, value, lang) if value is not None else t("(skipped)")
    # The pressed message becomes the next question; a first line confirms what was saved.
    note = f"✔️ <i>{esc(localize_digits(shown, lang))}</i>"
    return await show(update, context, sitting, cursor, replace=True, note=note)


async def take_over_previous(update: Update, context: KhoosheContext, sitting: Sitting) -> Stage:
    """Fills the draft with the last round's answers and turns the pressed question into the
    review (or into the first question still to answer)."""
    t, lang = context.t, context.lang
    reused = await context.services.assessment.reuse_previous(sitting)
    if reused.carried == 0:
        note = t("None of your last round's answers fit this round's questions; please answer them here.")
    elif reused.cursor == REVIEW:
        note = t("📋 {count} answers from «{title}» are filled in. Change what is different with ✏️, then submit.",
                 count=number(reused.carried, lang), title=esc(reused.title))
    else:
        note = t("📋 {count} answers from «{title}» are filled in. A few questions are new or changed: "
                 "please answer them, then review.", count=number(reused.carried, lang), title=esc(reused.title))
    return await show(update, context, sitting, reused.cursor, replace=True, note=note)


async def redraw_ticks(message: Message, context: KhoosheContext, sitting: Sitting, question: Question, ticked: list[str]) -> None:
    """Updates the ✅ marks in place, keeping the rest of the keyboard."""
    markup = message.reply_markup
    if markup is None:
        return
    prefix = data(sitting, question.id, "t.")
    new_rows = []
    for row in markup.inline_keyboard:
        new_row = []
        for b in row:
            if b.callback_data and str(b.callback_data).startswith(prefix):
                oid = str(b.callback_data)[len(prefix):]
                b = button(("✅ " if oid in ticked else "▫️ ") + question.option(oid).label(context.lang), str(b.callback_data))
            new_row.append(b)
        new_rows.append(new_row)
    await message.edit_reply_markup(keyboard(*new_rows))


async def on_review(update: Update, context: KhoosheContext, sitting: Sitting, op: str) -> Stage | int:
    """Edits a chosen answer, steps back, or submits."""
    t = context.t
    query = update.callback_query
    assert query is not None and query.data is not None
    await settle_query(update)
    if op == "back":
        target = await context.services.assessment.back(sitting, REVIEW)
        return await show(update, context, sitting, target, replace=True)
    if op != "submit":
        return Stage.REVIEWING
    submitted = await context.services.assessment.submit(sitting)
    if submitted.missing is not None:
        await say(update, context, t("Some required questions are still unanswered; here is the first one."))
        return await show(update, context, sitting, submitted.missing)
    assert submitted.scores is not None
    await close_prompt(update, t("✅ Your answers are submitted."))
    context.user_data.screen = None
    await show_scores(update, context, sitting.round, submitted.scores)
    await show_menu(update, context)
    return ConversationHandler.END


async def edit_from_review(update: Update, context: KhoosheContext) -> Stage | int:
    """Shows a question chosen on the review screen to change its answer."""
    query = update.callback_query
    user = update.effective_user
    assert query is not None and query.data is not None and user is not None
    sid, qid, _op = cb.QUESTION_EDIT.parse(query.data)
    sitting = await load(context, user.id)
    if sitting is None:
        return await gone(update, context)
    await settle_query(update)
    target = await context.services.assessment.edit(sitting, sid, qid)
    if target is None:
        return await show(update, context, sitting, sitting.cursor)
    return await show(update, context, sitting, target, replace=True)


async def leave(update: Update, context: KhoosheContext) -> int:
    """Steps out to the menu; every answer so far stays saved."""
    await settle_query(update)
    user = update.effective_user
    assert user is not None
    await retire_screen(update, context)
    if await context.services.assessment.leave(user.id):
        await say(update, context, context.t("Your answers are saved. Continue any time from the menu."))
    await show_menu(update, context)
    return ConversationHandler.END


async def resume(update: Update, context: KhoosheContext) -> Stage | int:
    """Shows the question on screen again (/assess, the menu's continue button, a language
    switch)."""
    await settle_query(update)
    user = update.effective_user
    assert user is not None
    sitting = await load(context, user.id)
    if sitting is None:
        return await gone(update, context)
    return await show(update, context, sitting, sitting.cursor)


async def use_buttons(update: Update, context: KhoosheContext) -> Stage | int:
    """Re-shows the review when something other than a button arrives there."""
    user = update.effective_user
    assert user is not None
    sitting = await load(context, user.id)
    if sitting is None:
        return await gone(update, context)
    await say(update, context, context.t("Please use the buttons to edit or submit."))
    return await show(update, context, sitting, sitting.cursor)


def register(app: KhoosheApp) -> None:
    text = filters.TEXT & ~filters.COMMAND
    conversation = ConversationHandler(
        entry_points=[
            CommandHandler("assess", begin),
            CallbackQueryHandler(begin, pattern=cb.ASSESS.pattern),
            CallbackQueryHandler(reopen, pattern=cb.ASSESS_REOPEN.pattern),
        ],
        states={
            # A button from an older message lands in ``pressed`` too, which checks it
            # against the cursor and shows the current question instead.
            Stage.ANSWERING: [
                CallbackQueryHandler(pressed, pattern=cb.QUESTION.pattern),
                MessageHandler(text, typed_answer),
            ],
            Stage.REVIEWING: [
                CallbackQueryHandler(edit_from_review, pattern=cb.QUESTION_EDIT.pattern),
                CallbackQueryHandler(pressed, pattern=cb.QUESTION.pattern),
                MessageHandler(text, use_buttons),
            ],
        },
        fallbacks=fallbacks(command="assess", resume_pattern=cb.ASSESS.pattern, resume=resume, leave=leave,
                            media=media),
        # One conversation per user and chat, whichever message a button is on: the steps mix
        # typed text and buttons (per_message=True would need only CallbackQueryHandlers).
        per_message=False,
        name=ASSESSMENT,
        persistent=True,
    )
    app.add_handler(conversation)
