"""The personas' chats: emulator users whose every event is also pushed to the browsers, and the
browser's actions turned into the updates a messenger would send."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from bot.emulator import FakeBotApi, FakeUser
from bot.emulator.server import BotMessage

from .render import Stamp, bot_item, history, keyboard, user_item

Listener = Callable[[dict[str, Any]], None]


class Hub:
    """Where chat events go: every open page hears every chat (it shows one, counts the others)."""

    def __init__(self) -> None:
        self._queues: set[asyncio.Queue[dict[str, Any]]] = set()

    def subscribe(self) -> asyncio.Queue[dict[str, Any]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._queues.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        self._queues.discard(queue)

    def publish(self, event: dict[str, Any]) -> None:
        for queue in self._queues:
            queue.put_nowait(event)


class ChatUser(FakeUser):
    """A persona's private chat with the bot, as the emulator sees it, that tells the hub what
    happens in it."""

    def __init__(self, api: FakeBotApi, user_id: int, first_name: str, phone: str, hub: Hub,
                 stamp: Stamp | None = None) -> None:
        super().__init__(api, user_id, first_name, "fa")
        self.phone, self.hub = phone, hub
        self.stamp: Stamp = stamp or (lambda sent: "")

    def _record(self, event: str, msg: BotMessage | None, **extra: Any) -> None:
        # The emulator's own log is not needed here and would grow without end.
        self.events.clear()
        self.callback_answers.clear()
        self._seen = 0
        if event == "answer":
            self.hub.publish({"type": "answer", "chat": self.id, "text": extra.get("text") or "",
                              "alert": bool(extra.get("show_alert"))})
            return
        if msg is None:
            return
        self.hub.publish({"type": "message", "chat": self.id, "item": bot_item(msg, self.stamp)})
        if event == "send" and msg.reply_markup is not None and (
                "keyboard" in msg.reply_markup or msg.reply_markup.get("remove_keyboard")):
            self.hub.publish({"type": "keyboard", "chat": self.id, "rows": keyboard(self.reply_keyboard)})

    async def _send_message(self, **content: Any) -> dict[str, Any]:
        message = await super()._send_message(**content)
        self.hub.publish({"type": "message", "chat": self.id, "item": user_item(message, self.stamp)})
        return message

    def state(self) -> dict[str, Any]:
        """The chat as a page opening it draws it: every message and the reply keyboard."""
        return {"chat": self.id, "items": history(self.api.bot_messages.get(self.id, {}),
                                                  self.api.user_messages.get(self.id, {}), self.stamp),
                "keyboard": keyboard(self.reply_keyboard)}


class BadAction(Exception):
    """What the browser asked for is not something a person could do in this chat."""


async def act(user: ChatUser, action: dict[str, Any]) -> None:
    """One browser action, done as the person would do it in a messenger."""
    kind = action.get("type")
    if kind == "text":
        text = str(action.get("text") or "").strip()
        if not text:
            raise BadAction("empty message")
        # A reply-keyboard button sends its label, or the contact when it asks for one.
        rows = (user.reply_keyboard or {}).get("keyboard") or []
        for row in rows:
            for button in row:
                if isinstance(button, dict) and button.get("text") == text and button.get("request_contact"):
                    await user.share_contact(user.phone)
                    return
        await user.send(text)
    elif kind == "contact":
        await user.share_contact(user.phone)
    elif kind == "press":
        message_id, data = action.get("message_id"), action.get("data")
        msg = user.api.bot_messages.get(user.id, {}).get(message_id) if isinstance(message_id, int) else None
        if msg is None or msg.deleted:
            raise BadAction("no such message")
        pressable = {b.get("callback_data") for row in msg.inline_keyboard or [] for b in row}
        if not isinstance(data, str) or data not in pressable:
            raise BadAction("no such button")
        await user.press_data(data, message_id)
    else:
        raise BadAction(f"unknown action {kind!r}")


async def upload(user: ChatUser, filename: str, content: bytes, caption: str | None, mime_type: str | None) -> None:
    """A document the person attached (the admin's CSV import)."""
    if not content:
        raise BadAction("empty file")
    await user.send_document(filename, content, caption or None, mime_type)

