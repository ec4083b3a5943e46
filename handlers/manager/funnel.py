"""/funnel [ESTATE_ID]: where firms give up in the open (or latest) round.

Admins see every estate, managers their own (or one of them); the estate is checked on the
server. One line per question, so it reads on a phone.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import CommandHandler

from bot.context import KhoosheApp, KhoosheContext
from bot.domain.ranking import MIN_GROUP
from bot.domain.text import localize_digits, number
from bot.i18n import Translator
from bot.services import funnel
from bot.services.access import Role
from handlers.common.guard import refuse, requires
from handlers.common.privileged import int_arg
from handlers.common.ui import esc, say

manager_only = requires(Role.MANAGER)
#: Characters of a question's text shown after its id.
SHORT_TEXT = 38


def short_text(view: funnel.FunnelView, qid: str, t: Translator, lang: str) -> str:
    if qid == funnel.REVIEW:
        return t("the review screen")
    assert view.questionnaire is not None
    text = view.questionnaire.question(qid).text.get(lang).replace("{fiscal_year}", "…").split("\n")[0]
    if len(text) > SHORT_TEXT:
        text = text[:SHORT_TEXT].rstrip() + "…"
    return t("{qid} · {text}", qid=qid, text=esc(localize_digits(text, lang)))


def duration(seconds: float, t: Translator, lang: str) -> str:
    if seconds < 90:
        return t("{n} s", n=number(round(seconds), lang))
    if seconds < 90 * 60:
        return t("{n} min", n=number(round(seconds / 60), lang))
    return t("{n} h", n=number(seconds / 3600, lang, decimals=1))


def render(view: funnel.FunnelView, t: Translator, lang: str) -> str:
    assert view.round is not None
    state = t("open") if view.round.state == "open" else t("closed")
    lines = [t("<b>Where firms give up</b> — {title} ({state})", title=esc(view.round.title), state=state),
             t("Firms in scope: {n}", n=number(view.firms, lang))]
    if view.withheld:
        lines.append(t("With fewer than {min} firms the funnel is not shown: its counts would tell "
                       "which firm stopped where.", min=number(MIN_GROUP, lang)))
        return "\n".join(lines)
    lines.append("")
    if view.announced:
        share = round(100 * view.never_started / view.announced)
        lines.append(t("📨 Got the announcement: {n}; never started: {k} ({share}%)",
                       n=number(view.announced, lang), k=number(view.never_started, lang),
                       share=number(share, lang)))
    else:
        lines.append(t("📨 No announcement of this round was delivered to these firms."))
    lines.append("")
    if view.stops:
        lines.append(t("<b>Drafts stopped at</b> ({n} drafts)", n=number(view.drafts, lang)))
        lines += [t("{question}: {n}", question=short_text(view, qid, t, lang), n=number(n, lang))
                  for qid, n in view.stops]
    else:
        lines.append(t("No draft is waiting unsubmitted."))
    lines.append("")
    if view.timings:
        lines.append(t("<b>Median time per question</b>"))
        for timing in view.timings:
            if timing.median_seconds is None:
                value = t("fewer than {min} answers", min=number(MIN_GROUP, lang))
            else:
                value = duration(timing.median_seconds, t, lang)
            lines.append(t("{question}: {value}", question=short_text(view, timing.qid, t, lang), value=value))
    else:
        lines.append(t("Nobody has answered a question yet."))
    return "\n".join(lines)


def chunks(text: str, limit: int = 3800) -> list[str]:
    """Splits on line boundaries under Telegram's 4096-character limit."""
    out: list[str] = []
    current: list[str] = []
    for line in text.split("\n"):
        if current and sum(len(x) + 1 for x in current) + len(line) > limit:
            out.append("\n".join(current))
            current = []
        current.append(line)
    if current:
        out.append("\n".join(current))
    return out


@manager_only
async def funnel_command(update: Update, context: KhoosheContext) -> None:
    """/funnel [ESTATE_ID]"""
    t, lang = context.t, context.lang
    estate_id = int_arg(context)
    if context.args and estate_id is None:
        await say(update, context, t("Usage: /funnel [ESTATE_ID]"))
        return
    if estate_id is not None:
        if not context.access.may_manage(estate_id):
            await refuse(context, update, "funnel", f"estate:{estate_id}", detail="not a manager of this estate")
            return
        async with context.db.read() as repo:
            found = await repo.estates.get(estate_id)
        if found is None:
            await say(update, context, t("There is no estate #{id}.", id=number(estate_id, lang)))
            return
    view = await funnel.funnel_report(context.db, context.access, estate_id)
    if view.round is None:
        await say(update, context, t("No round has opened yet."))
        return
    for text in chunks(render(view, t, lang)):
        await say(update, context, text)


def register(app: KhoosheApp) -> None:
    app.add_handler(CommandHandler("funnel", funnel_command))
