"""The Bot that speaks each platform's dialect: every request passes through ``_do_post``, so
texts, captions and edits are rendered for the platform in one place, whoever sends them."""

from __future__ import annotations

import time
from typing import Any

from telegram.error import InvalidToken, TelegramError
from telegram.ext import ExtBot

from bot.domain import formatting
from bot.domain.platforms import Platform

# Methods whose text or caption is shown to a user.
_TEXT_FIELDS = {
    "sendMessage": "text", "editMessageText": "text",
    "sendPhoto": "caption", "sendDocument": "caption", "sendVideo": "caption", "sendAudio": "caption",
    "sendAnimation": "caption", "sendVoice": "caption", "editMessageCaption": "caption",
    "copyMessage": "caption",
}
_EDITS = {"editMessageText", "editMessageCaption", "editMessageReplyMarkup"}
# Command menus and bot profile texts, absent from Bale's method lists.
MENU_METHODS = {"setMyCommands", "getMyCommands", "deleteMyCommands", "setChatMenuButton",
                "getChatMenuButton", "setMyDescription", "setMyShortDescription", "setMyName"}
# Fields of a request that Bale does not document and would at best ignore.
_BALE_DROPS = ("parse_mode", "entities", "caption_entities")


class UnsupportedMethod(TelegramError):
    """The platform does not have this Bot API method."""

    def __init__(self, method: str) -> None:
        super().__init__(f"the Bot API has no method {method}")
        self.method = method


class KhoosheBot(ExtBot[Any]):
    """An ExtBot that knows which platform it talks to."""

    def __init__(self, *args: Any, platform: Platform, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._platform = platform

    @property
    def platform(self) -> Platform:
        return self._platform

    async def fetch_updates(self, *, offset: int | None, timeout: float, allowed_updates: list[str],
                            limit: int = 100) -> list[dict[str, Any]]:
        """``getUpdates`` as the server sent it, so each update can be read on its own: PTB
        reads a whole batch at once, and one update it cannot read would be fetched forever."""
        data: dict[str, Any] = {"timeout": int(timeout), "limit": limit, "allowed_updates": allowed_updates}
        if offset is not None:
            data["offset"] = offset
        result = await self._post("getUpdates", data, read_timeout=timeout + 10)
        return [u for u in result if isinstance(u, dict)] if isinstance(result, list) else []

    async def _do_post(
        self, endpoint: str, data: dict[str, Any], *,
        read_timeout: Any = None, write_timeout: Any = None, connect_timeout: Any = None, pool_timeout: Any = None,
    ) -> Any:
        timeouts = {"read_timeout": read_timeout, "write_timeout": write_timeout,
                    "connect_timeout": connect_timeout, "pool_timeout": pool_timeout}
        # ExtBot's own defaults (DEFAULT_NONE) are kept where the caller set nothing.
        timeouts = {k: v for k, v in timeouts.items() if v is not None}
        data = self._right_to_left(endpoint, data)
        if self._platform.html:
            return await self._call(endpoint, data, timeouts)
        if endpoint in MENU_METHODS and not self._platform.command_menus:
            raise UnsupportedMethod(endpoint)
        sent = self._for_markdown_platform(endpoint, data)
        result = await self._call(endpoint, sent, timeouts)
        if endpoint in _EDITS and isinstance(result, dict) and not self._platform.edit_returns_message:
            return self._complete_edit(sent, result)
        return result

    async def _call(self, endpoint: str, data: dict[str, Any], timeouts: dict[str, Any]) -> Any:
        try:
            return await super()._do_post(endpoint, data, **timeouts)
        except InvalidToken:
            # PTB reads any 404 as a bad token; past getMe the token is known to be good.
            if endpoint in ("getMe", "getUpdates"):
                raise
            raise UnsupportedMethod(endpoint) from None

    @staticmethod
    def _right_to_left(endpoint: str, data: dict[str, Any]) -> dict[str, Any]:
        """Persian texts read right to left on every line, whichever platform shows them."""
        field = _TEXT_FIELDS.get(endpoint)
        text = data.get(field) if field else None
        if field is None or not isinstance(text, str):
            return data
        html = str(data.get("parse_mode") or "").upper() == "HTML"
        marked = formatting.right_to_left(text, markup=html)
        return data if marked == text else {**data, field: marked}

    @staticmethod
    def _for_markdown_platform(endpoint: str, data: dict[str, Any]) -> dict[str, Any]:
        field = _TEXT_FIELDS.get(endpoint)
        sent = {k: v for k, v in data.items() if k not in _BALE_DROPS}
        if field and isinstance(data.get(field), str):
            text = data[field]
            html = str(data.get("parse_mode") or "").upper() == "HTML"
            sent[field] = formatting.to_bale(text) if html else formatting.plain_for_bale(text)
        return sent

    @staticmethod
    def _complete_edit(sent: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
        """Bale answers an edit with a stub; the edited message is rebuilt from the request, so
        whoever awaited the edit gets a Message as on Telegram."""
        if "date" in result and "chat" in result:
            return result
        message: dict[str, Any] = {
            "message_id": sent.get("message_id") or result.get("message_id") or 0,
            "date": int(time.time()),
            "chat": {"id": sent.get("chat_id", 0), "type": "private"},
        }
        if isinstance(sent.get("text"), str):
            message["text"] = sent["text"]
        if isinstance(sent.get("caption"), str):
            message["caption"] = sent["caption"]
        return message

