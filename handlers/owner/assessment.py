"""The self-assessment: one question per message, saved the moment it is answered.

The submission's cursor (the question on screen) is committed together with each answer, so
after a restart the conversation resumes on that question; nothing is asked twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from telegram import Message, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.context import KhoosheApp, KhoosheContext
from bot.domain import callbacks as cb
from bot.domain.calendar import solar_year
from bot.domain.questionnaire import NONE_OPTION, Question
from bot.domain.questionnaire.answers import (
    InvalidAnswer,
    choose,
    display,
    finish_multi,
    parse_typed,
    toggle,
)
from bot.domain.scoring import SubmissionScore, score_submission
from bot.domain.text import localize_digits, number, year
from bot.persistence import ASSESSMENT
from bot.services import assessment
from bot.services.assessment import REVIEW
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
from storage.models import Firm, Round, Submission

REVIEW_LINE_LIMIT = 48


class Stage(IntEnum):
    ANSWERING = 1
    REVIEWING = 2


def state_of(cursor: str | None) -> Stage:
    """Maps a stored cursor back to the conversation state (used on restart)."""
    return Stage.REVIEWING if cursor == REVIEW else Stage.ANSWERING


@dataclass
class Sitting:
    """Everything one update needs: the round, the firm, its draft, answers and questions."""

    round: Round
    firm: Firm
    submission: Submission
    answers: dict[str, Any]
    questions: list[Question]

    @property
    def cursor(self) -> str:
        return self.submission.cursor or REVIEW

    def question(self, qid: str) -> Question | None:
        return next((q for q in self.questions if q.id == qid), None)

    def data(self, qid: str, op: str) -> str:
        return cb.QUESTION.build(self.submission.id, qid, op)


async def load(context: KhoosheContext, user_id: int) -> Sitting | None:
    """Reads the owner's draft in the open round, or None when there is nothing to answer."""
    async with context.db.read() as repo:
        firm = await repo.firms.by_owner(user_id)
        round_ = await repo.rounds.open_round()
        if firm is None or round_ is None:
            return None
        submission = await repo.submissions.for_firm(round_id=round_.id, firm_id=firm.id)
        if submission is None or submission.status != "draft":
            return None
        answers = await repo.answers.all(submission.id)
    return Sitting(round_, firm, submission, answers, assessment.questions_for(round_, firm))


# --- showing -------------------------------------------------------------------------------------


def fiscal_year(context: KhoosheContext, sitting: Sitting) -> str:
    return year(assessment.reference_year(sitting.round), context.lang)


async def show(
    update: Update, context: KhoosheContext, sitting: Sitting, cursor: str, *,
    replace: bool = False, note: str | None = None,
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
    await show_question(update, context, sitting, question, replace=replace, note=note)
    return Stage.ANSWERING


async def post(update: Update, context: KhoosheContext, text: str, markup: Any, *, replace: bool) -> None:
    """Edits the pressed message into ``text`` when asked to, otherwise sends a new one."""
    query = update.callback_query
    if replace and query is not None and isinstance(query.message, Message):
        try:
            await query.message.edit_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)
            return
        except BadRequest as exc:
            if "not modified" in str(exc).lower():
                return
            if "message to edit not found" not in str(exc).lower():
                raise
    await say(update, context, text, markup)


async def show_question(
    update: Update, context: KhoosheContext, sitting: Sitting, q: Question, *,
    replace: bool = False, note: str | None = None,
) -> None:
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
    answer = sitting.answers.get(q.id)
    if q.id in sitting.answers and answer is not None:
        lines += ["", t("Current answer: {answer}", answer=esc(localize_digits(display(q, answer, lang), lang)))]
    buttons: list[list[Any]] = []
    if q.type == "multi":
        pending = sitting.submission.pending
        ticked = pending["value"] if pending and pending.get("qid") == q.id else (answer or [])
        opts = [button(("✅ " if o.id in ticked else "▫️ ") + o.label(lang), sitting.data(q.id, f"t.{o.id}")) for o in q.options]
        buttons += rows(opts, 1)
        buttons.append([button(t("Done ✔️"), sitting.data(q.id, "done"))])
        lines += ["", t("Tick all that apply, then press Done.")]
    elif q.type in ("yesno", "single", "ladder"):
        opts = [button(o.label(lang), sitting.data(q.id, f"o.{o.id}")) for o in q.options]
        buttons += rows(opts, 2 if q.type == "yesno" else 1)
    elif q.type == "year_or_none":
        buttons.append([button(q.option(NONE_OPTION).label(lang), sitting.data(q.id, f"o.{NONE_OPTION}"))])
    elif q.type == "text" and not q.required:
        buttons.append([button(t("Skip ⏭"), sitting.data(q.id, "skip"))])
    nav = []
    if assessment.before(sitting.questions, q.id) is not None:
        nav.append(button(t("◀️ Back"), sitting.data(q.id, "back")))
    if q.help is not None:
        nav.append(button(t("❓ Help"), sitting.data(q.id, "help")))
    buttons.append(nav)
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
        edits.append(button(t("✏️ {n}", n=number(n, lang)), sitting.data(q.id, "edit")))
    lines += ["", t("Tap a number to change that answer, or submit.")]
    await post(update, context, "\n".join(lines), keyboard(
        *rows(edits, 6),
        [button(t("◀️ Back"), sitting.data(REVIEW, "back")), button(t("✅ Submit"), sitting.data(REVIEW, "submit"))],
    ), replace=replace)


def provisional(round_: Round, firm: Firm, answers: dict[str, Any]) -> SubmissionScore:
    """Scores the answers the way the round will score them when it closes."""
    return score_submission(
        assessment.questionnaire_of(round_), answers, sector=firm.sector,
        reference_year=assessment.reference_year(round_), weights=round_.weights,
    )


async def show_scores(update: Update, context: KhoosheContext, round_: Round, firm: Firm, answers: dict[str, Any]) -> None:
    """Shows the provisional dimension scores and the composite."""
    t, lang = context.t, context.lang
    questionnaire = assessment.questionnaire_of(round_)
    result = provisional(round_, firm, answers)
    lines = [t("<b>Your provisional scores</b> (out of 100)"), ""]
    for dimension in questionnaire.scored_dimensions:
        if dimension.id in result.dimensions:
            lines.append(f"• {esc(dimension.title(lang))}: <b>{number(result.dimensions[dimension.id], lang)}</b>")
    if result.composite is not None:
        lines += ["", t("Overall score: <b>{score}</b>", score=number(result.composite, lang))]
    lines += ["", t("Ranks among your peers are published after the round closes.")]
    await say(update, context, "\n".join(lines))


# --- moving ----------------------------------------------------------------------------------------


async def commit_answer(context: KhoosheContext, sitting: Sitting, qid: str, value: Any) -> str:
    """Stores the answer and the next cursor together; returns the cursor."""
    answers = {**sitting.answers, qid: value}
    cursor = assessment.after(sitting.questions, answers, qid)
    async with context.db.transaction() as repo:
        await repo.answers.put(submission_id=sitting.submission.id, qid=qid, value=value)
        await repo.submissions.move(submission_id=sitting.submission.id, cursor=cursor)
    sitting.answers = answers
    return cursor


async def move(context: KhoosheContext, sitting: Sitting, cursor: str) -> None:
    async with context.db.transaction() as repo:
        await repo.submissions.move(submission_id=sitting.submission.id, cursor=cursor)


async def begin(update: Update, context: KhoosheContext) -> Stage | int:
    """Starts or resumes the assessment at the first unanswered question."""
    await settle_query(update)
    t = context.t
    user = update.effective_user
    assert user is not None
    async with context.db.transaction() as repo:
        firm = await repo.firms.by_owner(user.id)
        if firm is None:
            outcome = "unregistered"
        else:
            status = await assessment.status_for(repo, firm=firm, now=context.now())
            if status.round is None:
                outcome = "closed"
            elif status.submitted:
                outcome = "submitted"
                answers = await repo.answers.all(status.submission.id)  # type: ignore[union-attr]
            else:
                questions = assessment.questions_for(status.round, firm)
                submission = await repo.submissions.start(
                    round_id=status.round.id, firm_id=firm.id, cursor=questions[0].id
                )
                answers = await repo.answers.all(submission.id)
                cursor = assessment.first_unanswered(questions, answers)
                await repo.submissions.move(submission_id=submission.id, cursor=cursor)
                outcome = "resume" if answers else "new"
    if outcome == "unregistered":
        await show_menu(update, context, intro=t("Please register your firm first."))
        return ConversationHandler.END
    if outcome == "closed":
        await show_menu(update, context)
        return ConversationHandler.END
    if outcome == "submitted":
        await show_scores(update, context, status.round, firm, answers)  # type: ignore[arg-type]
        return ConversationHandler.END
    sitting = await load(context, user.id)
    assert sitting is not None and status.round is not None
    if outcome == "new":
        await say(update, context, t("<b>{title}</b>\n{count} questions, about five minutes. "
                                     "Every answer is saved as you go: you can leave and come back at any time.",
                                     title=esc(status.round.title), count=number(len(sitting.questions), context.lang)))
    else:
        await say(update, context, t("Welcome back! You have answered {done} of {total}. Let's continue.",
                                     done=number(status.answered, context.lang), total=number(status.total, context.lang)))
    return await show(update, context, sitting, cursor)


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
    question = sitting.question(sitting.cursor)
    if question is None:
        await say(update, context, context.t("Please use the buttons to edit or submit."))
        return await show(update, context, sitting, sitting.cursor)
    if not question.is_typed:
        await say(update, context, context.t("Please answer with the buttons."))
        return await show(update, context, sitting, question.id)
    this_year = solar_year(context.now().astimezone(context.settings.zone))
    try:
        value = parse_typed(question, update.message.text or "", current_year=this_year)
    except InvalidAnswer as exc:
        params = {k: number(v, context.lang, grouping=False) if isinstance(v, int) else v
                  for k, v in exc.params.items()}
        await say(update, context, context.t(exc.msgid, **params))
        return await show(update, context, sitting, question.id)
    cursor = await commit_answer(context, sitting, question.id, value)
    return await show(update, context, sitting, cursor)


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
    if str(sitting.submission.id) != sid or qid != sitting.cursor:
        # A double tap or an old message's button: the current question is already on screen.
        await settle_query(update, text=t("That question was already answered; please use the latest message."))
        return state_of(sitting.cursor)

    if qid == REVIEW:
        return await on_review(update, context, sitting, op)
    question = sitting.question(qid)
    if question is None:
        await settle_query(update)
        return await show(update, context, sitting, assessment.first_unanswered(sitting.questions, sitting.answers))

    if op == "help":
        await settle_query(update)
        await say(update, context, "❓ " + esc(localize_digits(question.help_text(lang) or "", lang)))
        return Stage.ANSWERING
    if op == "back":
        await settle_query(update)
        target = assessment.before(sitting.questions, qid) or qid
        await move(context, sitting, target)
        return await show(update, context, sitting, target, replace=True)
    if op.startswith("t."):
        try:
            ticked = toggle(question, current_ticks(sitting, question), op[2:])
        except InvalidAnswer:
            await settle_query(update)
            return Stage.ANSWERING
        async with context.db.transaction() as repo:
            await repo.submissions.set_pending(submission_id=sitting.submission.id, qid=qid, value=ticked)
        await settle_query(update)
        await redraw_ticks(query.message, context, sitting, question, ticked)  # type: ignore[arg-type]
        return Stage.ANSWERING
    try:
        if op == "done":
            value: Any = finish_multi(question, current_ticks(sitting, question))
        elif op.startswith("o."):
            value = choose(question, op[2:])
        elif op == "skip" and not question.required:
            value = None
        else:
            await settle_query(update)
            return Stage.ANSWERING
    except InvalidAnswer as exc:
        await settle_query(update, text=t(exc.msgid, **exc.params), alert=True)
        return Stage.ANSWERING
    cursor = await commit_answer(context, sitting, qid, value)
    await settle_query(update)
    shown = display(question, value, lang) if value is not None else t("(skipped)")
    # The pressed message becomes the next question; a first line confirms what was saved.
    note = f"✔️ <i>{esc(localize_digits(shown, lang))}</i>"
    return await show(update, context, sitting, cursor, replace=True, note=note)


def current_ticks(sitting: Sitting, question: Question) -> list[str]:
    pending = sitting.submission.pending
    if pending and pending.get("qid") == question.id:
        return list(pending["value"])
    return list(sitting.answers.get(question.id) or [])


async def redraw_ticks(message: Message, context: KhoosheContext, sitting: Sitting, question: Question, ticked: list[str]) -> None:
    """Updates the ✅ marks in place, keeping the rest of the keyboard."""
    markup = message.reply_markup
    if markup is None:
        return
    prefix = sitting.data(question.id, "t.")
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
        target = assessment.before(sitting.questions, REVIEW) or REVIEW
        await move(context, sitting, target)
        return await show(update, context, sitting, target, replace=True)
    if op != "submit":
        return Stage.REVIEWING
    result = provisional(sitting.round, sitting.firm, sitting.answers)
    if not result.complete:
        await move(context, sitting, result.missing[0])
        await say(update, context, t("Some required questions are still unanswered; here is the first one."))
        return await show(update, context, sitting, result.missing[0])
    async with context.db.transaction() as repo:
        await repo.submissions.submit(sitting.submission.id)
    await close_prompt(update, t("✅ Your answers are submitted."))
    await show_scores(update, context, sitting.round, sitting.firm, sitting.answers)
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
    if str(sitting.submission.id) != sid or sitting.cursor != REVIEW or sitting.question(qid) is None:
        return await show(update, context, sitting, sitting.cursor)
    await move(context, sitting, qid)
    return await show(update, context, sitting, qid, replace=True)


async def leave(update: Update, context: KhoosheContext) -> int:
    """Steps out to the menu; every answer so far stays saved."""
    await settle_query(update)
    user = update.effective_user
    assert user is not None
    sitting = await load(context, user.id)
    if sitting is not None:
        async with context.db.transaction() as repo:
            await repo.submissions.set_active(submission_id=sitting.submission.id, active=False)
        await say(update, context, context.t("Your answers are saved. Continue any time from the menu."))
    await show_menu(update, context)
    return ConversationHandler.END


async def resume(update: Update, context: KhoosheContext) -> Stage | int:
    """Shows the question on screen again (/assess, the menu's continue button, or a photo,
    sticker or file where an answer was expected)."""
    await settle_query(update)
    user = update.effective_user
    assert user is not None
    sitting = await load(context, user.id)
    if sitting is None:
        return await gone(update, context)
    return await show(update, context, sitting, sitting.cursor)


async def switch_language(update: Update, context: KhoosheContext) -> Stage | int:
    """Changes the language without leaving the assessment, and shows the question in it."""
    from handlers.common.menu import store_language

    await store_language(update, context)
    return await resume(update, context)


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
        fallbacks=[
            CommandHandler(["cancel", "start", "menu"], leave),
            CommandHandler("assess", resume),
            CallbackQueryHandler(resume, pattern=cb.ASSESS.pattern),
            CallbackQueryHandler(switch_language, pattern=cb.LANGUAGE.pattern),
            CallbackQueryHandler(leave, pattern=cb.starts_with(cb.MENU_PREFIX)),
            MessageHandler(~filters.COMMAND & ~filters.TEXT, resume),
        ],
        # One conversation per user and chat, whichever message a button is on: the steps mix
        # typed text and buttons (per_message=True would need only CallbackQueryHandlers).
        per_message=False,
        name=ASSESSMENT,
        persistent=True,
    )
    app.add_handler(conversation)
