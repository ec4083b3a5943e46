"""Admins run assessment rounds from the chat: create, list, edit, open, close, extend,
publish, and check how ranks move under other weights.

Every command checks the role when it runs; confirmation buttons carry a one-time token that
is looked up in the admin's own session, so they cannot be forged or replayed by anyone else.
"""

from __future__ import annotations

import logging
import math
import re
import secrets
from datetime import datetime, time
from typing import Any

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.context import KhoosheApp, KhoosheContext
from bot.domain import callbacks as cb
from bot.domain.calendar import BadDate, format_datetime, parse_jalali_datetime
from bot.domain.questionnaire import available_versions, load_questionnaire
from bot.domain.text import normalize, number, parse_id
from bot.i18n import N_
from bot.services.access import Role
from bot.services.rounds import OpensInThePast, RoundRefused
from handlers.common.guard import requires
from handlers.common.menu import pressed
from handlers.common.privileged import user_id_of
from handlers.common.ui import button, close_prompt, esc, keyboard, say, settle_query
from storage.models import Round

log = logging.getLogger(__name__)



admin_only = requires(Role.ADMIN)


def parse_weights(text: str, version: int) -> dict[str, float]:
    """Reads four numbers (in the questionnaire's dimension order) as dimension weights."""
    dims = [d.id for d in load_questionnaire(version).scored_dimensions]
    parts = [p for p in re.split(r"[\s,\u060c;/]+", normalize(text)) if p]
    if len(parts) != len(dims):
        raise ValueError
    values = [float(p) for p in parts]
    if any(not math.isfinite(v) or v < 0 for v in values) or not any(values):
        raise ValueError
    return dict(zip(dims, values, strict=True))


def describe_round(r: Round, context: KhoosheContext, counts: dict[str, int] | None = None) -> str:
    t, lang, zone = context.t, context.lang, context.settings.zone
    state = {"scheduled": t("scheduled"), "open": t("open"), "closed": t("closed")}[r.state]
    if r.published_at is not None:
        state = t("published")
    lines = [
        t("<b>#{id} {title}</b> — {state}", id=number(r.id, lang), title=esc(r.title), state=state),
        t("Opens {opens}, closes {closes} (Tehran time)",
          opens=format_datetime(r.opens_at, lang, zone), closes=format_datetime(r.closes_at, lang, zone)),
    ]
    weights = r.weights or {d.id: 1.0 for d in load_questionnaire(r.questionnaire_version).scored_dimensions}
    lines.append(t("Questionnaire v{version}; weights {weights}", version=number(r.questionnaire_version, lang),
                   weights=" / ".join(number(w, lang, decimals=2) for w in weights.values())))
    if counts is not None:
        lines.append(t("Submitted {submitted}, in progress {drafts}",
                       submitted=number(counts.get("submitted", 0), lang), drafts=number(counts.get("draft", 0), lang)))
    return "\n".join(lines)


async def find_round(update: Update, context: KhoosheContext, arg_index: int = 0) -> Round | None:
    """Reads the round id from the command's arguments and loads it, or says what is wrong."""
    args = context.args or []
    round_id = parse_id(args[arg_index]) if len(args) > arg_index else None
    if round_id is None:
        await say(update, context, context.t("Please give the round number, for example /closeround 3. /rounds lists them."))
        return None
    try:
        return await context.services.rounds.get(round_id)
    except RoundRefused as exc:
        await refused(update, context, exc)
        return None


@admin_only
async def list_rounds(update: Update, context: KhoosheContext) -> None:
    """Lists every round with its state and response counts."""
    async with context.db.read() as repo:
        rounds = await repo.rounds.all()
        described = [describe_round(r, context, await repo.rounds.response_counts(r.id)) for r in rounds]
    t = context.t
    buttons = [button(t("🆕 New round"), cb.RW_START.build("new"))]
    if any(r.state in ("scheduled", "open") for r in rounds):
        buttons.append(button(t("✏️ Change a round"), cb.RW_START.build("edit")))
    if not described:
        await say(update, context, t("No rounds yet. Create one with /newround."), keyboard(buttons))
        return
    await say(update, context, "\n\n".join(described[:20]), keyboard(buttons))


NEW_ROUND_HELP = N_(
    "To create a round, send:\n/newround title | opens | closes | weights | version\n"
    "Dates are Solar Hijri with an optional Tehran time, for example:\n"
    "/newround Winter 1405 | 1405/10/01 08:00 | 1405/10/30 23:59 | 1,1,1,1\n"
    "Weights (technology, quality, export, innovation) are optional; the default is equal. "
    "The questionnaire version is optional too: the latest ({versions}) unless you name another.\n"
    "Or send /newround alone and answer one question at a time."
)


@admin_only
async def new_round(update: Update, context: KhoosheContext) -> None:
    """Parses the new round, checks it against the rules and echoes it back to confirm."""
    t, zone = context.t, context.settings.zone
    text = update.message.text if update.message and update.message.text else ""
    body = text.partition(" ")[2]
    parts = [p.strip() for p in body.split("|")]
    versions = available_versions()
    if len(parts) < 3 or not parts[0]:
        await say(update, context, t(NEW_ROUND_HELP, versions=", ".join(number(v, context.lang) for v in versions)))
        return
    version = max(versions)
    if len(parts) > 4 and parts[4]:
        chosen = parse_id(re.sub(r"\D", "", normalize(parts[4])))  # any script's digits
        if chosen not in versions:
            await say(update, context, t("There is no questionnaire version «{typed}»; choose one of {versions}.",
                                         typed=esc(parts[4]),
                                         versions=", ".join(number(v, context.lang) for v in versions)))
            return
        version = chosen
    try:
        opens = parse_jalali_datetime(parts[1], zone, default=time(8, 0))
        closes = parse_jalali_datetime(parts[2], zone, default=time(23, 59))
    except BadDate as exc:
        await say(update, context, t("«{text}» is not a Solar Hijri date like 1405/10/01 or 1405/10/01 08:00.", text=esc(str(exc))))
        return
    weights = None
    if len(parts) > 3 and parts[3]:
        try:
            weights = parse_weights(parts[3], version)
        except ValueError:
            await say(update, context, t("Weights must be four non-negative numbers, not all zero, such as 2,1,1,1."))
            return
    service = context.services.rounds
    start_now = opens < context.now()
    try:
        await service.validate(opens=context.now() if start_now else opens, closes=closes)
    except RoundRefused as exc:
        await refused(update, context, exc)
        return
    fields = {"title": parts[0], "opens": opens.isoformat(), "closes": closes.isoformat(),
              "weights": weights, "version": version, "start_now": start_now}
    draft = Round(id=0, title=parts[0], questionnaire_version=version, opens_at=opens, closes_at=closes,
                  state="scheduled", weights=weights, created_at=context.now())
    question = t("Please confirm the new round:")
    if start_now:
        question = t("Its opening time has already passed. Open it now instead, and tell every firm?")
    await ask(update, context, "create", fields, question + "\n\n" + describe_round(draft, context),
              t("✅ Create") if not start_now else t("✅ Open now"))


async def ask(update: Update, context: KhoosheContext, action: str, fields: dict[str, Any], text: str,
              confirm_label: str) -> None:
    """Shows what an action will do with confirm and cancel buttons; the action runs only from
    the confirm button, once (its token is used up)."""
    t = context.t
    token = secrets.token_urlsafe(12)
    context.user_data.round_action = {"token": token, "action": action, **fields}
    await say(update, context, text,
              keyboard([button(confirm_label, cb.ROUND_CONFIRM.build(token)), button(t("✖️ Cancel"), cb.ROUND_DISMISS.build(token))]))


async def refused(update: Update, context: KhoosheContext, exc: RoundRefused) -> None:
    await say(update, context, esc(exc.render(context.lang, context.settings.zone)))


@admin_only
async def confirm(update: Update, context: KhoosheContext) -> None:
    """Runs the confirmed round action (once: the token is used up)."""
    query = update.callback_query
    assert query is not None and query.data is not None
    t, lang = context.t, context.lang
    pending = context.user_data.round_action
    choice, token = cb.ROUND_CHOICE.parse(query.data)
    if not pending or not secrets.compare_digest(pending["token"], token):
        await settle_query(update, text=t("This button is no longer active."))
        return
    context.user_data.round_action = None
    await settle_query(update)
    if choice == "rx":
        await close_prompt(update, t("Cancelled; nothing was changed."))
        return
    service, actor = context.services.rounds, user_id_of(update)
    action = pending["action"]
    try:
        if action == "create":
            created = await service.create(
                actor, title=pending["title"], opens=datetime.fromisoformat(pending["opens"]),
                closes=datetime.fromisoformat(pending["closes"]), weights=pending["weights"],
                version=pending["version"], start_now=pending["start_now"],
            )
            message = (t("✅ Round #{id} is open and firms are being told.", id=number(created.id, lang))
                       if created.state == "open" else
                       t("✅ Round #{id} created. It opens by itself at its opening time.", id=number(created.id, lang)))
        elif action == "edit":
            edited = await service.edit(actor, pending["round_id"], start_now=True)
            message = t("✅ Round #{id} is open and firms are being told.", id=number(edited.id, lang))
        elif action == "change":  # one field, from the guided /editround
            edited = await service.edit(
                actor, pending["round_id"], title=pending.get("title"), weights=pending.get("weights"),
                opens=datetime.fromisoformat(pending["opens"]) if pending.get("opens") else None,
                closes=datetime.fromisoformat(pending["closes"]) if pending.get("closes") else None,
            )
            message = t("Round updated:") + "\n\n" + describe_round(edited, context)
        elif action == "close":
            closed = await service.close(actor, pending["round_id"])
            message = t("✅ Round #{id} is closed; {n} firms were scored. Publish the results with /publish {id}.",
                        id=number(closed.round.id, lang), n=number(closed.scored, lang))
        elif action == "reopen":
            reopened = await service.reopen(actor, pending["round_id"], datetime.fromisoformat(pending["closes"]))
            message = t("✅ Round #{id} is open again until {closes} (Tehran time).", id=number(reopened.id, lang),
                        closes=format_datetime(reopened.closes_at, lang, context.settings.zone))
        elif action == "cancel":
            cancelled = await service.cancel(actor, pending["round_id"])
            message = t("✅ Round #{id} «{title}» was cancelled and removed.", id=number(cancelled.id, lang),
                        title=esc(cancelled.title))
        else:
            published = await service.publish(actor, pending["round_id"])
            message = t("✅ Round #{id} published; {n} summaries are on their way. You will get a delivery report when they are all out.",
                        id=number(published.round.id, lang), n=number(published.queued, lang))
    except RoundRefused as exc:
        await close_prompt(update, esc(exc.render(lang, context.settings.zone)))
        return
    await close_prompt(update, message)
    await after_change(context)


async def after_change(context: KhoosheContext) -> None:
    """Reschedules the exact open/close jobs and runs a tick at once."""
    from bot.application import schedule_round_edges, tick

    await schedule_round_edges(context.application)
    await tick(context)


@admin_only
async def edit_round(update: Update, context: KhoosheContext) -> None:
    """Changes the title, dates or weights of a round that has not opened (or renames an open one)."""
    t, zone = context.t, context.settings.zone
    found = await find_round(update, context)
    if found is None:
        return
    args = context.args or []
    if len(args) < 3 or args[1] not in ("title", "opens", "closes", "weights"):
        await say(update, context, t("Usage: /editround ID title|opens|closes|weights VALUE, "
                                     "or send /editround alone to choose with buttons."))
        return
    field, value = args[1], " ".join(args[2:])
    changes: dict[str, Any] = {}
    try:
        if field == "title":
            changes["title"] = value
        elif field == "opens":
            changes["opens"] = parse_jalali_datetime(value, zone, default=time(8, 0))
        elif field == "closes":
            changes["closes"] = parse_jalali_datetime(value, zone, default=time(23, 59))
        else:
            changes["weights"] = parse_weights(value, found.questionnaire_version)
    except BadDate:
        await say(update, context, t("«{text}» is not a Solar Hijri date like 1405/10/01 or 1405/10/01 08:00.", text=esc(value)))
        return
    except ValueError:
        await say(update, context, t("Weights must be four non-negative numbers, not all zero, such as 2,1,1,1."))
        return
    try:
        updated = await context.services.rounds.edit(user_id_of(update), found.id, **changes)
    except OpensInThePast:
        await ask(update, context, "edit", {"round_id": found.id},
                  t("Its opening time has already passed. Open round #{id} now instead, and tell every firm?",
                    id=number(found.id, context.lang)), t("✅ Open now"))
        return
    except RoundRefused as exc:
        await refused(update, context, exc)
        return
    await say(update, context, t("Round updated:") + "\n\n" + describe_round(updated, context))
    await after_change(context)


@admin_only
async def open_now(update: Update, context: KhoosheContext) -> None:
    """Opens a scheduled round now (and announces it)."""
    t = context.t
    found = await find_round(update, context)
    if found is None:
        return
    try:
        opened, _ = await context.services.rounds.open_now(user_id_of(update), found.id)
    except RoundRefused as exc:
        await refused(update, context, exc)
        return
    await after_change(context)
    await say(update, context, t("✅ Round #{id} is open and firms are being told.", id=number(opened.id, context.lang)))


@admin_only
async def close_now(update: Update, context: KhoosheContext) -> None:
    """Asks to confirm closing the open round, saying how many firms are still answering."""
    t, lang = context.t, context.lang
    found = await find_round(update, context)
    if found is None:
        return
    try:
        answering = await context.services.rounds.preview_close(found.id)
    except RoundRefused as exc:
        await refused(update, context, exc)
        return
    question = t.plural(
        "{count} firm is still answering round #{id}; closing now ends its assessment and scores the round. Close anyway?",
        "{count} firms are still answering round #{id}; closing now ends their assessment and scores the round. Close anyway?",
        answering, count=number(answering, lang), id=number(found.id, lang),
    ) if answering else t("Close round #{id} now? Its submissions will be scored.", id=number(found.id, lang))
    await ask(update, context, "close", {"round_id": found.id}, question, t("🔒 Close"))


async def round_and_closing(update: Update, context: KhoosheContext, usage: str) -> tuple[Round, datetime] | None:
    """The round named by the first argument and the closing moment the rest gives (23:59 when
    no time is typed); None once the admin has been told what is wrong."""
    found = await find_round(update, context)
    if found is None:
        return None
    args = context.args or []
    if len(args) < 2:
        await say(update, context, usage)
        return None
    typed = " ".join(args[1:])
    try:
        return found, parse_jalali_datetime(typed, context.settings.zone, default=time(23, 59))
    except BadDate:
        await say(update, context, context.t("«{text}» is not a Solar Hijri date like 1405/10/01 or 1405/10/01 08:00.",
                                             text=esc(typed)))
        return None


@admin_only
async def extend(update: Update, context: KhoosheContext) -> None:
    """Moves the closing date of a scheduled or open round later."""
    t, zone = context.t, context.settings.zone
    target = await round_and_closing(update, context, t("Usage: /extend ID 1405/11/10 [23:59]"))
    if target is None:
        return
    found, closes = target
    try:
        updated = await context.services.rounds.extend(user_id_of(update), found.id, closes)
    except RoundRefused as exc:
        await refused(update, context, exc)
        return
    await after_change(context)
    await say(update, context, t("✅ Round #{id} now closes {closes} (Tehran time).", id=number(updated.id, context.lang),
                                 closes=format_datetime(updated.closes_at, context.lang, zone)))


@admin_only
async def reopen_round(update: Update, context: KhoosheContext) -> None:
    """Asks to confirm opening a round closed by mistake again, until a new closing date."""
    t, zone, lang = context.t, context.settings.zone, context.lang
    target = await round_and_closing(
        update, context, t("Usage: /reopenround ID 1405/11/10 [23:59] (the new closing date)"))
    if target is None:
        return
    found, closes = target
    try:
        await context.services.rounds.preview_reopen(found.id, closes)
    except RoundRefused as exc:
        await refused(update, context, exc)
        return
    await ask(update, context, "reopen", {"round_id": found.id, "closes": closes.isoformat()},
              t("Open round #{id} «{title}» again until {closes} (Tehran time)? Firms can answer and change "
                "their answers until then; it is scored again when it closes.",
                id=number(found.id, lang), title=esc(found.title), closes=format_datetime(closes, lang, zone)),
              t("🔓 Reopen"))


@admin_only
async def cancel_round(update: Update, context: KhoosheContext) -> None:
    """Asks to confirm deleting a round nobody has answered."""
    t, lang = context.t, context.lang
    found = await find_round(update, context)
    if found is None:
        return
    try:
        await context.services.rounds.preview_cancel(found.id)
    except RoundRefused as exc:
        await refused(update, context, exc)
        return
    await ask(update, context, "cancel", {"round_id": found.id},
              t("Cancel round #{id} «{title}» and remove it? Nobody has answered it.", id=number(found.id, lang),
                title=esc(found.title)), t("🗑 Cancel the round"))


@admin_only
async def publish(update: Update, context: KhoosheContext) -> None:
    """Asks to confirm publishing a closed round, saying how many firms will hear."""
    t, lang = context.t, context.lang
    found = await find_round(update, context)
    if found is None:
        return
    try:
        scored = await context.services.rounds.preview_publish(found.id)
    except RoundRefused as exc:
        await refused(update, context, exc)
        return
    await ask(update, context, "publish", {"round_id": found.id},
              t("Publish round #{id}? {n} firms will each get their score, rank and chart.",
                id=number(found.id, lang), n=number(scored, lang)), t("📣 Publish"))


@admin_only
async def sensitivity(update: Update, context: KhoosheContext) -> None:
    """Shows how national ranks would move under other dimension weights."""
    from bot.services.ranking import weight_sensitivity

    t, lang = context.t, context.lang
    found = await find_round(update, context)
    if found is None:
        return
    args = context.args or []
    try:
        weights = parse_weights(" ".join(args[1:]), found.questionnaire_version)
    except ValueError:
        await say(update, context, t("Usage: /sensitivity ID 2,1,1,1 (technology, quality, export, innovation)"))
        return
    if found.scored_at is None:
        await say(update, context, t("Round #{id} has no scores yet.", id=number(found.id, lang)))
        return
    result = await weight_sensitivity(context.db, found.id, weights)
    await say(update, context, t("Under weights {weights}: {changed} of {total} firms change national rank; "
                                 "the largest move is {max} places, the average {mean}.",
                                 weights=" / ".join(number(w, lang, decimals=2) for w in weights.values()),
                                 changed=number(result.changed, lang), total=number(result.firms, lang),
                                 max=number(result.max_shift, lang), mean=number(result.mean_shift, lang, decimals=1)))


def register(app: KhoosheApp) -> None:
    from handlers.admin import round_wizard

    # First: /newround and /editround without arguments start the guided conversation (with
    # arguments, its entry points hand over to the one-line forms below).
    round_wizard.register(app)
    app.add_handler(CommandHandler("rounds", list_rounds))
    app.add_handler(CallbackQueryHandler(pressed(list_rounds), pattern=cb.TASK.pattern_of("rounds")))
    app.add_handler(CommandHandler("newround", new_round))
    app.add_handler(CommandHandler("editround", edit_round))
    app.add_handler(CommandHandler("openround", open_now))
    app.add_handler(CommandHandler("closeround", close_now))
    app.add_handler(CommandHandler("extend", extend))
    app.add_handler(CommandHandler("cancelround", cancel_round))
    app.add_handler(CommandHandler("reopenround", reopen_round))
    app.add_handler(CommandHandler("publish", publish))
    app.add_handler(CommandHandler("sensitivity", sensitivity))
    app.add_handler(CallbackQueryHandler(confirm, pattern=cb.ROUND_CHOICE.pattern))
