"""Admins manage estates and clusters from the chat: list and search, add, rename, deactivate and
reactivate, and bulk import from a CSV document (the same format as the command-line import).
"""

from __future__ import annotations

import logging
import re
import secrets

from telegram import Update
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.context import KhoosheApp, KhoosheContext
from bot.domain import callbacks as cb
from bot.domain.text import normalize, number, parse_id
from bot.i18n import N_, Translator
from bot.services.access import Role
from bot.services.places import What
from bot.services.places_import import ImportReport, TooManyRows, UnreadableLine, WrongColumns
from bot.transport.download import FileTooLarge, download_file
from handlers.common.guard import requires
from handlers.common.privileged import body_of, int_arg, user_id_of
from handlers.common.ui import button, close_prompt, esc, keyboard, say, settle_query

log = logging.getLogger(__name__)

admin_only = requires(Role.ADMIN)


def translate_reason(reason: str, t: Translator, lang: str = "fa") -> str:
    """The import's English reasons (bot.services.places_import) in the reader's language."""
    if m := re.fullmatch(r"unknown province (.*)", reason):
        return t("unknown province {name}", name=esc(m.group(1)))
    if reason == "the name is empty":
        return t("the name is empty")
    if m := re.fullmatch(r"kind must be one of .*, not (.*)", reason):
        return t("the kind must be estate, zone or park, not {kind}", kind=esc(m.group(1)))
    if m := re.fullmatch(r"unknown ISIC section (.*)", reason):
        return t("unknown ISIC section {code}", code=esc(m.group(1)))
    # The column names are the file's own header words, the same in every language.
    if m := re.fullmatch(r"the (\w+) is longer than (\d+) characters", reason):
        return t("the {column} is longer than {limit} characters", column=m.group(1), limit=number(int(m.group(2)), lang))
    if m := re.fullmatch(r"the (\w+) holds a control character .*", reason):
        return t("the {column} holds a control character (a line break or similar)", column=m.group(1))
    return esc(reason)


def describe_report(report: ImportReport, what: str, context: KhoosheContext) -> str:
    t, lang = context.t, context.lang
    title = t("Estates import") if what == "estates" else t("Clusters import")
    lines = [t("<b>{title}</b>: added {added}, skipped {skipped} (already there), rejected {rejected}.",
               title=title, added=number(len(report.added), lang), skipped=number(len(report.skipped), lang),
               rejected=number(len(report.rejected), lang))]
    for line, why in report.rejected[:50]:
        lines.append(t("line {line}: {reason}", line=number(line, lang, grouping=False),
                       reason=translate_reason(why, t, lang)))
    if len(report.rejected) > 50:
        lines.append(t("…and {n} more.", n=number(len(report.rejected) - 50, lang)))
    return "\n".join(lines)


# --- estates and clusters: list, add, rename, (de)activate ---------------------------------------


async def _list(update: Update, context: KhoosheContext, what: What) -> None:
    t, lang = context.t, context.lang
    text = normalize(" ".join(context.args or []))
    found = await context.services.places.search(user_id_of(update), what, text)
    if not found.items:
        await say(update, context, t("Nothing matches «{text}».", text=esc(text)) if text else t("None yet."))
        return
    lines = [t("<b>{shown} of {total}</b>", shown=number(len(found.items), lang), total=number(found.total, lang))]
    for item in found.items:
        province = found.provinces.get(item.province_id)
        extra = "" if item.active else " " + t("(inactive)")
        lines.append(t("#{id} {name} – {province}", id=number(item.id, lang), name=esc(item.name),
                       province=esc(province.name(lang) if province else "?")) + extra)
    if found.total > len(found.items):
        lines.append(t("Type part of a name or a province after the command to narrow the list, "
                       "for example /estates Abbas or /estates Tehran."))
    await say(update, context, "\n".join(lines))


@admin_only
async def list_estates(update: Update, context: KhoosheContext) -> None:
    """/estates [text]: estates whose name contains the text (at most 30, with the total)."""
    await _list(update, context, "estates")


@admin_only
async def list_clusters(update: Update, context: KhoosheContext) -> None:
    """/clusters [text]."""
    await _list(update, context, "clusters")


async def _add(update: Update, context: KhoosheContext, what: What) -> None:
    t, lang = context.t, context.lang
    parts = [p.strip() for p in body_of(update).split("|")]
    if len(parts) < 2 or not parts[1]:
        usage = (t("Usage: /addestate PROVINCE | NAME | KIND (estate, zone or park)") if what == "estates"
                 else t("Usage: /addcluster PROVINCE | NAME | SECTOR (an ISIC letter such as C)"))
        await say(update, context, usage)
        return
    added = await context.services.places.add(user_id_of(update), what, parts[0], parts[1],
                                              parts[2] if len(parts) > 2 else "")
    if added.rejected is not None:
        await say(update, context, t("Not added: {reason}", reason=translate_reason(added.rejected, t, lang)))
    elif added.skipped:
        await say(update, context, t("«{name}» is already there.", name=esc(added.name)))
    else:
        await say(update, context, t("✅ Added «{name}» as #{id}.", name=esc(added.name),
                                     id=number(added.new_id or 0, lang)))


@admin_only
async def add_estate(update: Update, context: KhoosheContext) -> None:
    """/addestate PROVINCE | NAME | KIND."""
    await _add(update, context, "estates")


@admin_only
async def add_cluster(update: Update, context: KhoosheContext) -> None:
    """/addcluster PROVINCE | NAME | SECTOR."""
    await _add(update, context, "clusters")


async def _rename(update: Update, context: KhoosheContext, what: What) -> None:
    t, lang = context.t, context.lang
    parts = [p.strip() for p in body_of(update).split("|", 1)]
    item_id = parse_id(parts[0]) or 0
    new_name = normalize(parts[1]) if len(parts) > 1 else ""
    if not item_id or not new_name:
        await say(update, context, t("Usage: /renameestate ID | NEW NAME") if what == "estates"
                  else t("Usage: /renamecluster ID | NEW NAME"))
        return
    outcome = await context.services.places.rename(user_id_of(update), what, item_id, new_name)
    if outcome == "missing":
        await say(update, context, t("There is no #{id}.", id=number(item_id, lang)))
    elif outcome == "taken":
        await say(update, context, t("Another one in the same province is already called «{name}».", name=esc(new_name)))
    else:
        await say(update, context, t("✅ #{id} is now called «{name}».", id=number(item_id, lang), name=esc(new_name)))


@admin_only
async def rename_estate(update: Update, context: KhoosheContext) -> None:
    """/renameestate ID | NEW NAME."""
    await _rename(update, context, "estates")


@admin_only
async def rename_cluster(update: Update, context: KhoosheContext) -> None:
    """/renamecluster ID | NEW NAME."""
    await _rename(update, context, "clusters")


async def _set_active(update: Update, context: KhoosheContext, what: What, active: bool) -> None:
    t, lang = context.t, context.lang
    item_id = int_arg(context)
    if item_id is None:
        await say(update, context, t("Please give the number, for example /deactivateestate 12."))
        return
    item = await context.services.places.set_active(user_id_of(update), what, item_id, active)
    if item is None:
        await say(update, context, t("There is no #{id}.", id=number(item_id, lang)))
    elif active:
        await say(update, context, t("✅ «{name}» is active again; firms can choose it when they register.", name=esc(item.name)))
    else:
        await say(update, context, t("✅ «{name}» is deactivated; new firms can no longer choose it. Firms already registered keep it.",
                                     name=esc(item.name)))


@admin_only
async def deactivate_estate(update: Update, context: KhoosheContext) -> None:
    await _set_active(update, context, "estates", False)


@admin_only
async def reactivate_estate(update: Update, context: KhoosheContext) -> None:
    await _set_active(update, context, "estates", True)


@admin_only
async def deactivate_cluster(update: Update, context: KhoosheContext) -> None:
    await _set_active(update, context, "clusters", False)


@admin_only
async def reactivate_cluster(update: Update, context: KhoosheContext) -> None:
    await _set_active(update, context, "clusters", True)


# --- bulk import from a CSV document ----------------------------------------------------------------

IMPORT_HELP = N_(
    "To import, send the CSV file with the caption /import estates (columns province,name,kind) "
    "or /import clusters (columns province,name,sector). You can also send the file alone and choose."
)


async def run_import(update: Update, context: KhoosheContext, file_id: str, size: int | None, what: What) -> None:
    """Downloads the file (never more than KHOOSHE_IMPORT_MAX_BYTES of it: the size a message
    states is optional), imports it and answers with the report."""
    t, lang = context.t, context.lang
    places, limit = context.services.places, context.services.settings.import_max_bytes
    try:
        if size is not None and size > limit:
            raise FileTooLarge
        data = await download_file(context.bot, file_id, limit)
    except FileTooLarge:
        await places.import_refused(user_id_of(update), what, f"larger than {limit} bytes")
        await say(update, context, t(
            "The file is larger than {megabytes} MB; nothing was imported. Split it into smaller files and send them one by one.",
            megabytes=number(limit / 2**20, lang, decimals=1)))
        return
    try:
        report = await places.import_file(user_id_of(update), what, data)
    except TooManyRows as exc:
        await say(update, context, t(
            "The file has more than {limit} rows; nothing was imported. Split it into files of at most {limit} rows"
            " and send them one by one.", limit=number(exc.limit, lang)))
        return
    except WrongColumns as exc:
        if exc.reason == "other_kind":
            text = t("This looks like a {other} file, not a {chosen} one; nothing was imported. An {chosen} file's "
                     "first line is: {header}", other=t("clusters") if what == "estates" else t("estates"),
                     chosen=t(what), header=exc.header)
        else:
            text = t("The first line must be the header: {header} (then one row per line); nothing was imported.",
                     header=exc.header)
        await say(update, context, text)
        return
    except UnreadableLine as exc:
        await say(update, context, t(
            "Line {line} cannot be read as CSV (a stray quote or line break, or a very long field); nothing was"
            " imported. Fix that line and send the file again.", line=number(exc.line, lang, grouping=False)))
        return
    if report is None:
        await say(update, context, t("The file is not UTF-8 text. In Excel choose «Save as» → «CSV UTF-8», then send it again."))
        return
    await say(update, context, describe_report(report, what, context))


def _what(word: str) -> What | None:
    word = normalize(word).casefold()
    choices: dict[str, What] = {"estates": "estates", "estate": "estates", "clusters": "clusters", "cluster": "clusters"}
    return choices.get(word)


@admin_only
async def import_with_caption(update: Update, context: KhoosheContext) -> None:
    """A document captioned /import estates|clusters."""
    message = update.message
    assert message is not None and message.document is not None
    words = (message.caption or "").split()
    what = _what(words[1]) if len(words) > 1 else None
    if what is None:
        await ask_what(update, context)
        return
    await run_import(update, context, message.document.file_id, message.document.file_size, what)


@admin_only
async def import_command(update: Update, context: KhoosheContext) -> None:
    """/import typed without a file: explains how."""
    await say(update, context, context.t(IMPORT_HELP))


async def ask_what(update: Update, context: KhoosheContext) -> None:
    message = update.message
    assert message is not None and message.document is not None
    nonce = secrets.token_urlsafe(9)
    context.user_data.import_file = {"nonce": nonce, "file_id": message.document.file_id,
                                       "size": message.document.file_size}
    t = context.t
    await say(update, context, t("What does this file hold?"), keyboard(
        [button(t("🏭 Estates"), cb.IMPORT_KIND.build("e", nonce)), button(t("🤝 Clusters"), cb.IMPORT_KIND.build("c", nonce))],
        [button(t("✖️ Cancel"), cb.IMPORT_KIND.build("x", nonce))]))


async def plain_document(update: Update, context: KhoosheContext) -> None:
    """A CSV sent without a caption: admins are asked what it is; anyone else gets the menu."""
    from handlers.common.menu import show_menu

    user = update.effective_user
    assert user is not None
    access = await context.services.menu.access(user.id)
    if not access.is_admin:
        await show_menu(update, context)
        return
    await ask_what(update, context)


@admin_only
async def chosen_import(update: Update, context: KhoosheContext) -> None:
    """The estates/clusters button under a sent file (once, by the admin who sent it)."""
    query = update.callback_query
    assert query is not None and query.data is not None
    t = context.t
    pending = context.user_data.import_file
    kind, nonce = cb.IMPORT_KIND.parse(query.data)
    if not pending or not secrets.compare_digest(pending["nonce"], nonce):
        await settle_query(update, text=t("This button is no longer active."))
        return
    context.user_data.import_file = None
    await settle_query(update)
    if kind == "x":
        await close_prompt(update, t("Cancelled; nothing was imported."))
        return
    what: What = "estates" if kind == "e" else "clusters"
    await close_prompt(update, t("Importing {what}…", what=t("estates") if what == "estates" else t("clusters")))
    await run_import(update, context, pending["file_id"], pending["size"], what)


@admin_only
async def move_firm(update: Update, context: KhoosheContext) -> None:
    """/moveestate FIRM_ID ESTATE_ID: corrects the estate a firm registered in."""
    t, lang = context.t, context.lang
    firm_id, estate_id = int_arg(context, 0), int_arg(context, 1)
    if firm_id is None or estate_id is None:
        await say(update, context, t("Usage: /moveestate FIRM_ID ESTATE_ID (/find shows a firm's number, /estates an estate's)"))
        return
    moved = await context.services.places.move_firm(user_id_of(update), firm_id, estate_id)
    if moved == "no_firm":
        await say(update, context, t("There is no firm #{id}; /find shows a firm's number.",
                                     id=number(firm_id, lang, grouping=False)))
        return
    if moved == "no_estate":
        await say(update, context, t("There is no estate #{id}; /estates lists them.",
                                     id=number(estate_id, lang, grouping=False)))
        return
    text = t("✅ «{firm}» is now in «{after}» (was «{before}»). Scores already computed keep the estate they were ranked in.",
             firm=esc(moved.firm_name), after=esc(moved.after), before=esc(moved.before or "?"))
    if moved.cluster_dropped:
        text += "\n" + t("Its cluster was in another province, so it no longer has one; the owner can choose one in /profile.")
    await say(update, context, text)


def register(app: KhoosheApp) -> None:
    app.add_handler(CommandHandler("estates", list_estates))
    app.add_handler(CommandHandler("clusters", list_clusters))
    app.add_handler(CommandHandler("addestate", add_estate))
    app.add_handler(CommandHandler("addcluster", add_cluster))
    app.add_handler(CommandHandler("renameestate", rename_estate))
    app.add_handler(CommandHandler("renamecluster", rename_cluster))
    app.add_handler(CommandHandler("deactivateestate", deactivate_estate))
    app.add_handler(CommandHandler("reactivateestate", reactivate_estate))
    app.add_handler(CommandHandler("deactivatecluster", deactivate_cluster))
    app.add_handler(CommandHandler("reactivatecluster", reactivate_cluster))
    app.add_handler(CommandHandler("moveestate", move_firm))
    app.add_handler(CommandHandler("import", import_command))
    app.add_handler(MessageHandler(filters.Document.ALL & filters.CaptionRegex(r"^/import(@\w+)?\b"), import_with_caption))
    app.add_handler(MessageHandler(filters.Document.FileExtension("csv") & ~filters.CAPTION, plain_document))
    app.add_handler(CallbackQueryHandler(chosen_import, pattern=cb.IMPORT_KIND.pattern))
