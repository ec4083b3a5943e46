"""Admins: national statistics (/stats), the top-100 list (/top) and the full export
(/exportall)."""

from __future__ import annotations

from telegram import InputFile, Update
from telegram.constants import ParseMode
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.context import KhoosheApp, KhoosheContext
from bot.domain import callbacks as cb
from bot.domain.calendar import file_date
from bot.domain.questionnaire import load_questionnaire
from bot.domain.text import number, parse_id
from bot.services import dashboard
from bot.services.access import Role, audit
from handlers.common.guard import requires
from handlers.common.menu import pressed
from handlers.common.ui import button, esc, keyboard, say

admin_only = requires(Role.ADMIN)


@admin_only
async def stats(update: Update, context: KhoosheContext) -> None:
    """Firms by province, the current round's completion and the national averages."""
    t, lang = context.t, context.lang
    user = update.effective_user
    assert user is not None
    async with context.db.transaction() as repo:
        provinces = {p.id: p.name(lang) for p in await repo.provinces.all()}
        by_province = await repo.reports.firms_by_province()
        round_ = await repo.reports.current_or_latest_round()
        completion = await repo.reports.completion(round_.id) if round_ else None
        scored = await repo.reports.latest_scored_round()
        nation = await repo.scores.peers_for(scored.id, "nation", 0) if scored else {}
        await audit(repo, user_id=user.id, action="stats")
    total = sum(by_province.values())
    lines = [t("📈 <b>National statistics</b>"), t("Firms registered: {n}", n=number(total, lang))]
    for pid, n in sorted(by_province.items(), key=lambda item: (-item[1], provinces.get(item[0], ""))):
        lines.append(t("• {province}: {n}", province=esc(provinces.get(pid, "?")), n=number(n, lang)))
    blocks = ["\n".join(lines)]
    if round_ is not None and completion is not None:
        blocks.append("\n".join([
            t("<b>Round «{title}»</b> ({state})", title=esc(round_.title),
              state=t("open") if round_.state == "open" else t("closed")),
            t("Submitted: {n} ({share}%)", n=number(completion["submitted"], lang),
              share=number(dashboard.share(completion["submitted"], total), lang)),
            t("In progress: {n}", n=number(completion["draft"], lang)),
            t("Not started: {n}", n=number(completion["not_started"], lang)),
        ]))
    if scored is not None:
        questionnaire = load_questionnaire(scored.questionnaire_version)
        head = t("<b>National averages, «{title}»</b>", title=esc(scored.title))
        if nation:
            body = [t("{dimension}: {mean}", dimension=d.title(lang), mean=number(nation[d.id].mean, lang, decimals=1))
                    for d in questionnaire.scored_dimensions if d.id in nation]
            if "composite" in nation:
                body.append(t("Overall: {mean} ({n} firms scored)", mean=number(nation["composite"].mean, lang, decimals=1),
                              n=number(nation["composite"].n, lang)))
            blocks.append("\n".join([head, *body]))
        else:
            blocks.append(head + "\n" + t("Fewer than 5 firms were scored; no averages are shown."))
    for text in dashboard.chunks(blocks):
        await say(update, context, text)


@admin_only
async def top(update: Update, context: KhoosheContext) -> None:
    """/top [ROUND_ID]: the national top 100 of the latest published round."""
    t, lang = context.t, context.lang
    user = update.effective_user
    assert user is not None
    args = context.args or []
    async with context.db.transaction() as repo:
        if args:
            round_id = parse_id(args[0])
            round_ = await repo.rounds.get(round_id) if round_id is not None else None
            if round_ is None or round_.scored_at is None:
                await say(update, context, t("There is no scored round with that number. /rounds lists them."))
                return
        else:
            round_ = await repo.reports.latest_published_round()
            if round_ is None:
                await say(update, context, t("No round has been published yet."))
                return
        entries, extended = await repo.scores.top(round_.id, 100)
        estates = {e: (await repo.estates.get(e)) for e in {x.estate_id for x in entries}}
        await audit(repo, user_id=user.id, action="top", target=f"round:{round_.id}")
    names = {k: v.name for k, v in estates.items() if v is not None}
    head = t("🏆 <b>Top 100, «{title}»</b>", title=esc(round_.title))
    if not entries:
        await say(update, context, head + "\n" + t("No firm was scored in this round."))
        return
    lines = [t("{rank}. {name} — {score}", rank=number(e.rank, lang), name=dashboard.top_label(e, names, t),
               score=number(e.composite, lang, decimals=1)) for e in entries]
    notes = [t("Firms that did not agree to be named are shown by their estate only.")]
    if extended:
        notes.append(t("Firms tied at the last place are all listed, so the list has {n} firms.",
                       n=number(len(entries), lang)))
    for text in dashboard.chunks([head, "\n".join(lines), "\n".join(notes)]):
        await say(update, context, text)


@admin_only
async def export_all(update: Update, context: KhoosheContext) -> None:
    """One workbook with every firm, submission and score."""
    # Loaded on the first export (openpyxl itself loads only where workbooks are built).
    from bot.services import exports

    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    await say(update, context, context.t("Preparing the export…"))
    # Read on a snapshot and built in the worker process: the writer is not held meanwhile.
    data = await exports.national_workbook(context.db, context.lang, context.settings)
    async with context.db.transaction() as repo:
        await audit(repo, user_id=user.id, action="exportall")
    day = file_date(context.now(), context.settings.zone)
    await context.bot.send_document(chat.id, InputFile(data, filename=f"khooshe-all-{day}.xlsx"),
                                    caption=context.t("📥 All firms, submissions and scores."))
    t = context.t
    await say(update, context, t("Every answer to every question, one row per firm and question, comes as a workbook "
                                 "of its own (it takes longer): the open or latest round with the button, another "
                                 "round with /exportanswers ROUND_ID."),
              keyboard([button(t("📄 Every answer, question by question"), cb.EXPORT_ANSWERS.build())]))


@admin_only
async def export_answers(update: Update, context: KhoosheContext) -> None:
    """/exportanswers [ROUND_ID]: every answer of the round (the open or latest by default)."""
    from bot.services import exports

    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    args = context.args or []
    round_id = parse_id(args[0]) if args else None
    if args and round_id is None:
        await say(update, context, context.t("There is no round with that number. /rounds lists them."))
        return
    await say(update, context, context.t("Preparing the export…"))
    built = await exports.answers_workbook(context.db, round_id, context.lang, context.settings)
    if built is None:
        await say(update, context, context.t("There is no round with that number. /rounds lists them."))
        return
    round_, data = built
    async with context.db.transaction() as repo:
        await audit(repo, user_id=user.id, action="exportanswers", target=f"round:{round_.id}")
    day = file_date(context.now(), context.settings.zone)
    await context.bot.send_document(
        chat.id, InputFile(data, filename=f"khooshe-answers-round-{round_.id}-{day}.xlsx"),
        caption=context.t("📥 Every answer of «{title}», one row per firm and question.", title=esc(round_.title)),
        parse_mode=ParseMode.HTML)


def register(app: KhoosheApp) -> None:
    app.add_handler(CommandHandler("stats", stats))
    for task, command in (("stats", stats), ("top", top), ("exportall", export_all)):
        app.add_handler(CallbackQueryHandler(pressed(command), pattern=cb.TASK.pattern_of(task)))
    app.add_handler(CommandHandler("top", top))
    app.add_handler(CommandHandler("exportall", export_all))
    app.add_handler(CommandHandler("exportanswers", export_answers))
    app.add_handler(CallbackQueryHandler(pressed(export_answers), pattern=cb.EXPORT_ANSWERS.pattern))
