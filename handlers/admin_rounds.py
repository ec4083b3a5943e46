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
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot import publishing
from bot.calendar import BadDate, format_datetime, parse_jalali_datetime
from bot.context import KhoosheContext
from bot.i18n import N_
from bot.questionnaire import available_versions, load_questionnaire
from bot.roles import requires
from bot.text import normalize, number
from handlers.ui import button, close_prompt, esc, keyboard, say, settle_query
from storage.models import Round

log = logging.getLogger(__name__)

PENDING = "pending_round"


admin_only = requires("admin")


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
    try:
        round_id = int(normalize(args[arg_index]).lstrip("#"))
    except (IndexError, ValueError):
        await say(update, context, context.t("Please give the round number, for example /closeround 3. /rounds lists them."))
        return None
    async with context.db.read() as repo:
        found = await repo.rounds.get(round_id)
    if found is None:
        await say(update, context, context.t("There is no round #{id}.", id=number(round_id, context.lang)))
    return found


@admin_only
async def list_rounds(update: Update, context: KhoosheContext) -> None:
    """Lists every round with its state and response counts."""
    async with context.db.read() as repo:
        rounds = await repo.rounds.all()
        described = [describe_round(r, context, await repo.rounds.response_counts(r.id)) for r in rounds]
    if not described:
        await say(update, context, context.t("No rounds yet. Create one with /newround."))
        return
    await say(update, context, "\n\n".join(described[:20]))


NEW_ROUND_HELP = N_(
    "To create a round, send:\n/newround title | opens | closes | weights\n"
    "Dates are Solar Hijri with an optional Tehran time, for example:\n"
    "/newround Winter 1405 | 1405/10/01 08:00 | 1405/10/30 23:59 | 1,1,1,1\n"
    "Weights (technology, quality, export, innovation) are optional; the default is equal."
)


@admin_only
async def new_round(update: Update, context: KhoosheContext) -> None:
    """Parses the new round and echoes it back with confirm and cancel buttons."""
    t, zone = context.t, context.settings.zone
    text = update.message.text if update.message and update.message.text else ""
    body = text.partition(" ")[2]
    parts = [p.strip() for p in body.split("|")]
    if len(parts) < 3 or not parts[0]:
        await say(update, context, t(NEW_ROUND_HELP))
        return
    version = max(available_versions())
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
    if closes <= opens:
        await say(update, context, t("The closing time must come after the opening time."))
        return
    if closes <= context.now():
        await say(update, context, t("The closing time is already in the past."))
        return
    token = secrets.token_urlsafe(12)
    context.user_data[PENDING] = {
        "token": token, "title": parts[0], "opens": opens.isoformat(), "closes": closes.isoformat(),
        "weights": weights, "version": version,
    }
    draft = Round(id=0, title=parts[0], questionnaire_version=version, opens_at=opens, closes_at=closes,
                  state="scheduled", weights=weights, created_at=context.now())
    await say(update, context, t("Please confirm the new round:") + "\n\n" + describe_round(draft, context),
              keyboard([button(t("✅ Create"), f"adm:rc:{token}"), button(t("✖️ Cancel"), f"adm:rx:{token}")]))


@admin_only
async def confirm_new_round(update: Update, context: KhoosheContext) -> None:
    """Creates the confirmed round (once: the token is used up)."""
    query = update.callback_query
    assert query is not None and query.data is not None
    t = context.t
    pending = context.user_data.get(PENDING)
    token = query.data.rsplit(":", 1)[1]
    if not pending or not secrets.compare_digest(pending["token"], token):
        await settle_query(update, text=t("This button is no longer active."))
        return
    del context.user_data[PENDING]
    await settle_query(update)
    if query.data.startswith("adm:rx:"):
        await close_prompt(update, t("Cancelled; no round was created."))
        return
    opens, closes = datetime.fromisoformat(pending["opens"]), datetime.fromisoformat(pending["closes"])
    async with context.db.transaction() as repo:
        created = await repo.rounds.create(
            title=pending["title"], questionnaire_version=pending["version"], opens_at=opens,
            closes_at=closes, state="scheduled", weights=pending["weights"],
        )
    await close_prompt(update, t("✅ Round #{id} created. It opens by itself at its opening time.",
                                 id=number(created.id, context.lang)))
    await after_change(context)


async def after_change(context: KhoosheContext) -> None:
    """Reschedules the exact open/close jobs and runs a tick at once."""
    from bot.application import schedule_round_edges, tick

    await schedule_round_edges(context.application)
    await tick(context)


@admin_only
async def edit_round(update: Update, context: KhoosheContext) -> None:
    """Changes the title, dates or weights of a round that has not opened yet."""
    t, zone = context.t, context.settings.zone
    found = await find_round(update, context)
    if found is None:
        return
    args = context.args or []
    if len(args) < 3 or args[1] not in ("title", "opens", "closes", "weights"):
        await say(update, context, t("Usage: /editround ID title|opens|closes|weights VALUE"))
        return
    if found.state != "scheduled":
        await say(update, context, t("Only a round that has not opened can be edited; use /extend to move the closing date of an open round."))
        return
    field, value = args[1], " ".join(args[2:])
    changes: dict[str, Any] = {}
    try:
        if field == "title":
            changes["title"] = value.strip()
        elif field == "opens":
            changes["opens_at"] = parse_jalali_datetime(value, zone, default=time(8, 0))
        elif field == "closes":
            changes["closes_at"] = parse_jalali_datetime(value, zone, default=time(23, 59))
        else:
            changes["weights"] = parse_weights(value, found.questionnaire_version)
    except BadDate:
        await say(update, context, t("«{text}» is not a Solar Hijri date like 1405/10/01 or 1405/10/01 08:00.", text=esc(value)))
        return
    except ValueError:
        await say(update, context, t("Weights must be four non-negative numbers, not all zero, such as 2,1,1,1."))
        return
    opens = changes.get("opens_at", found.opens_at)
    closes = changes.get("closes_at", found.closes_at)
    if closes <= opens:
        await say(update, context, t("The closing time must come after the opening time."))
        return
    async with context.db.transaction() as repo:
        await repo.rounds.update(found.id, **changes)
        updated = await repo.rounds.get(found.id)
    assert updated is not None
    await say(update, context, t("Round updated:") + "\n\n" + describe_round(updated, context))
    await after_change(context)


@admin_only
async def open_now(update: Update, context: KhoosheContext) -> None:
    """Opens a scheduled round now (and announces it)."""
    t = context.t
    found = await find_round(update, context)
    if found is None:
        return
    now = context.now()
    async with context.db.transaction() as repo:
        current = await repo.rounds.open_round()
        if found.state != "scheduled":
            message = t("Round #{id} is not waiting to open.", id=number(found.id, context.lang))
        elif current is not None:
            message = t("Round #{id} is open; close it before opening another.", id=number(current.id, context.lang))
        elif found.closes_at <= now:
            message = t("Its closing time has passed; extend it first with /extend.")
        else:
            await repo.rounds.update(found.id, opens_at=now)
            message = None
    if message:
        await say(update, context, message)
        return
    await after_change(context)
    await say(update, context, t("✅ Round #{id} is open and firms are being told.", id=number(found.id, context.lang)))


@admin_only
async def close_now(update: Update, context: KhoosheContext) -> None:
    """Closes the open round now; its submissions are scored and ranked."""
    t = context.t
    found = await find_round(update, context)
    if found is None:
        return
    if found.state != "open":
        await say(update, context, t("Round #{id} is not open.", id=number(found.id, context.lang)))
        return
    async with context.db.transaction() as repo:
        await repo.rounds.update(found.id, closes_at=context.now())
    await after_change(context)
    async with context.db.read() as repo:
        scored = await repo.scores.count(found.id)
    await say(update, context, t("✅ Round #{id} is closed; {n} firms were scored. Publish the results with /publish {id}.",
                                 id=number(found.id, context.lang), n=number(scored, context.lang)))


@admin_only
async def extend(update: Update, context: KhoosheContext) -> None:
    """Moves the closing date of a scheduled or open round later."""
    t, zone = context.t, context.settings.zone
    found = await find_round(update, context)
    if found is None:
        return
    args = context.args or []
    if len(args) < 2:
        await say(update, context, t("Usage: /extend ID 1405/11/10 [23:59]"))
        return
    try:
        closes = parse_jalali_datetime(" ".join(args[1:]), zone, default=time(23, 59))
    except BadDate:
        await say(update, context, t("«{text}» is not a Solar Hijri date like 1405/10/01 or 1405/10/01 08:00.", text=esc(" ".join(args[1:]))))
        return
    if found.state == "closed":
        await say(update, context, t("Round #{id} is already closed.", id=number(found.id, context.lang)))
        return
    if closes <= found.closes_at:
        await say(update, context, t("The new closing time must be later than the current one ({current}).",
                                     current=format_datetime(found.closes_at, context.lang, zone)))
        return
    async with context.db.transaction() as repo:
        await repo.rounds.update(found.id, closes_at=closes)
    await after_change(context)
    await say(update, context, t("✅ Round #{id} now closes {closes} (Tehran time).", id=number(found.id, context.lang),
                                 closes=format_datetime(closes, context.lang, zone)))


@admin_only
async def publish(update: Update, context: KhoosheContext) -> None:
    """Publishes a closed round: every scored firm gets its summary through the outbox."""
    t = context.t
    found = await find_round(update, context)
    if found is None:
        return
    if found.state != "closed" or found.scored_at is None:
        await say(update, context, t("Only a closed, scored round can be published."))
        return
    queued = await publishing.publish(context.services, found, context.now())
    if context.services.worker is not None:
        context.services.worker.wake()
    await say(update, context, t("✅ Round #{id} published; {n} summaries are on their way.",
                                 id=number(found.id, context.lang), n=number(queued, context.lang)))


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
    await say(update, context, t("Under weights {weights}: {changed} of {total} firms change national rank; the largest move is {max} places, the average {mean}.",
                                 weights=" / ".join(number(w, lang, decimals=2) for w in weights.values()),
                                 changed=number(result.changed, lang), total=number(result.total, lang),
                                 max=number(result.max_shift, lang), mean=number(result.mean_shift, lang, decimals=1)))


def register(app: Application) -> None:
    app.add_handler(CommandHandler("rounds", list_rounds))
    app.add_handler(CommandHandler("newround", new_round))
    app.add_handler(CommandHandler("editround", edit_round))
    app.add_handler(CommandHandler("openround", open_now))
    app.add_handler(CommandHandler("closeround", close_now))
    app.add_handler(CommandHandler("extend", extend))
    app.add_handler(CommandHandler("publish", publish))
    app.add_handler(CommandHandler("sensitivity", sensitivity))
    app.add_handler(CallbackQueryHandler(confirm_new_round, pattern=r"^adm:r[cx]:[\w-]+$"))
