"""Every user's data rights, from the settings screen: "my data" sends a JSON file of
everything stored about the user and their firm; "delete my data" asks once more, then removes
the firm's personal data (published aggregates stay; see storage/repositories/privacy.py)."""

from __future__ import annotations

import json
import secrets

from telegram import InputFile, Update
from telegram.ext import CallbackQueryHandler

from bot.context import KhoosheApp, KhoosheContext
from bot.domain import callbacks as cb
from handlers.common.ui import button, close_prompt, keyboard, say, settle_query


async def my_data(update: Update, context: KhoosheContext) -> None:
    """Sends the user's data as a JSON document."""
    await settle_query(update)
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    data = await context.services.privacy.export(user.id)
    body = json.dumps(data, ensure_ascii=False, indent=2, default=str).encode("utf-8")
    await context.bot.send_document(chat.id, InputFile(body, filename="khooshe-my-data.json"),
                                    caption=context.t("📦 Everything Khooshe stores about you and your firm."))


async def ask_delete(update: Update, context: KhoosheContext) -> None:
    """Explains what deleting does and asks for confirmation (a one-time button)."""
    await settle_query(update)
    t = context.t
    token = secrets.token_urlsafe(9)
    context.user_data.delete_token = token
    await say(update, context, t("🗑 <b>Delete my data?</b>\n\n"
                                 "Your firm's name, national ID, phone, profile details, unfinished answers and written notes "
                                 "will be removed, and you will get no more messages about this firm. "
                                 "Scores and rankings already published stay, without your firm's name. "
                                 "You can register again afterwards.\n\nThis cannot be undone."),
              keyboard([button(t("🗑 Yes, delete"), cb.PRIVACY_CONFIRM_DELETE.build(token)),
                        button(t("✖️ Keep my data"), cb.PRIVACY_KEEP.build())]))


async def confirm_delete(update: Update, context: KhoosheContext) -> None:
    query = update.callback_query
    user = update.effective_user
    assert query is not None and query.data is not None and user is not None
    t = context.t
    (token,) = cb.PRIVACY_CONFIRM_DELETE.parse(query.data)
    pending = context.user_data.delete_token
    if not pending or not secrets.compare_digest(pending, token):
        await settle_query(update, text=t("This button is no longer active."))
        return
    context.user_data.delete_token = None
    await settle_query(update)
    await context.services.privacy.forget(user.id)
    context.user_data.clear()
    await close_prompt(update, t("🗑 Your data has been deleted."))
    await say(update, context, t("Your firm's personal data has been removed. Published aggregates stay without your firm's name. "
                                 "To take part again, register with /register."))


async def keep(update: Update, context: KhoosheContext) -> None:
    context.user_data.delete_token = None
    await settle_query(update)
    await close_prompt(update, context.t("Nothing was deleted."))


def register(app: KhoosheApp) -> None:
    app.add_handler(CallbackQueryHandler(my_data, pattern=cb.PRIVACY_DATA.pattern))
    app.add_handler(CallbackQueryHandler(ask_delete, pattern=cb.PRIVACY_DELETE.pattern))
    app.add_handler(CallbackQueryHandler(confirm_delete, pattern=cb.PRIVACY_CONFIRM_DELETE.pattern))
    app.add_handler(CallbackQueryHandler(keep, pattern=cb.PRIVACY_KEEP.pattern))
