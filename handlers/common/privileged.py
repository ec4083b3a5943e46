"""What the admin and manager handlers share: reading ids and text from command arguments."""

from __future__ import annotations

from telegram import Update

from bot.context import KhoosheContext
from bot.domain.text import parse_id


def int_arg(context: KhoosheContext, index: int = 0) -> int | None:
    """The ``index``-th command argument as an id (Persian, Arabic or Latin digits, "#" and
    thousands separators allowed: ``parse_id``)."""
    args = context.args or []
    return parse_id(args[index]) if len(args) > index else None


def body_of(update: Update) -> str:
    """The text after the command word."""
    text = update.message.text if update.message and update.message.text else ""
    return text.partition(" ")[2].strip()


def user_id_of(update: Update) -> int:
    assert update.effective_user is not None
    return update.effective_user.id
