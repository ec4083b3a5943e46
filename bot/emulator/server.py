"""A strict fake Telegram Bot API server over real HTTP (aiohttp), for end-to-end tests."""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
import math
import random
import re
import time
import unicodedata
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

from .strict import (
    MAX_CALLBACK_ANSWER,
    ApiError,
    bad,
    check_caption,
    check_reply_markup,
    check_text,
)

JSON_FIELDS = {"reply_markup", "entities", "caption_entities", "commands", "scope", "allowed_updates",
               "menu_button", "link_preview_options", "reply_parameters", "media"}
INT_FIELDS = {"chat_id", "from_chat_id", "message_id", "offset", "limit", "timeout", "user_id",
              "cache_time", "reply_to_message_id", "message_thread_id", "max_connections"}
BOOL_FIELDS = {"disable_notification", "show_alert", "drop_pending_updates", "protect_content",
               "disable_web_page_preview", "allow_sending_without_reply", "disable_content_type_detection",
               "has_spoiler", "show_caption_above_media", "revoke"}
RATE_LIMITED = {"sendmessage", "sendphoto", "senddocument", "copymessage", "forwardmessage"}
DEFAULT_DESCRIPTIONS = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
                        409: "Conflict", 429: "Too Many Requests", 500: "Internal Server Error",
                        502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}
DEFAULT_ALLOWED_UPDATES = {"message", "edited_message", "channel_post", "edited_channel_post", "callback_query",
                           "inline_query", "chosen_inline_result", "shipping_query", "pre_checkout_query",
                           "poll", "poll_answer", "my_chat_member", "chat_join_request"}
PROFILES = ("telegram", "bale")
# Not in Bale's method lists: an unknown method answers 404 "Not Found".
BALE_MISSING_METHODS = ("setMyCommands", "getMyCommands", "deleteMyCommands", "setChatMenuButton",
                        "getChatMenuButton", "setMyDescription", "setMyShortDescription", "setMyName")
_VISIBLE_ENTITY = re.compile(r"&(?:lt|gt|amp|quot|apos|nbsp|#\d+|#x[0-9a-f]+);", re.IGNORECASE)
# Where each platform posts webhooks (Telegram: 443, 80, 88, 8443; Bale: 443, 88).
WEBHOOK_PORTS = {"telegram": (443, 80, 88, 8443), "bale": (443, 88)}
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
NOT_MODIFIED = ("message is not modified: specified new message content and reply markup are exactly "
                "the same as a current content and reply markup of the message")


@dataclass
class Upload:
    """A file part received in a multipart request."""

    filename: str | None
    content_type: str | None
    data: bytes

    def __repr__(self) -> str:
        return f"<Upload {self.filename!r} {len(self.data)} bytes>"


@dataclass
class StoredFile:
    """A file known to the server (uploaded by the bot or sent by a user)."""

    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes
    file_name: str | None = None
    mime_type: str | None = None
    url: str | None = None
    # False: messages and getFile leave file_size out, as the Bot API may (it is optional).
    size_stated: bool = True


@dataclass
class BotMessage:
    """Current state of a message the bot sent, plus its edit history."""

    chat_id: int
    message_id: int
    date: int
    kind: str  # "text" | "photo" | "document" | other kind copied from a user message
    raw: str  # text or caption as sent (before parsing)
    parse_mode: str | None
    text: str  # plain text / caption after parsing
    entities: list[dict[str, Any]]
    reply_markup: dict[str, Any] | None
    file: StoredFile | None = None
    deleted: bool = False
    edit_date: int | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def data(self) -> bytes | None:
        """Bytes of the attached photo/document, if any."""
        return self.file.data if self.file else None

    @property
    def file_name(self) -> str | None:
        """File name of the attached document, if any."""
        return self.file.file_name if self.file else None

    @property
    def inline_keyboard(self) -> list[list[dict[str, Any]]] | None:
        """Inline keyboard rows, or None."""
        return (self.reply_markup or {}).get("inline_keyboard")

    def state(self) -> dict[str, Any]:
        """The editable state, used for history and not-modified checks."""
        return {"raw": self.raw, "parse_mode": self.parse_mode, "text": self.text,
                "entities": copy.deepcopy(self.entities), "reply_markup": copy.deepcopy(self.reply_markup)}


def _first_strong(text: str) -> str | None:
    """The direction clients give a paragraph: that of its first letter with one."""
    for ch in text:
        kind = unicodedata.bidirectional(ch)
        if kind == "L":
            return "L"
        if kind in ("R", "AL"):
            return "R"
    return None


def _png_size(data: bytes) -> tuple[int, int]:
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    return 320, 320


def _is_image(data: bytes) -> bool:
    return data[:8] == b"\x89PNG\r\n\x1a\n" or data[:3] == b"\xff\xd8\xff" or data[:4] == b"GIF8" or (
        data[:4] == b"RIFF" and data[8:12] == b"WEBP")


class FakeBotApi:
    """Fake Telegram Bot API: run with `async with FakeBotApi() as api:` and point the bot at api.base_url."""

    def __init__(self, token: str = "123456:TEST", bot_id: int | None = None,
                 username: str = "khooshe_test_bot", first_name: str = "Khooshe Test",
                 rate_limit: int | None = None, strict_ampersand: bool = True, seed: int = 0,
                 profile: str = "telegram"):
        if profile not in PROFILES:
            raise ValueError(f"unknown profile {profile!r}; one of {sorted(PROFILES)}")
        self.profile = profile
        self.token, self.username, self.first_name = token, username, first_name
        self.bot_id = bot_id if bot_id is not None else int(token.split(":")[0])
        self.rate_limit = rate_limit
        self.strict_ampersand = strict_ampersand
        # Fault knobs, all off by default. A 5xx "before" is answered without applying the call;
        # one "after" applies it (the message is stored) and still answers 502, as a proxy that
        # loses the response does. getUpdates is spared both. `latency` = (low, high) seconds
        # added to every request, drawn per request: half before it is applied, half after.
        self.error_rate_5xx = 0.0
        self.error_rate_5xx_after = 0.0
        self.latency: tuple[float, float] | None = None
        self.random = random.Random(seed)
        self.calls: list[tuple[str, dict[str, Any], int]] = []
        self.count_429 = 0
        self.blocked: set[int] = set()
        self.updates: list[dict[str, Any]] = []
        self.allowed_updates = set(DEFAULT_ALLOWED_UPDATES)
        self.webhook_url = ""
        self.webhook_secret: str | None = None
        # TEST OVERRIDE, not platform behaviour: lets setWebhook take an http:// URL on 127.0.0.1
        # at any port, since tests cannot bind 443 or 88. The real servers refuse such a URL.
        self.local_webhooks = False
        # Webhook posts: each update's attempts (a delivery is retried a few times on non-200,
        # then the update stays pending until the next setWebhook or the chat's next update).
        self.webhook_attempts = 5
        self.webhook_retry_seconds = 0.2
        self.deliveries: list[tuple[int, int]] = []  # (update_id, HTTP status; 0 = unreachable)
        self._deliverers: dict[int, asyncio.Task[None]] = {}
        self._webhook_client: aiohttp.ClientSession | None = None
        self._last_webhook_error: tuple[int, str] | None = None
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.menu_buttons: dict[int | None, dict[str, Any]] = {}
        self.chat_actions: list[tuple[int, str]] = []
        self.files: dict[str, StoredFile] = {}
        self.bot_messages: dict[int, dict[int, BotMessage]] = {}
        self.user_messages: dict[int, dict[int, dict[str, Any]]] = {}
        self.callback_queries: dict[str, dict[str, Any]] = {}
        self.users: dict[int, Any] = {}
        self.groups: dict[int, str] = {}  # group chats the bot is a member of: id -> title
        self._faults: list[dict[str, Any]] = []
        self._holds: list[dict[str, Any]] = []
        self.held: list[tuple[str, dict[str, Any]]] = []  # calls hang_next() caught, in order
        self._released = asyncio.Event()
        self._send_times: deque[float] = deque()
        self._update_ids = itertools.count(100001)
        self._file_ids = itertools.count(1)
        self._message_ids: dict[int, itertools.count[int]] = {}
        self._wakeup = asyncio.Event()
        self._poll_generation = 0
        self._runner: web.AppRunner | None = None
        self.port: int | None = None
        self._methods: dict[str, Callable[[dict[str, Any]], Any]] = {
            name[len("m_"):].lower(): getattr(self, name) for name in dir(self) if name.startswith("m_")}
        if self.bale:
            for name in BALE_MISSING_METHODS:
                self._methods.pop(name.lower())
        # Texts a user would see with markup the platform does not read: `parse_mode` sent to
        # Bale (its HTML would show literally), or an HTML entity left visible.
        self.leaks: list[tuple[int, str]] = []
        # Lines of a right-to-left message that a client would lay out left to right: their
        # first letter is Latin ("/start – منوی اصلی") and nothing marks them right to left.
        self.bidi_leaks: list[tuple[int, str]] = []

    # ------------------------------------------------------------------ lifecycle

    async def start(self, port: int = 0) -> FakeBotApi:
        """Bind 127.0.0.1 (port 0 = any free port) and start serving."""
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        """Stop serving (pending long polls and hung calls are released)."""
        self._released.set()
        self._poll_generation += 1
        self._wake()
        for task in self._deliverers.values():
            task.cancel()
        await asyncio.gather(*self._deliverers.values(), return_exceptions=True)
        self._deliverers.clear()
        if self._webhook_client is not None:
            await self._webhook_client.close()
            self._webhook_client = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeBotApi:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def url(self) -> str:
        """http://127.0.0.1:PORT"""
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """Value for python-telegram-bot's base_url (token and method get appended)."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        """Value for python-telegram-bot's base_file_url (needed for File.download_*)."""
        return f"{self.url}/file/bot"

    @property
    def bale(self) -> bool:
        return self.profile == "bale"

    def _read_markup(self, p: dict[str, Any], key: str, *, caption: bool = False) -> tuple[str, list[dict[str, Any]]]:
        """The text as the platform shows it: Telegram parses parse_mode; Bale ignores it and
        reads everything as its Markdown."""
        mode = p.get("parse_mode")
        if self.bale:
            chat = p.get("chat_id")
            if mode:
                self.leaks.append((chat if isinstance(chat, int) else 0, f"parse_mode={mode} sent to Bale"))
            mode = "bale"
        checker = check_caption if caption else check_text
        plain, entities = checker(p.get(key), mode, self.strict_ampersand)
        if _VISIBLE_ENTITY.search(plain):
            chat = p.get("chat_id")
            self.leaks.append((chat if isinstance(chat, int) else 0, plain))
        if _first_strong(plain) == "R":
            chat = p.get("chat_id")
            self.bidi_leaks += [(chat if isinstance(chat, int) else 0, line)
                                for line in plain.split("\n") if _first_strong(line) == "L"]
        return plain, entities

    def _edited(self, msg: BotMessage) -> dict[str, Any]:
        """Bale answers an edit with a stub instead of the edited message."""
        return {"message_id": 0} if self.bale else self.message_json(msg)

    # ------------------------------------------------------------------ test controls

    def user(self, user_id: int, first_name: str = "Ali", language_code: str | None = "fa",
             last_name: str | None = None, username: str | None = None) -> Any:
        """Create (or return) a simulated private-chat user; the chat becomes known to the bot."""
        from .client import FakeUser

        if user_id not in self.users:
            self.users[user_id] = FakeUser(self, user_id, first_name, language_code, last_name, username)
        return self.users[user_id]

    def group(self, chat_id: int, title: str = "Estate group") -> int:
        """A group chat the bot was added to (ids of groups are negative)."""
        self.groups[chat_id] = title
        return chat_id

    async def say_in_group(self, chat_id: int, user: Any, text: str) -> int:
        """``user`` writes ``text`` in the group; a leading /command is marked as one."""
        message: dict[str, Any] = {"message_id": self.next_message_id(chat_id), "date": int(time.time()),
                                   "chat": {"id": chat_id, "type": "group", "title": self.groups[chat_id]},
                                   "from": user.user_json(), "text": text}
        if text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        return await self.push_update({"message": message})

    def block(self, user_id: int) -> None:
        """Make every send/edit to this chat fail with 403 'bot was blocked by the user'."""
        self.blocked.add(user_id)

    def unblock(self, user_id: int) -> None:
        """Undo block()."""
        self.blocked.discard(user_id)

    def fail_next(self, method: str, error_code: int, description: str | None = None,
                  retry_after: int | None = None, times: int = 1, *, after: bool = False) -> None:
        """Answer the next `times` calls of `method` ('*' = any) with this error; with `after`,
        each call is applied first (the message stored, the edit made), as when a proxy loses
        the server's answer."""
        if description is None:
            description = DEFAULT_DESCRIPTIONS.get(error_code, "Error")
            if error_code == 429:
                retry_after = retry_after or 1
                description = f"Too Many Requests: retry after {retry_after}"
        self._faults.append({"method": method.lower(), "error": ApiError(error_code, description, retry_after),
                             "times": times, "after": after})

    def hang_next(self, method: str, *, chat_id: int | None = None, seconds: float | None = None,
                  times: int = 1) -> None:
        """Hold the next `times` calls of `method` ('*' = any), only those to `chat_id` if given.
        With `seconds` the call is answered (and validated, applied) normally after that delay;
        without, it never gets an answer and is never applied, like a request lost in the network
        (the server drops it when it stops). Held calls are listed in `held` as they arrive."""
        self._holds.append({"method": method.lower(), "chat_id": chat_id, "seconds": seconds, "times": times})

    async def _hold(self, method: str, params: dict[str, Any]) -> bool:
        """Waits as hang_next() asked for this call; False when it must never be answered."""
        for hold in self._holds:
            if hold["method"] not in (method, "*") or hold["times"] <= 0:
                continue
            if hold["chat_id"] is not None and params.get("chat_id") != hold["chat_id"]:
                continue
            hold["times"] -= 1
            self._holds = [h for h in self._holds if h["times"] > 0]
            self.held.append((method, params))
            if hold["seconds"] is None:
                await self._released.wait()
                return False
            await asyncio.sleep(hold["seconds"])
            return True
        return True

    def unanswered_callbacks(self) -> list[str]:
        """Button presses the bot never answered (the client would keep spinning)."""
        return [q["data"] for q in self.callback_queries.values() if not q["answered"]]

    def calls_to(self, method: str) -> list[dict[str, Any]]:
        """Params of every call to `method` (case-insensitive)."""
        return [p for m, p, _ in self.calls if m.lower() == method.lower()]

    def messages(self, chat_id: int, include_deleted: bool = False) -> list[BotMessage]:
        """Bot messages in a chat, oldest first."""
        return [m for m in self.bot_messages.get(chat_id, {}).values() if include_deleted or not m.deleted]

    def duplicates(self, containing: str | None = None, chats: Iterable[int] | None = None) -> int:
        """Copies beyond the first of the same message (kind, text as sent, file) the bot sent
        to one chat, over all chats or those in ``chats``; only messages whose text holds
        ``containing`` if given."""
        extra = 0
        wanted = self.bot_messages.keys() if chats is None else set(chats)
        for chat in (self.bot_messages.get(c, {}) for c in wanted):
            seen: set[tuple[str, str, str | None]] = set()
            for msg in chat.values():
                if containing is not None and containing not in msg.text:
                    continue
                key = (msg.kind, msg.history[0]["raw"] if msg.history else msg.raw,
                       msg.file.file_id if msg.file else None)
                extra += key in seen
                seen.add(key)
        return extra

    def message(self, chat_id: int, message_id: int) -> BotMessage:
        """One bot message by id (KeyError if unknown)."""
        return self.bot_messages[chat_id][message_id]

    def get_commands(self, scope: dict[str, Any] | None = None, language_code: str = "") -> list[dict[str, Any]]:
        """Commands stored by setMyCommands for this scope/language."""
        return self.commands.get((self._scope_key(scope), language_code or ""), [])

    def add_file(self, data: bytes, file_name: str | None = None, mime_type: str | None = None,
                 folder: str = "documents") -> StoredFile:
        """Store bytes and return a StoredFile with a fresh file_id."""
        n = next(self._file_ids)
        ext = (file_name or "").rpartition(".")[2] if file_name and "." in file_name else "bin"
        stored = StoredFile(f"FILE{n:06d}-{self.random.getrandbits(32):08x}", f"U{n:06d}",
                            f"{folder}/file_{n}.{ext}", data, file_name, mime_type)
        self.files[stored.file_id] = stored
        return stored

    async def push_update(self, update: dict[str, Any]) -> int:
        """Queue a raw update (update_id is assigned) and wake long polls; with a webhook set,
        post it there instead (in order per chat)."""
        update = {"update_id": next(self._update_ids), **update}
        self.updates.append(update)
        self._wake()
        if self.webhook_url:
            self._deliver(_chat_of(update))
        await asyncio.sleep(0)
        return int(update["update_id"])

    # ------------------------------------------------------------------ webhook delivery

    def _deliver(self, chat: int) -> None:
        """Starts posting the chat's pending updates, unless that is under way."""
        task = self._deliverers.get(chat)
        if task is None or task.done():
            self._deliverers[chat] = asyncio.create_task(self._deliver_chat(chat))

    async def _deliver_chat(self, chat: int) -> None:
        """One update at a time per chat, like the real servers; an update not answered 200 is
        tried again a few times, then left pending (the chat's later updates wait behind it)."""
        while self.webhook_url:
            pending = [u for u in self.updates if _chat_of(u) == chat
                       and set(u) - {"update_id"} <= self.allowed_updates]
            if not pending:
                return
            update = pending[0]
            for attempt in range(self.webhook_attempts):
                if attempt:
                    await asyncio.sleep(self.webhook_retry_seconds)
                if not self.webhook_url:
                    return
                status = await self._post_update(update)
                self.deliveries.append((update["update_id"], status))
                if status == 200:
                    self.updates = [u for u in self.updates if u["update_id"] != update["update_id"]]
                    self._last_webhook_error = None
                    break
                self._last_webhook_error = (int(time.time()), "Connection refused" if status == 0
                                            else f"Wrong response from the webhook: {status}")
            else:
                return

    def _client(self) -> aiohttp.ClientSession:
        if self._webhook_client is None:
            self._webhook_client = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        return self._webhook_client

    async def _post_update(self, update: dict[str, Any]) -> int:
        headers = {SECRET_HEADER: self.webhook_secret} if self.webhook_secret and not self.bale else {}
        try:
            async with self._client().post(self.webhook_url, json=update, headers=headers) as response:
                await response.read()
                return response.status
        except (aiohttp.ClientError, TimeoutError):
            return 0

    async def post_to_webhook(self, update: dict[str, Any], *, path: str | None = None,
                              headers: dict[str, str] | None = None) -> int:
        """A raw POST to the registered webhook (or to another ``path`` on its host), as someone
        other than the platform might send it; returns the HTTP status."""
        assert self.webhook_url, "no webhook is set"
        parts = urlsplit(self.webhook_url)
        url = self.webhook_url if path is None else f"{parts.scheme}://{parts.netloc}{path}"
        async with self._client().post(url, json=update, headers=headers or {}) as response:
            await response.read()
            return response.status

    def _check_webhook_url(self, url: str) -> None:
        parts = urlsplit(url)
        if not parts.hostname or parts.scheme not in ("http", "https"):
            raise bad("bad webhook: invalid webhook URL specified")
        if self.local_webhooks and parts.scheme == "http" and parts.hostname == "127.0.0.1":
            return
        if parts.scheme != "https":
            raise bad("bad webhook: An HTTPS URL must be provided for webhook")
        if parts.hostname in ("127.0.0.1", "localhost") or parts.hostname.startswith(("10.", "192.168.")):
            raise bad("bad webhook: IP address is reserved")
        ports = WEBHOOK_PORTS[self.profile]
        if (parts.port or 443) not in ports:
            listed = ", ".join(str(p) for p in ports)
            raise bad(f"bad webhook: Webhook can be set up only on ports {listed}")

    # ------------------------------------------------------------------ helpers for client

    def next_message_id(self, chat_id: int) -> int:
        """Per-chat message id counter shared by user and bot messages."""
        return next(self._message_ids.setdefault(chat_id, itertools.count(1)))

    def bot_user_json(self) -> dict[str, Any]:
        """The bot as a Telegram User."""
        return {"id": self.bot_id, "is_bot": True, "first_name": self.first_name, "username": self.username}

    def chat_json(self, chat_id: int) -> dict[str, Any]:
        """A private Chat object for a known user (a group's for a group)."""
        if chat_id in self.groups:
            return {"id": chat_id, "type": "group", "title": self.groups[chat_id]}
        user = self.users.get(chat_id)
        chat: dict[str, Any] = {"id": chat_id, "type": "private", "first_name": getattr(user, "first_name", "User")}
        if getattr(user, "last_name", None):
            chat["last_name"] = getattr(user, "last_name", None)
        if getattr(user, "username", None):
            chat["username"] = getattr(user, "username", None)
        return chat

    def message_json(self, msg: BotMessage) -> dict[str, Any]:
        """Full Telegram Message JSON for a bot message."""
        out: dict[str, Any] = {"message_id": msg.message_id, "from": self.bot_user_json(),
                               "chat": self.chat_json(msg.chat_id), "date": msg.date}
        if msg.edit_date:
            out["edit_date"] = msg.edit_date
        ent_key = "entities" if msg.kind == "text" else "caption_entities"
        if msg.kind == "text":
            out["text"] = msg.text
        elif msg.text:
            out["caption"] = msg.text
        if msg.entities:
            out[ent_key] = msg.entities
        if msg.kind == "photo" and msg.file:
            width, height = _png_size(msg.file.data)
            out["photo"] = [{"file_id": msg.file.file_id, "file_unique_id": msg.file.file_unique_id,
                             "width": width, "height": height, "file_size": len(msg.file.data)}]
        elif msg.kind == "document" and msg.file:
            out["document"] = {"file_id": msg.file.file_id, "file_unique_id": msg.file.file_unique_id,
                               "file_size": len(msg.file.data)}
            if msg.file.file_name:
                out["document"]["file_name"] = msg.file.file_name
            if msg.file.mime_type:
                out["document"]["mime_type"] = msg.file.mime_type
        out.update(msg.extra)
        if msg.inline_keyboard is not None:  # Telegram only echoes inline keyboards
            out["reply_markup"] = {"inline_keyboard": msg.reply_markup["inline_keyboard"]}  # type: ignore[index]
        return out

    def _wake(self) -> None:
        event, self._wakeup = self._wakeup, asyncio.Event()
        event.set()

    def _emit(self, chat_id: int, event: str, msg: BotMessage | None = None, **extra: Any) -> None:
        user = self.users.get(chat_id)
        if user is not None:
            user._record(event, msg, **extra)

    @staticmethod
    def _scope_key(scope: Any) -> str:
        if isinstance(scope, str):
            scope = json.loads(scope)
        return json.dumps(scope or {"type": "default"}, sort_keys=True)

    # ------------------------------------------------------------------ HTTP plumbing

    async def _read_params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json":
            body = await request.json()
            if isinstance(body, dict):
                params.update(body)
        elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            for key, value in (await request.post()).items():
                if isinstance(value, web.FileField):
                    params[key] = Upload(value.filename, value.content_type, value.file.read())
                else:
                    params[key] = value
        for key, value in list(params.items()):
            if not isinstance(value, str):
                continue
            if value.startswith("attach://") and isinstance(params.get(value[9:]), Upload):
                params[key] = params[value[9:]]
            elif key in JSON_FIELDS:
                try:
                    params[key] = json.loads(value)
                except ValueError:
                    if key == "reply_markup":
                        raise bad("can't parse reply keyboard markup JSON object") from None
                    raise bad(f"can't parse {key} JSON object") from None
            elif key in INT_FIELDS and re.fullmatch(r"-?\d+", value):
                params[key] = int(value)
            elif key in BOOL_FIELDS:
                params[key] = value.lower() in ("true", "1")
        return params

    def _respond(self, status: int, body: dict[str, Any]) -> web.Response:
        return web.json_response(body, status=status)

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if request.match_info["token"] != self.token:
            self.calls.append((method, {}, 401))
            return self._respond(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
        handler = self._methods.get(method.lower())
        if handler is None:
            self.calls.append((method, {}, 404))
            return self._respond(404, {"ok": False, "error_code": 404, "description": "Not Found"})
        delay = self.random.uniform(*self.latency) if self.latency else 0.0
        if delay:
            await asyncio.sleep(delay / 2)
        status, body = await self._answer(method, handler, request)
        if delay:
            await asyncio.sleep(delay / 2)
        return self._respond(status, body)

    async def _answer(self, method: str, handler: Callable[[dict[str, Any]], Any],
                      request: web.Request) -> tuple[int, dict[str, Any]]:
        params: dict[str, Any] = {}
        try:
            params = await self._read_params(request)
            if self._holds and not await self._hold(method.lower(), params):
                self.calls.append((method, params, 504))
                return 504, {"ok": False, "error_code": 504, "description": "Gateway Timeout"}
            self._inject_faults(method.lower())
            result = handler(params)
            if asyncio.iscoroutine(result):
                result = await result
            self._inject_faults_after(method.lower())
        except ApiError as exc:
            self.calls.append((method, params, exc.code))
            return exc.code, exc.payload()
        if (self.error_rate_5xx_after and method.lower() != "getupdates"
                and self.random.random() < self.error_rate_5xx_after):
            self.calls.append((method, params, 502))
            return 502, ApiError(502, "Bad Gateway").payload()
        self.calls.append((method, params, 200))
        return 200, {"ok": True, "result": result}

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return web.Response(status=401, text="Unauthorized")
        path = request.match_info["path"]
        for stored in self.files.values():
            if stored.file_path == path:
                if stored.size_stated:
                    return web.Response(body=stored.data, content_type="application/octet-stream")
                return await self._stream_file(request, stored.data)
        return web.Response(status=404, text="Not Found")

    async def _stream_file(self, request: web.Request, data: bytes) -> web.StreamResponse:
        """The file in chunks with no Content-Length, so only the bytes themselves tell its size;
        a client that stops reading ends the response early."""
        response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        try:
            for start in range(0, len(data), 64 * 1024):
                await response.write(data[start:start + 64 * 1024])
            await response.write_eof()
        except ConnectionError:
            pass  # the client hung up: it had read enough
        return response

    def _inject_faults_after(self, method: str) -> None:
        """The faults fail_next(after=True) asked for, once the call has been applied."""
        self._take_fault(method, after=True)

    def _take_fault(self, method: str, *, after: bool) -> None:
        for fault in self._faults:
            if fault["method"] in (method, "*") and fault["times"] > 0 and fault["after"] == after:
                fault["times"] -= 1
                self._faults = [f for f in self._faults if f["times"] > 0]
                if fault["error"].code == 429:
                    self.count_429 += 1
                raise fault["error"]

    def _inject_faults(self, method: str) -> None:
        self._take_fault(method, after=False)
        if self.error_rate_5xx and method != "getupdates" and self.random.random() < self.error_rate_5xx:
            raise ApiError(502, "Bad Gateway")
        if method in RATE_LIMITED and self.rate_limit:
            now = time.monotonic()
            while self._send_times and self._send_times[0] <= now - 1.0:
                self._send_times.popleft()
            if len(self._send_times) >= self.rate_limit:
                retry = max(1, math.ceil(self._send_times[0] + 1.0 - now))
                self.count_429 += 1
                raise ApiError(429, f"Too Many Requests: retry after {retry}", retry_after=retry)
            self._send_times.append(now)

    # ------------------------------------------------------------------ validation helpers

    def _chat(self, params: dict[str, Any], key: str = "chat_id") -> int:
        chat_id = params.get(key)
        if chat_id is None or chat_id == "":
            raise bad(f"{key} is empty")
        if not isinstance(chat_id, int) or (chat_id not in self.users and chat_id not in self.groups):
            raise bad("chat not found")
        if chat_id in self.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return chat_id

    def _int(self, params: dict[str, Any], key: str) -> int:
        value = params.get(key)
        if not isinstance(value, int):
            raise bad(f"{key} is empty" if value in (None, "") else f"invalid {key} specified")
        return value

    def _check_reply_to(self, chat_id: int, params: dict[str, Any]) -> None:
        reply = params.get("reply_parameters") or {}
        target = reply.get("message_id", params.get("reply_to_message_id"))
        allow = reply.get("allow_sending_without_reply", params.get("allow_sending_without_reply"))
        if target and not allow and target not in self.bot_messages.get(chat_id, {}) \
                and target not in self.user_messages.get(chat_id, {}):
            raise bad("message to be replied not found")

    def _new_message(self, chat_id: int, kind: str, raw: str, parse_mode: str | None, text: str,
                     entities: list[dict[str, Any]], markup: dict[str, Any] | None,
                     file: StoredFile | None = None, extra: dict[str, Any] | None = None) -> BotMessage:
        msg = BotMessage(chat_id, self.next_message_id(chat_id), int(time.time()), kind, raw, parse_mode,
                         text, entities, markup, file, extra=extra or {})
        self.bot_messages.setdefault(chat_id, {})[msg.message_id] = msg
        user = self.users.get(chat_id)
        if user is not None and markup is not None:
            if "keyboard" in markup:
                user.reply_keyboard = markup
            elif markup.get("remove_keyboard"):
                user.reply_keyboard = None
        self._emit(chat_id, "send", msg)
        return msg

    def _file_param(self, params: dict[str, Any], key: str, folder: str) -> StoredFile:
        value = params.get(key)
        if isinstance(value, Upload):
            if not value.data:
                raise bad("file must be non-empty")
            if key == "photo" and not _is_image(value.data):
                raise bad("IMAGE_PROCESS_FAILED")
            return self.add_file(value.data, value.filename, value.content_type, folder)
        if isinstance(value, str) and value in self.files:
            return self.files[value]
        if isinstance(value, str) and re.match(r"^https?://", value):
            stored = self.add_file(b"", value.rpartition("/")[2], None, folder)
            stored.url = value
            return stored
        if not value:
            raise bad(f"there is no {key} in the request")
        raise bad("wrong file identifier/HTTP URL specified")

    def _editable(self, params: dict[str, Any]) -> BotMessage:
        if params.get("inline_message_id"):
            raise bad("MESSAGE_ID_INVALID")
        chat_id = self._chat(params)
        msg = self.bot_messages.get(chat_id, {}).get(params.get("message_id"))  # type: ignore[arg-type]
        if msg is None or msg.deleted:
            raise bad("message to edit not found")
        return msg

    def _apply_edit(self, msg: BotMessage, raw: str, parse_mode: str | None, text: str,
                    entities: list[dict[str, Any]], markup: dict[str, Any] | None) -> dict[str, Any]:
        if (text, entities, markup) == (msg.text, msg.entities, msg.reply_markup):
            raise bad(NOT_MODIFIED)
        msg.history.append(msg.state())
        msg.raw, msg.parse_mode, msg.text, msg.entities, msg.reply_markup = raw, parse_mode, text, entities, markup
        msg.edit_date = int(time.time())
        self._emit(msg.chat_id, "edit", msg)
        return self._edited(msg)

    # ------------------------------------------------------------------ methods: bot & updates

    def m_getMe(self, p: dict[str, Any]) -> dict[str, Any]:
        return {**self.bot_user_json(), "can_join_groups": True, "can_read_all_group_messages": False,
                "supports_inline_queries": False, "can_connect_to_business": False, "has_main_web_app": False}

    def m_logOut(self, p: dict[str, Any]) -> bool:
        return True

    def m_close(self, p: dict[str, Any]) -> bool:
        return True

    def m_setWebhook(self, p: dict[str, Any]) -> bool:
        url = p.get("url") or ""
        secret = p.get("secret_token") or None
        if url:
            self._check_webhook_url(str(url))
        if secret is not None and not self.bale and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise bad("secret token contains unallowed characters")
        self.webhook_url = str(url)
        # Bale does not document secret_token and sends no header: it is dropped.
        self.webhook_secret = None if self.bale else secret
        if p.get("allowed_updates") is not None:
            self.allowed_updates = set(p["allowed_updates"]) or set(DEFAULT_ALLOWED_UPDATES)
        if p.get("drop_pending_updates"):
            self.updates.clear()
        if self.webhook_url:
            self._wake()  # a long poll in flight ends with 409 on its next round
            for chat in dict.fromkeys(_chat_of(u) for u in self.updates):
                self._deliver(chat)
        return True

    def m_deleteWebhook(self, p: dict[str, Any]) -> bool:
        self.webhook_url = ""
        self.webhook_secret = None
        if p.get("drop_pending_updates"):
            self.updates.clear()
        return True

    def m_getWebhookInfo(self, p: dict[str, Any]) -> dict[str, Any]:
        info: dict[str, Any] = {"url": self.webhook_url, "has_custom_certificate": False,
                                "pending_update_count": len(self.updates)}
        if self.webhook_url:
            info["allowed_updates"] = sorted(self.allowed_updates)
        if self._last_webhook_error is not None:
            info["last_error_date"], info["last_error_message"] = self._last_webhook_error
        return info

    async def m_getUpdates(self, p: dict[str, Any]) -> list[dict[str, Any]]:
        if self.webhook_url:
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active; "
                                "use deleteWebhook to delete the webhook first")
        offset, limit, timeout = p.get("offset") or 0, p.get("limit") or 100, p.get("timeout") or 0
        limit = min(max(int(limit), 1), 100)
        if p.get("allowed_updates") is not None:
            self.allowed_updates = set(p["allowed_updates"]) or set(DEFAULT_ALLOWED_UPDATES)
        if offset > 0:
            self.updates = [u for u in self.updates if u["update_id"] >= offset]
        elif offset < 0:
            self.updates = self.updates[offset:]
        self._poll_generation += 1
        generation = self._poll_generation
        self._wake()  # a newer getUpdates terminates older ones with 409, like Telegram
        deadline = time.monotonic() + max(float(timeout), 0.0)
        while True:
            self.updates = [u for u in self.updates if set(u) - {"update_id"} <= self.allowed_updates]
            if self.updates:
                return self.updates[:limit]
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return []
            wakeup = self._wakeup
            try:
                await asyncio.wait_for(wakeup.wait(), remaining)
            except TimeoutError:
                return []
            if generation != self._poll_generation:
                raise ApiError(409, "Conflict: terminated by other getUpdates request; "
                                    "make sure that only one bot instance is running")

    # ------------------------------------------------------------------ methods: commands & menu

    def m_setMyCommands(self, p: dict[str, Any]) -> bool:
        commands = p.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise bad("commands must be an array of at most 100 BotCommand")
        for c in commands:
            if not isinstance(c, dict) or not re.fullmatch(r"[a-z0-9_]{1,32}", str(c.get("command", ""))):
                raise bad("BOT_COMMAND_INVALID")
            if not 1 <= len(str(c.get("description", "")).strip()) <= 256:
                raise bad("command description is empty" if not str(c.get("description", "")).strip()
                          else "BOT_COMMAND_DESCRIPTION_INVALID")
        key = (self._scope_key(p.get("scope")), p.get("language_code") or "")
        self.commands[key] = [{"command": c["command"], "description": c["description"]} for c in commands]
        return True

    def m_getMyCommands(self, p: dict[str, Any]) -> list[dict[str, Any]]:
        return self.get_commands(p.get("scope"), p.get("language_code") or "")

    def m_deleteMyCommands(self, p: dict[str, Any]) -> bool:
        self.commands.pop((self._scope_key(p.get("scope")), p.get("language_code") or ""), None)
        return True

    def m_setChatMenuButton(self, p: dict[str, Any]) -> bool:
        chat_id = p.get("chat_id")
        if chat_id is not None:
            chat_id = self._chat(p)
        self.menu_buttons[chat_id] = p.get("menu_button") or {"type": "default"}
        return True

    def m_getChatMenuButton(self, p: dict[str, Any]) -> dict[str, Any]:
        return self.menu_buttons.get(p.get("chat_id"), self.menu_buttons.get(None, {"type": "commands"}))

    def m_setMyDescription(self, p: dict[str, Any]) -> bool:
        return True

    def m_setMyShortDescription(self, p: dict[str, Any]) -> bool:
        return True

    def m_setMyName(self, p: dict[str, Any]) -> bool:
        return True

    def m_getChat(self, p: dict[str, Any]) -> dict[str, Any]:
        chat_id = p.get("chat_id")
        if chat_id not in self.users:
            raise bad("chat not found")
        return {**self.chat_json(chat_id), "accent_color_id": 0, "max_reaction_count": 11}

    def m_sendChatAction(self, p: dict[str, Any]) -> bool:
        chat_id = self._chat(p)
        if not p.get("action"):
            raise bad("action is empty")
        self.chat_actions.append((chat_id, p["action"]))
        return True

    # ------------------------------------------------------------------ methods: messages

    def m_sendMessage(self, p: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._chat(p)
        text, entities = self._read_markup(p, "text")
        markup = check_reply_markup(p.get("reply_markup"))
        self._check_reply_to(chat_id, p)
        msg = self._new_message(chat_id, "text", str(p["text"]), p.get("parse_mode"), text, entities, markup)
        return self.message_json(msg)

    def _send_file(self, p: dict[str, Any], kind: str) -> dict[str, Any]:
        chat_id = self._chat(p)
        caption, entities = self._read_markup(p, "caption", caption=True)
        markup = check_reply_markup(p.get("reply_markup"))
        self._check_reply_to(chat_id, p)
        stored = self._file_param(p, kind, "photos" if kind == "photo" else "documents")
        msg = self._new_message(chat_id, kind, p.get("caption") or "", p.get("parse_mode"), caption, entities,
                                markup, stored)
        return self.message_json(msg)

    def m_sendPhoto(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._send_file(p, "photo")

    def m_sendDocument(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._send_file(p, "document")

    def m_editMessageText(self, p: dict[str, Any]) -> dict[str, Any]:
        msg = self._editable(p)
        if msg.kind != "text":
            raise bad("there is no text in the message to edit")
        text, entities = self._read_markup(p, "text")
        markup = check_reply_markup(p.get("reply_markup"), inline_only=True)
        return self._apply_edit(msg, str(p["text"]), p.get("parse_mode"), text, entities, markup)

    def m_editMessageCaption(self, p: dict[str, Any]) -> dict[str, Any]:
        msg = self._editable(p)
        if msg.kind == "text":
            raise bad("there is no caption in the message to edit")
        caption, entities = self._read_markup(p, "caption", caption=True)
        markup = check_reply_markup(p.get("reply_markup"), inline_only=True)
        return self._apply_edit(msg, p.get("caption") or "", p.get("parse_mode"), caption, entities, markup)

    def m_editMessageReplyMarkup(self, p: dict[str, Any]) -> dict[str, Any]:
        msg = self._editable(p)
        markup = check_reply_markup(p.get("reply_markup"), inline_only=True)
        return self._apply_edit(msg, msg.raw, msg.parse_mode, msg.text, msg.entities, markup)

    def m_deleteMessage(self, p: dict[str, Any]) -> bool:
        chat_id = self._chat(p)
        message_id = p.get("message_id")
        msg = self.bot_messages.get(chat_id, {}).get(message_id)  # type: ignore[arg-type]
        if msg is not None and not msg.deleted:
            msg.deleted = True
            self._emit(chat_id, "delete", msg)
            return True
        incoming = self.user_messages.get(chat_id, {}).get(message_id)  # type: ignore[arg-type]
        if incoming is not None and not incoming.get("_deleted"):
            incoming["_deleted"] = True
            return True
        raise bad("message to delete not found")

    def _source(self, p: dict[str, Any], what: str) -> tuple[BotMessage | None, dict[str, Any] | None]:
        from_chat = p.get("from_chat_id")
        if not isinstance(from_chat, int) or from_chat not in self.users:
            raise bad("chat not found")
        mid = p.get("message_id")
        bot_msg = self.bot_messages.get(from_chat, {}).get(mid)  # type: ignore[arg-type]
        if bot_msg is not None and not bot_msg.deleted:
            return bot_msg, None
        user_msg = self.user_messages.get(from_chat, {}).get(mid)  # type: ignore[arg-type]
        if user_msg is not None and not user_msg.get("_deleted"):
            return None, user_msg
        raise bad(f"message to {what} not found")

    def _clone(self, chat_id: int, p: dict[str, Any], bot_msg: BotMessage | None, user_msg: dict[str, Any] | None,
               keep_caption: bool, extra: dict[str, Any] | None = None) -> BotMessage:
        markup = check_reply_markup(p.get("reply_markup")) if keep_caption is False else None
        if bot_msg is not None:
            kind, raw, mode, text, ents, file = (bot_msg.kind, bot_msg.raw, bot_msg.parse_mode, bot_msg.text,
                                                 bot_msg.entities, bot_msg.file)
            copied_extra = dict(bot_msg.extra)
        else:
            assert user_msg is not None
            kind = next((k for k in ("text", "photo", "document", "contact") if k in user_msg), "other")
            raw = text = user_msg.get("text") or user_msg.get("caption") or ""
            mode, ents, file = None, user_msg.get("entities") or user_msg.get("caption_entities") or [], None
            if kind in ("photo", "document"):
                fid = user_msg["photo"][-1]["file_id"] if kind == "photo" else user_msg["document"]["file_id"]
                file = self.files.get(fid)
            copied_extra = {"contact": user_msg["contact"]} if kind == "contact" else {}
        if not keep_caption and "caption" in p and kind not in ("text",):
            text, ents = self._read_markup(p, "caption", caption=True)
            raw, mode = p.get("caption") or "", p.get("parse_mode")
        return self._new_message(chat_id, kind, raw, mode, text, ents, markup, file, {**copied_extra, **(extra or {})})

    def m_copyMessage(self, p: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._chat(p)
        bot_msg, user_msg = self._source(p, "copy")
        msg = self._clone(chat_id, p, bot_msg, user_msg, keep_caption=False)
        return {"message_id": msg.message_id}

    def m_forwardMessage(self, p: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._chat(p)
        bot_msg, user_msg = self._source(p, "forward")
        sender = self.bot_user_json() if bot_msg is not None else user_msg["from"]  # type: ignore[index]
        origin = {"forward_origin": {"type": "user", "sender_user": sender, "date": int(time.time())}}
        msg = self._clone(chat_id, p, bot_msg, user_msg, keep_caption=True, extra=origin)
        return self.message_json(msg)

    # ------------------------------------------------------------------ methods: callbacks & files

    def m_answerCallbackQuery(self, p: dict[str, Any]) -> bool:
        query = self.callback_queries.get(str(p.get("callback_query_id", "")))
        if query is None or query["answered"]:
            raise bad("query is too old and response timeout expired or query ID is invalid")
        text = p.get("text") or ""
        if len(text) > MAX_CALLBACK_ANSWER:
            raise bad("MESSAGE_TOO_LONG")
        query["answered"] = True
        query["answer"] = {"text": text, "show_alert": bool(p.get("show_alert")), "url": p.get("url")}
        self._emit(query["user_id"], "answer", None, callback_query_id=query["id"], **query["answer"])
        return True

    def m_getFile(self, p: dict[str, Any]) -> dict[str, Any]:
        stored = self.files.get(str(p.get("file_id", "")))
        if stored is None:
            raise bad("invalid file_id")
        return {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
                **({"file_size": len(stored.data)} if stored.size_stated else {}), "file_path": stored.file_path}


def _chat_of(update: dict[str, Any]) -> int:
    """The chat (or sender) an update belongs to, for per-chat delivery order; 0 if none."""
    for key in ("message", "edited_message", "callback_query"):
        body = update.get(key)
        if not isinstance(body, dict):
            continue
        inner = body.get("message")
        for chat in (body.get("chat"), inner.get("chat") if isinstance(inner, dict) else None, body.get("from")):
            if isinstance(chat, dict) and isinstance(chat.get("id"), int):
                return int(chat["id"])
    return 0
