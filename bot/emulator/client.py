"""Simulated Telegram users that talk to the bot through a FakeBotApi."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .server import BotMessage, FakeBotApi

_query_ids = itertools.count(1)


@dataclass
class BotEvent:
    """Snapshot of one bot output in a chat: a send/edit/delete of a message, or a callback answer."""

    event: str  # "send" | "edit" | "delete" | "answer"
    message_id: int | None = None
    kind: str | None = None  # "text" | "photo" | "document" | ...
    text: str = ""  # plain text / caption (or the callback answer text)
    raw: str = ""  # text as sent, e.g. with HTML tags
    parse_mode: str | None = None
    reply_markup: dict[str, Any] | None = None
    entities: list[dict[str, Any]] = field(default_factory=list)
    file_name: str | None = None
    data: bytes | None = None
    show_alert: bool = False
    url: str | None = None
    callback_query_id: str | None = None
    at: float = 0.0
    #: An edit that only took the keyboard off a message (its text unchanged): nothing new to
    #: read, so waiting for a text never stops at it.
    keyboard_removed: bool = False

    @property
    def html(self) -> str:
        """The raw text as the bot sent it."""
        return self.raw

    @property
    def is_message(self) -> bool:
        """True for send/edit events."""
        return self.event in ("send", "edit")

    @property
    def buttons(self) -> list[list[str]]:
        """Inline keyboard button texts, row by row."""
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [[b["text"] for b in row] for row in rows]

    @property
    def button_data(self) -> list[list[str | None]]:
        """Inline keyboard callback_data (or url) row by row, same shape as .buttons."""
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [[b.get("callback_data", b.get("url")) for b in row] for row in rows]

    @property
    def reply_keyboard(self) -> list[list[str]] | None:
        """Reply keyboard button texts if this message carries a ReplyKeyboardMarkup."""
        rows = (self.reply_markup or {}).get("keyboard")
        return None if rows is None else [[_button_text(b) for b in row] for row in rows]

    def __str__(self) -> str:
        extra = f" buttons={self.buttons}" if self.buttons else ""
        extra += f" keyboard={self.reply_keyboard}" if self.reply_keyboard else ""
        extra += f" file={self.file_name!r}" if self.file_name else ""
        return f"[{self.event} #{self.message_id} {self.kind or ''}] {self.text!r}{extra}"


def _button_text(button: Any) -> str:
    return button if isinstance(button, str) else button["text"]


def _snapshot(event: str, msg: BotMessage | None, **extra: Any) -> BotEvent:
    if msg is None:
        return BotEvent(event, at=time.monotonic(), **extra)
    before = msg.history[-1] if event == "edit" and msg.history else None
    removed = (before is not None and before["raw"] == msg.raw and bool(before["reply_markup"])
               and not (msg.reply_markup or {}).get("inline_keyboard"))
    return BotEvent(event, msg.message_id, msg.kind, msg.text, msg.raw, msg.parse_mode,
                    dict(msg.reply_markup) if msg.reply_markup else None, list(msg.entities),
                    msg.file_name, msg.data, at=time.monotonic(), keyboard_removed=removed)


class FakeUser:
    """A person chatting with the bot in a private chat."""

    def __init__(self, api: FakeBotApi, user_id: int, first_name: str = "Ali", language_code: str | None = "fa",
                 last_name: str | None = None, username: str | None = None):
        self.api, self.id, self.first_name = api, user_id, first_name
        self.language_code, self.last_name, self.username = language_code, last_name, username
        self.events: list[BotEvent] = []
        self.callback_answers: list[BotEvent] = []
        self.reply_keyboard: dict[str, Any] | None = None
        self._seen = 0
        self._changed = asyncio.Event()

    @property
    def chat_id(self) -> int:
        """Private chat id (= user id)."""
        return self.id

    def user_json(self) -> dict[str, Any]:
        """This user as a Telegram User object."""
        out: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        # Bale sends no language_code: the bot cannot learn a language from it there.
        keys = ("last_name", "username") if self.api.bale else ("last_name", "username", "language_code")
        for key in keys:
            if getattr(self, key):
                out[key] = getattr(self, key)
        return out

    # ------------------------------------------------------------------ recording (called by the server)

    def _record(self, event: str, msg: BotMessage | None, **extra: Any) -> None:
        snap = _snapshot(event, msg, **extra)
        self.events.append(snap)
        if event == "answer":
            self.callback_answers.append(snap)
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    # ------------------------------------------------------------------ acting

    async def _send_message(self, **content: Any) -> dict[str, Any]:
        message = {"message_id": self.api.next_message_id(self.id), "from": self.user_json(),
                   "chat": self.api.chat_json(self.id), "date": int(time.time()), **content}
        self.api.user_messages.setdefault(self.id, {})[message["message_id"]] = message
        await self.api.push_update({"message": message})
        return message

    async def send(self, text: str) -> int:
        """Send a text message (commands get a bot_command entity); returns its message_id."""
        content: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            command = text.split()[0]
            content["entities"] = [{"type": "bot_command", "offset": 0,
                                    "length": len(command.encode("utf-16-le")) // 2}]
        return int((await self._send_message(**content))["message_id"])

    async def share_contact(self, phone: str = "+989121234567", user_id: int | None = None,
                            first_name: str | None = None, last_name: str | None = None) -> int:
        """Share a contact (own by default; pass another user_id to share someone else's)."""
        contact: dict[str, Any] = {"phone_number": phone, "first_name": first_name or self.first_name,
                                   "user_id": self.id if user_id is None else user_id}
        if last_name:
            contact["last_name"] = last_name
        return int((await self._send_message(contact=contact))["message_id"])

    async def send_document(self, filename: str, content: bytes, caption: str | None = None,
                            mime_type: str | None = None, *, state_size: bool = True) -> int:
        """Send a document; the bot can fetch it via getFile + the file route. ``state_size=False``:
        neither the message nor getFile says how large it is (the field is optional)."""
        stored = self.api.add_file(content, filename, mime_type, "documents")
        stored.size_stated = state_size
        document: dict[str, Any] = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
                                    "file_name": filename}
        if state_size:
            document["file_size"] = len(content)
        if mime_type:
            document["mime_type"] = mime_type
        extra = {"caption": caption} if caption else {}
        return int((await self._send_message(document=document, **extra))["message_id"])

    async def send_photo(self, content: bytes, caption: str | None = None) -> int:
        """Send a photo (one PhotoSize); the bot can fetch it via getFile."""
        from .server import _png_size

        stored = self.api.add_file(content, "photo.jpg", "image/jpeg", "photos")
        width, height = _png_size(content)
        photo = [{"file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
                  "width": width, "height": height, "file_size": len(content)}]
        extra = {"caption": caption} if caption else {}
        return int((await self._send_message(photo=photo, **extra))["message_id"])

    async def send_sticker(self, emoji: str = "\U0001f44d") -> int:
        """Send a (regular, static) sticker."""
        stored = self.api.add_file(b"RIFF\0\0\0\0WEBP", "sticker.webp", "image/webp", "stickers")
        sticker = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id, "width": 512,
                   "height": 512, "is_animated": False, "is_video": False, "type": "regular", "emoji": emoji}
        return int((await self._send_message(sticker=sticker))["message_id"])

    async def send_voice(self, content: bytes = b"OggS\0", duration: int = 3) -> int:
        """Send a voice message."""
        stored = self.api.add_file(content, "voice.ogg", "audio/ogg", "voice")
        voice = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id, "duration": duration,
                 "mime_type": "audio/ogg", "file_size": len(content)}
        return int((await self._send_message(voice=voice))["message_id"])

    async def send_location(self, latitude: float = 35.6892, longitude: float = 51.389) -> int:
        """Send a location."""
        return int((await self._send_message(location={"latitude": latitude, "longitude": longitude}))["message_id"])

    def _target(self, message: Any) -> BotMessage:
        if message is None:
            for msg in reversed(self.api.messages(self.id)):
                if msg.inline_keyboard:
                    return msg
            raise AssertionError(f"user {self.id}: no bot message with an inline keyboard.\n{self._history()}")
        message_id = message if isinstance(message, int) else message.message_id
        found = self.api.bot_messages.get(self.id, {}).get(message_id)
        if found is None:
            raise AssertionError(f"user {self.id}: no bot message #{message_id}")
        return found

    async def press_data(self, data: str, message: Any = None) -> str:
        """Inject a callback_query with arbitrary data on a bot message; returns the query id."""
        msg = self._target(message)
        query_id = f"{self.id}{next(_query_ids):08d}"
        self.api.callback_queries[query_id] = {"id": query_id, "user_id": self.id, "answered": False,
                                               "data": data, "message_id": msg.message_id}
        query: dict[str, Any] = {"id": query_id, "from": self.user_json(), "message": self.api.message_json(msg),
                                 "chat_instance": f"ci{self.id}", "data": data}
        if self.api.bale:
            del query["chat_instance"]  # which python-telegram-bot requires
        await self.api.push_update({"callback_query": query})
        return query_id

    async def press(self, button_text: str, message: Any = None) -> str | int:
        """Press an inline button (exact text, else unique substring) or a reply-keyboard button."""
        msg = None
        try:
            msg = self._target(message)
        except AssertionError:
            if message is not None:
                raise
        inline = [b for row in (msg.inline_keyboard or []) for b in row] if msg else []
        button = _find(inline, button_text)
        if button is not None:
            if "callback_data" not in button:
                raise AssertionError(f"button {button_text!r} has no callback_data: {button}")
            return await self.press_data(button["callback_data"], msg)
        keyboard = [b for row in (self.reply_keyboard or {}).get("keyboard", []) for b in row]
        keyboard = [{"text": b} if isinstance(b, str) else b for b in keyboard]
        button = _find(keyboard, button_text) if message is None else None
        if button is not None:
            if button.get("request_contact"):
                return await self.share_contact()
            return await self.send(button["text"])
        raise AssertionError(
            f"user {self.id}: no button {button_text!r}. Inline buttons on #{msg.message_id if msg else None}: "
            f"{[b['text'] for b in inline]}; reply keyboard: {[b['text'] for b in keyboard]}\n{self._history()}")

    # ------------------------------------------------------------------ waiting

    def _history(self, n: int = 8) -> str:
        lines = [("  " if i < self._seen else "* ") + str(e) for i, e in enumerate(self.events)][-n:]
        return "recent bot events (* = unseen):\n" + ("\n".join(lines) if lines else "  (none)")

    async def next(self, timeout: float = 5) -> BotEvent:
        """Return the next unseen bot event in this chat."""
        deadline = asyncio.get_running_loop().time() + timeout
        while self._seen >= len(self.events):
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise AssertionError(f"user {self.id}: no bot output within {timeout}s.\n{self._history()}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)
        self._seen += 1
        return self.events[self._seen - 1]

    async def wait_for(self, match: str | Callable[[BotEvent], bool], timeout: float = 5) -> BotEvent:
        """Consume events until a message contains `match` (or the predicate accepts any event);
        an edit that only took a message's keyboard off does not count as containing it."""
        deadline = asyncio.get_running_loop().time() + timeout
        skipped: list[BotEvent] = []
        while True:
            remaining = deadline - asyncio.get_running_loop().time()
            try:
                event = await self.next(max(remaining, 0))
            except AssertionError:
                raise AssertionError(f"user {self.id}: nothing matching {match!r} within {timeout}s; skipped "
                                     f"{[str(e) for e in skipped]}\n{self._history()}") from None
            ok = match(event) if callable(match) else (
                event.is_message and not event.keyboard_removed and match in event.text)
            if ok:
                return event
            skipped.append(event)

    async def settle(self, quiet: float = 0.15, timeout: float = 5) -> list[BotEvent]:
        """Wait until the bot is quiet for `quiet` seconds; return (and consume) the unseen events."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            count = len(self.events)
            await asyncio.sleep(quiet)
            if len(self.events) == count:
                break
            if loop.time() > deadline:
                raise AssertionError(f"user {self.id}: bot never went quiet within {timeout}s.\n{self._history()}")
        events, self._seen = self.events[self._seen:], len(self.events)
        return events

    def last_message(self) -> BotEvent | None:
        """Current state of the latest non-deleted bot message in this chat."""
        messages = self.messages()
        return messages[-1] if messages else None

    def messages(self) -> list[BotEvent]:
        """Current state of all non-deleted bot messages in this chat."""
        return [_snapshot("send" if m.edit_date is None else "edit", m) for m in self.api.messages(self.id)]


def _find(buttons: list[dict[str, Any]], text: str) -> dict[str, Any] | None:
    exact = [b for b in buttons if b.get("text") == text]
    if exact:
        return exact[0]
    partial = [b for b in buttons if text in b.get("text", "")]
    if len(partial) > 1:
        raise AssertionError(f"button text {text!r} is ambiguous: {[b['text'] for b in partial]}")
    return partial[0] if partial else None
