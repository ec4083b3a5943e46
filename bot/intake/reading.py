"""Reading one update from the JSON the Bot API sent, tolerating what Bale leaves out."""

from __future__ import annotations

import time
from typing import Any

from telegram import Bot, Update


class UnreadableUpdate(Exception):
    """An update that cannot be read even with the known gaps filled; it is skipped."""


def read_update(raw: dict[str, Any], bot: Bot) -> Update:
    """The update, with fields that Telegram always sends but Bale may omit filled in first."""
    try:
        _check_essentials(raw)
        return _parse(_fill_gaps(raw), bot)
    except (TypeError, KeyError, ValueError, AttributeError) as exc:
        raise UnreadableUpdate(_reason(exc)) from None


def _parse(raw: dict[str, Any], bot: Bot) -> Update:
    update = Update.de_json(raw, bot)
    if update is None:
        raise ValueError("empty update")
    return update


def user_of(raw: dict[str, Any]) -> int | None:
    """Whose update this is, read without parsing it (for ordering and for "delete my data")."""
    for kind, body in raw.items():
        if kind == "update_id" or not isinstance(body, dict):
            continue
        sender = body.get("from")
        if isinstance(sender, dict) and isinstance(sender.get("id"), int):
            return int(sender["id"])
        chat = body.get("chat")
        if isinstance(chat, dict) and isinstance(chat.get("id"), int):
            return int(chat["id"])
    return None


def _check_essentials(raw: dict[str, Any]) -> None:
    """What no handler can do without: a message's chat, a press's id and sender.  Such an
    update would reach the handlers only to fail there."""
    for kind in ("message", "edited_message"):
        if kind in raw:
            body = raw[kind]
            if not isinstance(body, dict) or not isinstance(body.get("chat"), dict) \
                    or not isinstance(body["chat"].get("id"), int):
                raise KeyError(f"{kind}.chat")
    if "callback_query" in raw:
        body = raw["callback_query"]
        if not isinstance(body, dict) or not isinstance(body.get("id"), str) \
                or not isinstance(body.get("from"), dict) or not isinstance(body["from"].get("id"), int):
            raise KeyError("callback_query.id/from")


def _fill_gaps(raw: dict[str, Any]) -> dict[str, Any]:
    """A copy with the gaps that python-telegram-bot cannot read filled with neutral values."""
    out = dict(raw)
    query = out.get("callback_query")
    if isinstance(query, dict):
        query = out["callback_query"] = dict(query)
        query.setdefault("chat_instance", "")
        _fill_user(query, "from")
        if isinstance(query.get("message"), dict):
            query["message"] = _fill_message(query["message"])
    for kind in ("message", "edited_message"):
        if isinstance(out.get(kind), dict):
            out[kind] = _fill_message(out[kind])
    return out


def _fill_message(message: dict[str, Any]) -> dict[str, Any]:
    message = dict(message)
    message.setdefault("date", int(time.time()))
    chat = message.get("chat")
    if isinstance(chat, dict) and "type" not in chat:
        message["chat"] = {**chat, "type": "private"}
    _fill_user(message, "from")
    return message


def _fill_user(body: dict[str, Any], key: str) -> None:
    user = body.get(key)
    if isinstance(user, dict):
        body[key] = {"is_bot": False, "first_name": "", **user}


def _reason(exc: Exception) -> str:
    """Why, without the update's content: argument and key names only."""
    if isinstance(exc, TypeError | KeyError):
        return f"{type(exc).__name__}: {str(exc)[:200]}"
    return type(exc).__name__
