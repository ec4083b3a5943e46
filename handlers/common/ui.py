"""Small helpers every conversation uses to answer: send, edit, keyboards."""

from __future__ import annotations

import html
import logging
from collections import OrderedDict
from collections.abc import Iterable, Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, TelegramError

from bot.context import KhoosheContext

esc = html.escape
log = logging.getLogger(__name__)


def button(text: str, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=data)


def rows(buttons: Sequence[InlineKeyboardButton], per_row: int) -> list[list[InlineKeyboardButton]]:
    return [list(buttons[i : i + per_row]) for i in range(0, len(buttons), per_row)]


def keyboard(*button_rows: Iterable[InlineKeyboardButton]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([list(r) for r in button_rows if r])


async def say(
    update: Update, context: KhoosheContext, text: str, markup: object = None
) -> Message:
    """Sends an HTML message to the chat the update came from."""
    chat = update.effective_chat
    assert chat is not None
    return await context.bot.send_message(
        chat.id, text, parse_mode=ParseMode.HTML, reply_markup=markup,  # type: ignore[arg-type]
        disable_web_page_preview=True,
    )


async def show(
    update: Update, context: KhoosheContext, text: str, markup: InlineKeyboardMarkup | None = None, *,
    replace: bool = False,
) -> None:
    """Sends ``text``, or with ``replace`` edits the pressed message into it in place (a page
    of a list, the next screen of a menu); sends it when that message can no longer be edited."""
    query = update.callback_query
    if replace and query is not None and isinstance(query.message, Message):
        try:
            await query.message.edit_text(text, parse_mode=ParseMode.HTML, reply_markup=markup,
                                          disable_web_page_preview=True)
            return
        except BadRequest as exc:
            reason = str(exc).lower()
            if "not modified" in reason:
                return
            if "message to edit not found" not in reason and "can't be edited" not in reason:
                raise
    await say(update, context, text, markup)


# Ids of recently answered button presses: a press can be answered only once, and some paths
# (a language switch that then re-shows a question) would otherwise answer it twice.
_answered: OrderedDict[str, None] = OrderedDict()
_ANSWERED_MEMORY = 4096


async def settle_query(update: Update, *, text: str | None = None, alert: bool = False) -> None:
    """Answers the button press (once) so the phone stops showing a spinner."""
    query = update.callback_query
    if query is None or query.id in _answered:
        return
    _answered[query.id] = None
    if len(_answered) > _ANSWERED_MEMORY:
        _answered.popitem(last=False)
    try:
        await query.answer(text=text, show_alert=alert)
    except TelegramError as exc:
        # Best effort: the spinner stops by itself after a while, and the press's effect (already
        # committed, or about to be) must not depend on the Bot API answering this one call.
        log.info("could not answer a button press: %s", exc)


async def close_prompt(update: Update, text: str) -> None:
    """Replaces a pressed prompt's buttons with a line saying what was chosen."""
    query = update.callback_query
    if query is None or query.message is None or not isinstance(query.message, Message):
        return
    try:
        await query.message.edit_text(text, parse_mode=ParseMode.HTML)
    except BadRequest as exc:
        # A double tap edits the same prompt twice; the second edit changes nothing.
        if "not modified" not in str(exc):
            raise
