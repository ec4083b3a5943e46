"""What the browser is told: the emulator's messages as chat items (JSON) with their text as
safe HTML.

The text comes from the emulator's own reading of what the bot sent (Telegram's HTML, or
Bale's Markdown under the Bale profile): plain text plus entities, exactly what a client would
render. So a tag Bale shows literally shows literally here too."""

from __future__ import annotations

import html
from collections.abc import Callable
from itertools import pairwise
from typing import Any

from bot.emulator.server import BotMessage

# Entity types a client draws, and the tags they become; others (mention, hashtag...) stay plain.
TAGS = {"bold": "b", "italic": "i", "underline": "u", "strikethrough": "s", "code": "code", "pre": "pre",
        "spoiler": "span", "blockquote": "blockquote", "expandable_blockquote": "blockquote"}


def _utf16_units(text: str) -> list[str]:
    """The text cut into UTF-16 code units' worth of characters (entities count in UTF-16):
    a character outside the BMP takes two slots, the second empty."""
    units: list[str] = []
    for char in text:
        units.append(char)
        if ord(char) > 0xFFFF:
            units.append("")
    return units


def _open(entity: dict[str, Any], segment: str) -> tuple[str, str]:
    kind = entity["type"]
    if kind == "text_link" or kind == "url":
        href = entity.get("url") or segment
        if not href.lower().startswith(("http://", "https://", "tg://", "mailto:")):
            return "", ""
        return f'<a href="{html.escape(href, quote=True)}" target="_blank" rel="noopener">', "</a>"
    tag = TAGS.get(kind)
    if tag is None:
        return "", ""
    extra = ' class="spoiler"' if kind == "spoiler" else ""
    return f"<{tag}{extra}>", f"</{tag}>"


def entities_to_html(text: str, entities: list[dict[str, Any]] | None) -> str:
    """Escaped text with each entity's span wrapped in its tag. Cut at every entity boundary,
    each piece wrapped in the tags of the entities covering it, so overlapping spans still make
    well-formed HTML."""
    units = _utf16_units(text)
    spans = [e for e in entities or [] if e.get("length", 0) > 0]
    cuts = sorted({0, len(units), *(e["offset"] for e in spans), *(e["offset"] + e["length"] for e in spans)})
    out: list[str] = []
    for start, end in pairwise(cuts):
        piece = "".join(units[start:end])
        covering = sorted((e for e in spans if e["offset"] <= start and end <= e["offset"] + e["length"]),
                          key=lambda e: (e["offset"], -e["length"]))
        opened = [_open(e, "".join(units[e["offset"]:e["offset"] + e["length"]])) for e in covering]
        out.append("".join(o for o, _ in opened) + html.escape(piece, quote=False)
                   + "".join(c for _, c in reversed(opened)))
    return "".join(out)


def _buttons(markup: dict[str, Any] | None) -> list[list[dict[str, Any]]]:
    rows = (markup or {}).get("inline_keyboard") or []
    return [[{"text": b["text"], "data": b.get("callback_data"), "url": b.get("url")} for b in row] for row in rows]


def keyboard(markup: dict[str, Any] | None) -> list[list[dict[str, Any]]] | None:
    """A reply keyboard's rows, or None when the chat has none."""
    rows = (markup or {}).get("keyboard")
    if rows is None:
        return None
    return [[{"text": b if isinstance(b, str) else b["text"],
              "contact": not isinstance(b, str) and bool(b.get("request_contact"))} for b in row] for row in rows]


Stamp = Callable[[int], str]


def _no_stamp(sent: int) -> str:
    return ""


def bot_item(msg: BotMessage, stamp: Stamp = _no_stamp) -> dict[str, Any]:
    """One bot message as the browser draws it (sent, or its current state after edits);
    ``stamp`` shows the moment it was sent."""
    item: dict[str, Any] = {"from": "bot", "id": msg.message_id, "kind": msg.kind, "edited": msg.edit_date is not None,
                            "deleted": msg.deleted, "at": stamp(msg.date), "html": entities_to_html(msg.text, msg.entities),
                            "buttons": _buttons(msg.reply_markup)}
    if msg.file is not None:
        item["file"] = {"url": f"/files/{msg.file.file_id}", "name": msg.file.file_name or "file",
                        "size": len(msg.file.data)}
    return item


def user_item(message: dict[str, Any], stamp: Stamp = _no_stamp) -> dict[str, Any]:
    """One message the persona sent, as the browser draws it on the other side."""
    item: dict[str, Any] = {"from": "user", "id": message["message_id"], "at": stamp(int(message.get("date", 0)))}
    if "contact" in message:
        item["kind"], item["html"] = "contact", "📱 " + html.escape(message["contact"]["phone_number"])
    elif "document" in message:
        name = message["document"].get("file_name") or "file"
        caption = message.get("caption") or ""
        item["kind"] = "document"
        item["file"] = {"url": f"/files/{message['document']['file_id']}", "name": name,
                        "size": message["document"].get("file_size", 0)}
        item["html"] = html.escape(caption, quote=False)
    else:
        item["kind"], item["html"] = "text", html.escape(message.get("text") or "", quote=False)
    return item


def history(bot_messages: dict[int, BotMessage], user_messages: dict[int, dict[str, Any]],
            stamp: Stamp = _no_stamp) -> list[dict[str, Any]]:
    """The whole chat, oldest first: both sides share one message-id counter per chat."""
    items = [bot_item(m, stamp) for m in bot_messages.values() if not m.deleted]
    items += [user_item(m, stamp) for m in user_messages.values() if not m.get("_deleted")]
    return sorted(items, key=lambda item: int(item["id"]))
