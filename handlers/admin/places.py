"""Admins manage estates and clusters from the chat: list and search, add (step by step, or in
one line), rename, deactivate and reactivate, and bulk import from a CSV or .xlsx document (the
same format as the command-line import).

``/addestate`` and ``/addcluster`` alone ask one question per message: the province (buttons,
paged), the name (typed), the kind or the sector (buttons), then a confirmation, which warns of
a near-duplicate name in the province (``PlacesService.add``) and adds it only if confirmed.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from enum import IntEnum
from typing import Any

from telegram import Message, Update
from telegram.constants import ParseMode
from telegram.error import TelegramError
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
from bot.domain.sectors import SECTORS
from bot.domain.text import normalize, number, parse_id
from bot.i18n import N_, Translator
from bot.services.access import Role
from bot.services.places import LIST_CAP, Added, Renamed, What
from bot.services.places_import import (
    CHUNK_ROWS,
    ESTATE_KINDS,
    MAX_FIELD_CHARS,
    ImportReport,
    NotAWorkbook,
    TooManyRows,
    UnreadableLine,
    WrongColumns,
)
from bot.transport.download import FileTooLarge, download_file
from handlers.common.guard import requires
from handlers.common.privileged import body_of, int_arg, user_id_of
from handlers.common.ui import button, close_prompt, esc, keyboard, rows, say, settle_query, show
from storage.models import Province

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
    if report.near:
        command = "/addestate" if what == "estates" else "/addcluster"
        lines += ["", t("⚠️ Not added, {n} names that look like one already there (spelled another way). If one is "
                        "really another place, add it with {command}; it asks before adding.",
                        n=number(len(report.near), lang), command=command)]
        for near in report.near[:50]:
            like = (t("«{name}» (#{id})", name=esc(near.like), id=number(near.like_id, lang, grouping=False))
                    if near.like_id is not None else
                    t("«{name}» (line {line} of this file)", name=esc(near.like),
                      line=number(near.like_line or 0, lang, grouping=False)))
            lines.append(t("line {line}: «{name}» looks like {like}", line=number(near.line, lang, grouping=False),
                           name=esc(near.name), like=like))
        if len(report.near) > 50:
            lines.append(t("…and {n} more.", n=number(len(report.near) - 50, lang)))
    return "\n".join(lines)


# --- estates and clusters: list, add, rename, (de)activate ---------------------------------------


async def _list(update: Update, context: KhoosheContext, what: What, text: str, page: int = 0) -> None:
    t, lang = context.t, context.lang
    found = await context.services.places.search(user_id_of(update), what, text, page=page)
    if not found.items:
        await say(update, context, t("Nothing matches «{text}».", text=esc(text)) if text else t("None yet."))
        return
    first = found.page * LIST_CAP + 1
    lines = [t("<b>{first}–{last} of {total}</b>", first=number(first, lang),
               last=number(first + len(found.items) - 1, lang), total=number(found.total, lang))]
    for item in found.items:
        province = found.provinces.get(item.province_id)
        extra = "" if item.active else " " + t("(inactive)")
        lines.append(t("#{id} {name} – {province}", id=number(item.id, lang), name=esc(item.name),
                       province=esc(province.name(lang) if province else "?")) + extra)
    markup = None
    if found.last_page:
        lines.append(t("Page {page} of {pages}", page=number(found.page + 1, lang),
                       pages=number(found.last_page + 1, lang)))
        markup = keyboard(page_turns(t, found.page, found.total, LIST_CAP,
                                     lambda page: cb.PLACE_LIST_PAGE.build(what, page)))
        if found.page == 0:
            lines.append(t("Type part of a name or a province after the command to narrow the list, "
                           "for example /estates Abbas or /estates Tehran."))
    await show(update, context, "\n".join(lines), markup, replace=update.callback_query is not None)


async def _list_command(update: Update, context: KhoosheContext, what: What) -> None:
    text = normalize(" ".join(context.args or []))
    context.user_data.place_query = text
    await _list(update, context, what, text)


@admin_only
async def list_page(update: Update, context: KhoosheContext) -> None:
    """⬅️/➡️ on a /estates or /clusters list: the same search, another page, edited in place."""
    query = update.callback_query
    assert query is not None and query.data is not None
    what, page = cb.PLACE_LIST_PAGE.parse(query.data)
    await settle_query(update)
    await _list(update, context, "estates" if what == "estates" else "clusters",
                context.user_data.place_query or "", int(page))


@admin_only
async def list_estates(update: Update, context: KhoosheContext) -> None:
    """/estates [text]: estates whose name contains the text, 30 a page, with the total."""
    await _list_command(update, context, "estates")


@admin_only
async def list_clusters(update: Update, context: KhoosheContext) -> None:
    """/clusters [text]."""
    await _list_command(update, context, "clusters")


class AddStep(IntEnum):
    PROVINCE = 1
    NAME = 2
    KIND = 3
    CONFIRM = 4


#: The kinds of estate, as the buttons name them.
KIND_LABELS = {"estate": N_("Industrial estate"), "zone": N_("Industrial zone"), "park": N_("Technology park")}
assert set(KIND_LABELS) == set(ESTATE_KINDS)
#: Provinces on one page of buttons (three to a row).
PROVINCES_PER_PAGE = 18


def page_of(items: list[Any], page: int, size: int) -> tuple[list[Any], int]:
    """The items of ``page`` (clamped to the pages there are) and that page's number."""
    last = max(0, (len(items) - 1) // size)
    page = min(max(page, 0), last)
    return items[page * size:(page + 1) * size], page


def page_turns(t: Translator, page: int, total: int, size: int, data: Any) -> list[Any]:
    """The « Previous / Next » buttons of a paged list (``data(page)`` their callback data)."""
    turns = []
    if page > 0:
        turns.append(button(t("« Previous"), data(page - 1)))
    if (page + 1) * size < total:
        turns.append(button(t("Next »"), data(page + 1)))
    return turns


def province_buttons(provinces: list[Province], lang: str, page: int, chosen: Any, turn: Any,
                     t: Translator) -> list[list[Any]]:
    shown, page = page_of(provinces, page, PROVINCES_PER_PAGE)
    buttons = rows([button(p.name(lang), chosen(p.id)) for p in shown], 3)
    turns = page_turns(t, page, len(provinces), PROVINCES_PER_PAGE, turn)
    return [*buttons, turns] if turns else buttons


def draft_of(context: KhoosheContext) -> dict[str, Any] | None:
    return context.user_data.place_draft


def usage(t: Translator, what: What) -> str:
    if what == "estates":
        return t("Send /addestate alone to be asked step by step, or in one line: "
                 "/addestate PROVINCE | NAME | KIND (estate, zone or park)")
    return t("Send /addcluster alone to be asked step by step, or in one line: "
             "/addcluster PROVINCE | NAME | SECTOR (an ISIC letter such as C)")


async def _begin(update: Update, context: KhoosheContext, what: What) -> AddStep | int:
    t = context.t
    body = body_of(update)
    context.user_data.place_draft = None  # a flow begun earlier ends here
    if body:
        return await _add_line(update, context, what, body)
    context.user_data.place_draft = {"what": what, "nonce": secrets.token_urlsafe(9)}
    await say(update, context, province_question(t, what), keyboard(*await _province_keyboard(context, 0)))
    return AddStep.PROVINCE


def province_question(t: Translator, what: What) -> str:
    return (t("🏭 New estate. In which province is it? (/cancel stops)") if what == "estates"
            else t("🤝 New cluster. In which province is it? (/cancel stops)"))


async def _province_keyboard(context: KhoosheContext, page: int) -> list[list[Any]]:
    provinces = await context.services.places.provinces()
    buttons = province_buttons(provinces, context.lang, page, cb.PLACE_PROVINCE.build, cb.PLACE_PROVINCE_PAGE.build,
                               context.t)
    return [*buttons, [button(context.t("✖️ Cancel"), cb.PLACE_LEAVE.build())]]


async def _add_line(update: Update, context: KhoosheContext, what: What, body: str) -> AddStep | int:
    """The one-line form: added at once, unless it looks like one already there."""
    t = context.t
    parts = [p.strip() for p in body.split("|")]
    if len(parts) < 2 or not parts[1]:
        await say(update, context, usage(t, what))
        return ConversationHandler.END
    third = parts[2] if len(parts) > 2 else ""
    added = await context.services.places.add(user_id_of(update), what, parts[0], parts[1], third)
    if added.similar:
        context.user_data.place_draft = {"what": what, "province": parts[0], "name": added.name, "third": third,
                                         "nonce": secrets.token_urlsafe(9), "warned": True}
        await say(update, context, similar_text(added, context), keyboard(
            [button(t("➕ Add anyway"), cb.PLACE_ADD.build(context.user_data.place_draft["nonce"]))],
            [button(t("✖️ Cancel"), cb.PLACE_LEAVE.build())]))
        return AddStep.CONFIRM
    await say(update, context, added_text(added, what, context))
    return ConversationHandler.END


def similar_text(added: Added, context: KhoosheContext) -> str:
    t, lang = context.t, context.lang
    like = t(", ").join(t("«{name}» (#{id})", name=esc(name), id=number(i, lang, grouping=False))
                        for i, name in added.similar)
    return t("⚠️ «{name}» looks like {like}, already in this province (spelled another way). Add it anyway?",
             name=esc(added.name), like=like)


def added_text(added: Added, what: What, context: KhoosheContext) -> str:
    t, lang = context.t, context.lang
    if added.rejected is not None:
        return t("Not added: {reason}", reason=translate_reason(added.rejected, t, lang))
    if added.skipped:
        return t("«{name}» is already there (#{id}).", name=esc(added.name),
                 id=number(added.existing_id or 0, lang, grouping=False))
    return t("✅ Added «{name}» as #{id}.", name=esc(added.name), id=number(added.new_id or 0, lang, grouping=False))


@admin_only
async def add_estate(update: Update, context: KhoosheContext) -> AddStep | int:
    """/addestate (step by step) or /addestate PROVINCE | NAME | KIND."""
    return await _begin(update, context, "estates")


@admin_only
async def add_cluster(update: Update, context: KhoosheContext) -> AddStep | int:
    """/addcluster (step by step) or /addcluster PROVINCE | NAME | SECTOR."""
    return await _begin(update, context, "clusters")


@admin_only
async def turn_province_page(update: Update, context: KhoosheContext) -> None:
    query = update.callback_query
    draft = draft_of(context)
    assert query is not None
    if draft is None:
        await settle_query(update, text=context.t("This button is no longer active."))
        return
    await settle_query(update)
    page = cb.PLACE_PROVINCE_PAGE.parse_int(query.data)
    await show(update, context, province_question(context.t, draft["what"]),
               keyboard(*await _province_keyboard(context, page)), replace=True)


@admin_only
async def chose_province(update: Update, context: KhoosheContext) -> AddStep | None:
    query = update.callback_query
    draft = draft_of(context)
    assert query is not None
    if draft is None:
        await settle_query(update, text=context.t("This button is no longer active."))
        return None
    province_id = cb.PLACE_PROVINCE.parse_int(query.data)
    province = next((p for p in await context.services.places.provinces() if p.id == province_id), None)
    if province is None:
        await settle_query(update, text=context.t("This button is no longer active."))
        return None
    await settle_query(update)
    await close_prompt(update, context.t("Province: <b>{name}</b>", name=esc(province.name(context.lang))))
    return await _ask_name(update, context, draft, province)


async def _ask_name(update: Update, context: KhoosheContext, draft: dict[str, Any], province: Province) -> AddStep:
    draft["province"], draft["province_id"], draft["province_name"] = str(province.id), province.id, province.name_fa
    draft["province_label"] = province.name(context.lang)
    await say(update, context, context.t("What is its name? Type it as it should appear, for example «{example}».",
                                         example=context.t("Abbasabad industrial estate")
                                         if draft["what"] == "estates" else context.t("Rafsanjan pistachio cluster")))
    return AddStep.NAME


@admin_only
async def typed_province(update: Update, context: KhoosheContext) -> AddStep | None:
    """A province typed instead of pressed: taken when it names one, else the buttons again."""
    draft = draft_of(context)
    if draft is None or update.message is None:
        return None
    typed = normalize(update.message.text).casefold()
    province = next((p for p in await context.services.places.provinces()
                     if typed in (normalize(p.name_fa).casefold(), p.name_en.casefold(), str(p.id))), None)
    if province is None:
        await say(update, context, context.t("Please choose the province with the buttons above, or /cancel to stop."))
        return None
    return await _ask_name(update, context, draft, province)


@admin_only
async def typed_name(update: Update, context: KhoosheContext) -> AddStep | None:
    t, lang = context.t, context.lang
    draft = draft_of(context)
    if draft is None or update.message is None:
        return None
    checked = await context.services.places.name_check(draft["what"], draft["province_id"], update.message.text or "")
    name = checked.name
    if checked.rejected is not None:
        await say(update, context, t("Please type the name on one line, at most {n} characters.",
                                     n=number(MAX_FIELD_CHARS, lang)))
        return None
    if checked.skipped:
        await say(update, context, t("«{name}» is already there (#{id}). Type another name, or /cancel to stop.",
                                     name=esc(name), id=number(checked.existing_id or 0, lang, grouping=False)))
        return None
    draft["name"] = name
    if draft.get("third") is not None:  # a new name after the kind was chosen: straight to the confirmation
        return await _confirm(update, context, draft)
    if draft["what"] == "estates":
        buttons = [[button(t(label), cb.PLACE_KIND.build(kind))] for kind, label in KIND_LABELS.items()]
        question = t("What kind of place is «{name}»?", name=esc(name))
    else:
        buttons = rows([button(t(label), cb.PLACE_SECTOR.build(code)) for code, label in SECTORS.items()], 2)
        buttons.append([button(t("Several sectors, or none"), cb.PLACE_SECTOR.build("none"))])
        question = t("Which sector are the firms of «{name}» in?", name=esc(name))
    await say(update, context, question, keyboard(*buttons, [button(t("✖️ Cancel"), cb.PLACE_LEAVE.build())]))
    return AddStep.KIND


@admin_only
async def chose_kind(update: Update, context: KhoosheContext) -> AddStep | None:
    query = update.callback_query
    draft = draft_of(context)
    assert query is not None
    if draft is None or "name" not in draft:
        await settle_query(update, text=context.t("This button is no longer active."))
        return None
    t = context.t
    if draft["what"] == "estates" and re.match(cb.PLACE_KIND.pattern, query.data or ""):
        (kind,) = cb.PLACE_KIND.parse(query.data)
        draft["third"], chosen = kind, t(KIND_LABELS[kind])
    elif draft["what"] == "clusters" and re.match(cb.PLACE_SECTOR.pattern, query.data or ""):
        (code,) = cb.PLACE_SECTOR.parse(query.data)
        draft["third"] = "" if code == "none" else code
        chosen = t("Several sectors, or none") if code == "none" else t(SECTORS[code])
    else:
        await settle_query(update, text=t("This button is no longer active."))
        return None
    await settle_query(update)
    await close_prompt(update, t("Kind: <b>{kind}</b>", kind=esc(chosen)) if draft["what"] == "estates"
                       else t("Sector: <b>{name}</b>", name=esc(chosen)))
    return await _confirm(update, context, draft)


def kind_label(draft: dict[str, Any], t: Translator) -> str:
    third = draft.get("third") or ""
    if draft["what"] == "estates":
        return t(KIND_LABELS.get(third or "estate", KIND_LABELS["estate"]))
    return t(SECTORS[third]) if third in SECTORS else t("Several sectors, or none")


async def _confirm(update: Update, context: KhoosheContext, draft: dict[str, Any]) -> AddStep:
    """The summary, with the near-duplicates of the province if there are any."""
    t = context.t
    checked = await context.services.places.name_check(draft["what"], draft["province_id"], draft["name"])
    lines = [t("<b>New estate</b>") if draft["what"] == "estates" else t("<b>New cluster</b>"),
             t("Province: <b>{name}</b>", name=esc(draft["province_label"])),
             t("Name: <b>{name}</b>", name=esc(draft["name"])),
             (t("Kind: <b>{kind}</b>", kind=esc(kind_label(draft, t))) if draft["what"] == "estates"
              else t("Sector: <b>{name}</b>", name=esc(kind_label(draft, t))))]
    nonce = draft["nonce"]
    if checked.similar:
        draft["warned"] = True
        lines += ["", similar_text(checked, context)]
        first = button(t("➕ Add anyway"), cb.PLACE_ADD.build(nonce))
    else:
        draft["warned"] = False
        lines += ["", t("Add it?")]
        first = button(t("✅ Add"), cb.PLACE_ADD.build(nonce))
    await say(update, context, "\n".join(lines), keyboard(
        [first], [button(t("✏️ Another name"), cb.PLACE_OTHER_NAME.build())],
        [button(t("✖️ Cancel"), cb.PLACE_LEAVE.build())]))
    return AddStep.CONFIRM


@admin_only
async def confirmed(update: Update, context: KhoosheContext) -> AddStep | int | None:
    """Adds it (a near-duplicate only if the warning was shown); checked again on the press."""
    query = update.callback_query
    draft = draft_of(context)
    assert query is not None
    (nonce,) = cb.PLACE_ADD.parse(query.data)
    if draft is None or "name" not in draft or not secrets.compare_digest(draft["nonce"], nonce):
        await settle_query(update, text=context.t("This button is no longer active."))
        return None
    await settle_query(update)
    what: What = draft["what"]
    added = await context.services.places.add(user_id_of(update), what, draft["province"], draft["name"],
                                              draft.get("third") or "", anyway=bool(draft.get("warned")))
    if added.similar:  # one spelled like it was added meanwhile
        await close_prompt(update, context.t("Not added yet."))
        return await _confirm(update, context, draft)
    context.user_data.place_draft = None
    await close_prompt(update, added_text(added, what, context))
    return ConversationHandler.END


@admin_only
async def other_name(update: Update, context: KhoosheContext) -> AddStep | None:
    draft = draft_of(context)
    if draft is None or "province_id" not in draft:
        await settle_query(update, text=context.t("This button is no longer active."))
        return None
    await settle_query(update)
    await close_prompt(update, context.t("Another name, then."))
    await say(update, context, context.t("What is its name?"))
    return AddStep.NAME


async def leave_add(update: Update, context: KhoosheContext) -> int:
    """/cancel (or the cancel button) at any step: nothing is added."""
    context.user_data.place_draft = None
    text = context.t("Cancelled; nothing was added.")
    if update.callback_query is not None:
        await settle_query(update)
        await close_prompt(update, text)
    else:
        await say(update, context, text)
    return ConversationHandler.END


async def use_buttons(update: Update, context: KhoosheContext) -> None:
    """Something typed where a button is expected."""
    await say(update, context, context.t("Please use the buttons above, or /cancel to stop."))


def add_conversation() -> ConversationHandler[KhoosheContext]:
    typed = filters.TEXT & ~filters.COMMAND
    leave: BaseHandler[Update, KhoosheContext, object] = CallbackQueryHandler(leave_add, pattern=cb.PLACE_LEAVE.pattern)
    return ConversationHandler(
        entry_points=[CommandHandler("addestate", add_estate), CommandHandler("addcluster", add_cluster)],
        states={
            AddStep.PROVINCE: [CallbackQueryHandler(chose_province, pattern=cb.PLACE_PROVINCE.pattern),
                               CallbackQueryHandler(turn_province_page, pattern=cb.PLACE_PROVINCE_PAGE.pattern),
                               MessageHandler(typed, typed_province), leave],
            AddStep.NAME: [MessageHandler(typed, typed_name), leave],
            AddStep.KIND: [CallbackQueryHandler(chose_kind, pattern=cb.PLACE_KIND.pattern),
                           CallbackQueryHandler(chose_kind, pattern=cb.PLACE_SECTOR.pattern),
                           MessageHandler(typed, use_buttons), leave],
            AddStep.CONFIRM: [CallbackQueryHandler(confirmed, pattern=cb.PLACE_ADD.pattern),
                              CallbackQueryHandler(other_name, pattern=cb.PLACE_OTHER_NAME.pattern),
                              MessageHandler(typed, use_buttons), leave],
        },
        fallbacks=[CommandHandler(["cancel", "start", "menu"], leave_add)],
        per_message=False,
        allow_reentry=True,
        name="add_place",
        # Its position is written down with the flow (bot.flows), so a restart resumes it.
        persistent=True,
    )


async def _rename(update: Update, context: KhoosheContext, what: What) -> None:
    t, lang = context.t, context.lang
    parts = [p.strip() for p in body_of(update).split("|", 1)]
    item_id = parse_id(parts[0]) or 0
    new_name = normalize(parts[1]) if len(parts) > 1 else ""
    if not item_id or not new_name:
        await say(update, context, t("Usage: /renameestate ID | NEW NAME") if what == "estates"
                  else t("Usage: /renamecluster ID | NEW NAME"))
        return
    renamed = await context.services.places.rename(user_id_of(update), what, item_id, new_name)
    if renamed.outcome == "similar":
        nonce = secrets.token_urlsafe(9)
        context.user_data.place_rename = {"what": what, "id": item_id, "name": new_name, "nonce": nonce}
        like = t(", ").join(t("«{name}» (#{id})", name=esc(name), id=number(i, lang, grouping=False))
                            for i, name in renamed.similar)
        await say(update, context, t("⚠️ «{name}» looks like {like}, already in this province (spelled another way). "
                                     "Rename #{id} anyway?", name=esc(new_name), like=like, id=number(item_id, lang)),
                  keyboard([button(t("✏️ Rename anyway"), cb.PLACE_RENAME.build(nonce))],
                           [button(t("✖️ Cancel"), cb.PLACE_RENAME_KEEP.build())]))
        return
    await say(update, context, renamed_text(renamed, item_id, new_name, context))


def renamed_text(renamed: Renamed, item_id: int, new_name: str, context: KhoosheContext) -> str:
    t, lang = context.t, context.lang
    if renamed.outcome == "missing":
        return t("There is no #{id}.", id=number(item_id, lang))
    if renamed.outcome == "taken":
        return t("Another one in the same province is already called «{name}».", name=esc(new_name))
    return t("✅ #{id} is now called «{name}».", id=number(item_id, lang), name=esc(new_name))


@admin_only
async def rename_anyway(update: Update, context: KhoosheContext) -> None:
    """«✏️ Rename anyway» under a near-duplicate warning: renames, checked again on the press."""
    query = update.callback_query
    pending = context.user_data.place_rename
    assert query is not None
    (nonce,) = cb.PLACE_RENAME.parse(query.data)
    if pending is None or not secrets.compare_digest(pending["nonce"], nonce):
        await settle_query(update, text=context.t("This button is no longer active."))
        return
    await settle_query(update)
    context.user_data.place_rename = None
    renamed = await context.services.places.rename(user_id_of(update), pending["what"], pending["id"], pending["name"],
                                                   anyway=True)
    await close_prompt(update, renamed_text(renamed, pending["id"], pending["name"], context))


@admin_only
async def keep_name(update: Update, context: KhoosheContext) -> None:
    """«✖️ Cancel» under a near-duplicate warning: the name stays."""
    await settle_query(update)
    context.user_data.place_rename = None
    await close_prompt(update, context.t("Cancelled; the name stays as it was."))


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


# --- bulk import from a CSV or .xlsx document ---------------------------------------------------

IMPORT_HELP = N_(
    "To import, send the CSV or Excel (.xlsx) file with the caption /import estates (columns province,name,kind) "
    "or /import clusters (columns province,name,sector). You can also send the file alone and choose."
)


class ImportProgress:
    """A message that shows how far a long import is (more than one chunk of rows): sent after
    the first chunk, edited at most every ``every`` seconds and once at the end."""

    def __init__(self, update: Update, context: KhoosheContext, *, every: float = 2.0) -> None:
        self.update, self.context, self.every = update, context, every
        self.message: Message | None = None
        self.shown_at = 0.0

    async def __call__(self, written: int, total: int) -> None:
        if total <= CHUNK_ROWS:
            return
        now = time.monotonic()
        if self.message is not None and written < total and now - self.shown_at < self.every:
            return
        t, lang = self.context.t, self.context.lang
        text = t("⏳ Importing: {written} of {total} rows written…", written=number(written, lang),
                 total=number(total, lang))
        self.shown_at = now
        try:
            if self.message is None:
                self.message = await say(self.update, self.context, text)
            else:
                await self.message.edit_text(text, parse_mode=ParseMode.HTML)
        except TelegramError:
            log.warning("could not show an import's progress", exc_info=True)  # the import goes on


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
        report = await places.import_file(user_id_of(update), what, data, progress=ImportProgress(update, context))
    except NotAWorkbook:
        await say(update, context, t("This file cannot be opened as an Excel workbook (.xlsx); nothing was imported. "
                                     "Save it again in Excel as «Excel Workbook», or as «CSV UTF-8»."))
        return
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
    """A CSV or .xlsx file sent without a caption: admins are asked what it is; anyone else gets the menu."""
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
    app.add_handler(CallbackQueryHandler(list_page, pattern=cb.PLACE_LIST_PAGE.pattern))
    app.add_handler(add_conversation())
    app.add_handler(CommandHandler("renameestate", rename_estate))
    app.add_handler(CommandHandler("renamecluster", rename_cluster))
    app.add_handler(CallbackQueryHandler(rename_anyway, pattern=cb.PLACE_RENAME.pattern))
    app.add_handler(CallbackQueryHandler(keep_name, pattern=cb.PLACE_RENAME_KEEP.pattern))
    app.add_handler(CommandHandler("deactivateestate", deactivate_estate))
    app.add_handler(CommandHandler("reactivateestate", reactivate_estate))
    app.add_handler(CommandHandler("deactivatecluster", deactivate_cluster))
    app.add_handler(CommandHandler("reactivatecluster", reactivate_cluster))
    app.add_handler(CommandHandler("moveestate", move_firm))
    app.add_handler(CommandHandler("import", import_command))
    app.add_handler(MessageHandler(filters.Document.ALL & filters.CaptionRegex(r"^/import(@\w+)?\b"), import_with_caption))
    app.add_handler(MessageHandler((filters.Document.FileExtension("csv") | filters.Document.FileExtension("xlsx"))
                                   & ~filters.CAPTION, plain_document))
    app.add_handler(CallbackQueryHandler(chosen_import, pattern=cb.IMPORT_KIND.pattern))
