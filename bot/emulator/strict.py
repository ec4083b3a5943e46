"""Telegram-strict validation: HTML / MarkdownV2 / Markdown parsing and reply_markup checks."""

from __future__ import annotations

import json
import re
from typing import Any

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64
MAX_CALLBACK_ANSWER = 200

# Telegram strips these around the parsed text (ZWNJ etc. are kept).
_STRIP = " \t\r\n\x0b\x0c"


class ApiError(Exception):
    """A Telegram-shaped API error (error_code + description [+ retry_after])."""

    def __init__(self, code: int, description: str, retry_after: int | None = None):
        super().__init__(description)
        self.code, self.description, self.retry_after = code, description, retry_after

    def payload(self) -> dict[str, Any]:
        """The JSON body Telegram would answer with."""
        body: dict[str, Any] = {"ok": False, "error_code": self.code, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def bad(description: str) -> ApiError:
    """A 400 'Bad Request: ...' error."""
    return ApiError(400, f"Bad Request: {description}")


def _entities_error(message: str) -> ApiError:
    return bad(f"can't parse entities: {message}")


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, as Telegram counts entity offsets."""
    return len(text.encode("utf-16-le")) // 2


# --------------------------------------------------------------------------- HTML

_HTML_TAGS = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline",
    "ins": "underline", "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough",
    "a": "text_link", "code": "code", "pre": "pre", "span": "spoiler", "tg-spoiler": "spoiler",
    "blockquote": "blockquote", "tg-emoji": "custom_emoji",
}
_HTML_ENTITY = re.compile(r"&(lt|gt|amp|quot|#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6});")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


def _decode_entities(value: str) -> str:
    def repl(m: re.Match[str]) -> str:
        name = m.group(1)
        if name in _NAMED:
            return _NAMED[name]
        code = int(name[2:], 16) if name[1] in "xX" else int(name[1:])
        return chr(code) if 0 < code <= 0x10FFFF else m.group(0)

    return _HTML_ENTITY.sub(repl, value)


def _parse_html_attrs(text: str, i: int, begin: int, tag: str) -> tuple[dict[str, str], int]:
    """Parse attributes of a start tag from text[i:]; return (attrs, index after '>')."""
    attrs: dict[str, str] = {}
    n = len(text)
    while True:
        while i < n and text[i].isspace():
            i += 1
        if i >= n:
            raise _entities_error(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
        if text[i] == ">":
            return attrs, i + 1
        j = i
        while j < n and not text[j].isspace() and text[j] not in "=>":
            j += 1
        name = text[i:j].lower()
        if not name:
            raise _entities_error(f'Empty attribute name in the tag "{tag}" at byte offset {_byte_offset(text, begin)}')
        while j < n and text[j].isspace():
            j += 1
        if j >= n:
            raise _entities_error(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
        if text[j] != "=":
            attrs[name] = ""  # boolean attribute, e.g. <blockquote expandable>
            i = j
            continue
        j += 1
        while j < n and text[j].isspace():
            j += 1
        if j >= n:
            raise _entities_error(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
        if text[j] in "\"'":
            end = text.find(text[j], j + 1)
            if end < 0:
                raise _entities_error(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
            value, i = text[j + 1:end], end + 1
        else:
            k = j
            while k < n and not text[k].isspace() and text[k] != ">":
                k += 1
            value, i = text[j:k], k
        attrs[name] = _decode_entities(value)


def parse_html(text: str, strict_ampersand: bool = True) -> tuple[str, list[dict[str, Any]]]:
    """Parse Telegram HTML into (plain text, entities with code-point offsets)."""
    out: list[str] = []
    length = 0  # code points emitted so far
    stack: list[tuple[str, int, dict[str, str]]] = []
    entities: list[dict[str, Any]] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "&":
            m = _HTML_ENTITY.match(text, i)
            if m:
                decoded = _decode_entities(m.group(0))
                out.append(decoded)
                length += len(decoded)
                i = m.end()
                continue
            if strict_ampersand:
                raise _entities_error(
                    f'Character "&" at byte offset {_byte_offset(text, i)} must be escaped as "&amp;"')
        if c != "<":
            out.append(c)
            length += 1
            i += 1
            continue
        begin = i
        if i + 1 < n and text[i + 1] == "/":
            end = text.find(">", i)
            if end < 0:
                raise _entities_error(f"Unclosed end tag at byte offset {_byte_offset(text, begin)}")
            name = text[i + 2:end].strip().lower()
            if not stack:
                raise _entities_error(f"Unexpected end tag at byte offset {_byte_offset(text, begin)}")
            if name != stack[-1][0]:
                raise _entities_error(
                    f'Unmatched end tag at byte offset {_byte_offset(text, begin)}, '
                    f'expected "</{stack[-1][0]}>", found "</{name}>"')
            tag, start, attrs = stack.pop()
            entity = _html_entity(tag, attrs, start, length - start)
            if entity is not None:
                entities.append(entity)
            i = end + 1
            continue
        j = i + 1
        while j < n and not text[j].isspace() and text[j] != ">":
            j += 1
        tag = text[i + 1:j].lower()
        if tag not in _HTML_TAGS:
            raise _entities_error(f'Unsupported start tag "{tag}" at byte offset {_byte_offset(text, begin)}')
        attrs, i = _parse_html_attrs(text, j, begin, tag)
        if tag == "a" and not attrs.get("href"):
            raise _entities_error(f'Tag "a" must have attribute "href" at byte offset {_byte_offset(text, begin)}')
        if tag == "span" and attrs.get("class") != "tg-spoiler":
            raise _entities_error('Tag "span" must have class "tg-spoiler"')
        if tag == "tg-emoji" and not attrs.get("emoji-id", "").isdigit():
            raise _entities_error('Custom emoji entity must contain a tag "emoji-id"')
        stack.append((tag, length, attrs))
    if stack:
        raise _entities_error(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    return "".join(out), sorted(entities, key=lambda e: (e["offset"], -e["length"]))


def _html_entity(tag: str, attrs: dict[str, str], offset: int, length: int) -> dict[str, Any] | None:
    if length <= 0:
        return None
    kind = _HTML_TAGS[tag]
    entity: dict[str, Any] = {"type": kind, "offset": offset, "length": length}
    if kind == "text_link":
        entity["url"] = attrs["href"]
    elif kind == "code" and attrs.get("class", "").startswith("language-"):
        entity["language"] = attrs["class"][len("language-"):]
    elif kind == "blockquote" and "expandable" in attrs:
        entity["type"] = "expandable_blockquote"
    elif kind == "custom_emoji":
        entity["custom_emoji_id"] = attrs["emoji-id"]
    return entity


# --------------------------------------------------------------------------- MarkdownV2

_V2_RESERVED = "_*[]()~`>#+-=|{}.!"
_V2_NAMES = {"bold": "Bold", "italic": "Italic", "underline": "Underline", "strikethrough": "Strikethrough",
             "spoiler": "Spoiler", "code": "Code", "pre": "Pre", "text_link": "TextUrl",
             "custom_emoji": "CustomEmoji"}


def _reserved(c: str) -> ApiError:
    return _entities_error(f"Character '{c}' is reserved and must be escaped with the preceding '\\'")


def parse_markdown_v2(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Parse MarkdownV2 like tdlib: reserved characters must be escaped, entities balanced."""
    out: list[str] = []
    stack: list[dict[str, Any]] = []
    entities: list[dict[str, Any]] = []
    quote: dict[str, Any] | None = None
    i, n = 0, len(text)

    def emitted() -> int:
        return sum(len(s) for s in out)

    while i < n:
        c = text[i]
        at_line_start = i == 0 or text[i - 1] == "\n"
        inside_code = bool(stack) and stack[-1]["type"] in ("code", "pre")
        if at_line_start and not inside_code:
            if quote is not None and c != ">" and not text.startswith("**>", i):
                entities.append({"type": quote["type"], "offset": quote["offset"],
                                 "length": emitted() - 1 - quote["offset"]})
                quote = None
            if text.startswith("**>", i) or c == ">":
                if quote is None:
                    expandable = text.startswith("**>", i)
                    quote = {"type": "expandable_blockquote" if expandable else "blockquote",
                             "offset": emitted()}
                i += 3 if text.startswith("**>", i) else 1
                continue
        if c == "\\" and i + 1 < n and 0 < ord(text[i + 1]) < 127:
            out.append(text[i + 1])
            i += 2
            continue
        if quote is not None and text.startswith("||", i) and (i + 2 == n or text[i + 2] == "\n") \
                and not (stack and stack[-1]["type"] == "spoiler"):
            i += 2  # end marker of an expandable blockquote
            continue
        reserved = "`" if inside_code else _V2_RESERVED
        if c not in reserved:
            out.append(c)
            i += 1
            continue
        top = stack[-1]["type"] if stack else None
        nxt = text[i + 1] if i + 1 < n else ""
        is_end = (
            (top == "bold" and c == "*") or (top == "italic" and c == "_" and nxt != "_")
            or (top == "underline" and c == "_" and nxt == "_") or (top == "strikethrough" and c == "~")
            or (top == "spoiler" and c == "|" and nxt == "|") or (top == "code" and c == "`")
            or (top == "pre" and text.startswith("```", i)) or (top in ("text_link", "custom_emoji") and c == "]")
        )
        if not is_end:
            entity: dict[str, Any] = {"byte": _byte_offset(text, i), "offset": emitted()}
            if c == "_" and nxt == "_":
                entity["type"], i = "underline", i + 2
            elif c == "_":
                entity["type"], i = "italic", i + 1
            elif c == "*":
                entity["type"], i = "bold", i + 1
            elif c == "~":
                entity["type"], i = "strikethrough", i + 1
            elif c == "|" and nxt == "|":
                entity["type"], i = "spoiler", i + 2
            elif c == "[":
                entity["type"], i = "text_link", i + 1
            elif c == "!" and nxt == "[":
                entity["type"], i = "custom_emoji", i + 2
            elif text.startswith("```", i):
                i += 3
                j = i
                while j < n and text[j] not in "\n `":
                    j += 1
                if j < n and text[j] == "\n" and j > i:
                    entity["language"] = text[i:j]
                    i = j + 1
                entity["type"] = "pre"
            elif c == "`":
                entity["type"], i = "code", i + 1
            else:
                raise _reserved(c)
            stack.append(entity)
            continue
        entity = stack.pop()
        kind = entity["type"]
        i += {"underline": 2, "spoiler": 2, "pre": 3}.get(kind, 1)
        if kind in ("text_link", "custom_emoji"):
            if i < n and text[i] == "(":
                j, url = i + 1, []
                while j < n and text[j] != ")":
                    if text[j] == "\\" and j + 1 < n and 0 < ord(text[j + 1]) < 127:
                        j += 1
                    url.append(text[j])
                    j += 1
                if j >= n:
                    raise _entities_error(f"Can't find end of a url at byte offset {_byte_offset(text, i)}")
                entity["url"], i = "".join(url), j + 1
            elif kind == "custom_emoji":
                raise _entities_error(f"Custom emoji entity must contain a URL at byte offset {entity['byte']}")
            else:
                entity["url"] = "".join(out)[entity["offset"]:]
        length = emitted() - entity["offset"]
        if length > 0:
            result = {"type": kind, "offset": entity["offset"], "length": length}
            if kind == "text_link":
                result["url"] = entity["url"]
            elif kind == "pre" and entity.get("language"):
                result["language"] = entity["language"]
            elif kind == "custom_emoji":
                result["custom_emoji_id"] = entity["url"].rpartition("id=")[2]
            entities.append(result)
    if stack:
        e = stack[-1]
        raise _entities_error(f"Can't find end of {_V2_NAMES[e['type']]} entity at byte offset {e['byte']}")
    if quote is not None:
        entities.append({"type": quote["type"], "offset": quote["offset"], "length": emitted() - quote["offset"]})
    return "".join(out), sorted(entities, key=lambda e: (e["offset"], -e["length"]))


# --------------------------------------------------------------------------- legacy Markdown

def parse_markdown(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Parse legacy Markdown: *bold* _italic_ `code` ```pre``` [text](url), no nesting."""
    out: list[str] = []
    entities: list[dict[str, Any]] = []
    i, n = 0, len(text)
    kinds = {"*": "bold", "_": "italic", "`": "code", "[": "text_link"}
    while i < n:
        c = text[i]
        if c == "\\" and i + 1 < n and text[i + 1] in "_*`[":
            out.append(text[i + 1])
            i += 2
            continue
        if c not in kinds:
            out.append(c)
            i += 1
            continue
        begin, kind, end_char = i, kinds[c], "]" if c == "[" else c
        i += 1
        language = None
        if text.startswith("```", begin):
            kind, i = "pre", begin + 3
            j = i
            while j < n and text[j] not in "\n `":
                j += 1
            if j < n and text[j] == "\n" and j > i:
                language, i = text[i:j], j + 1
        start = sum(len(s) for s in out)
        while i < n and not (text[i] == end_char and (kind != "pre" or text.startswith("```", i))):
            out.append(text[i])
            i += 1
        if i >= n:
            raise _entities_error(f"Can't find end of the entity starting at byte offset {_byte_offset(text, begin)}")
        i += 3 if kind == "pre" else 1
        entity: dict[str, Any] = {"type": kind, "offset": start, "length": sum(len(s) for s in out) - start}
        if kind == "text_link":
            if i < n and text[i] == "(":
                end = text.find(")", i)
                if end < 0:
                    raise _entities_error(
                        f"Can't find end of the entity starting at byte offset {_byte_offset(text, begin)}")
                entity["url"], i = text[i + 1:end], end + 1
            else:
                entity["url"] = "".join(out)[start:]
        if language:
            entity["language"] = language
        if entity["length"] > 0:
            entities.append(entity)
    return "".join(out), entities


# --------------------------------------------------------------------------- text helpers

_BALE_SPANS = re.compile(r"\*(?P<bold>[^*\n]+)\*|_(?P<italic>[^_\n]+)_|`(?P<code>[^`\n]+)`|\[(?P<label>[^\]\n]+)\]\((?P<url>[^)\s]+)\)")


def parse_bale_markdown(text: str) -> tuple[str, list[dict[str, Any]]]:
    """How Bale shows a text: always through its Markdown, whatever parse_mode says. Modelled on
    the least forgiving reading, since Bale documents little: ``*x*`` bold, ``_x_`` italic (also
    inside words and URLs), `` `x` `` code, ``[x](url)`` a link; a pair never spans a line; a
    backslash escapes nothing (it is shown); a marker without its pair is shown as it is; a
    span's inside is read again, so ``*_x_*`` is bold italic. HTML tags and entities are shown
    literally. Never an error."""
    out: list[str] = []
    entities: list[dict[str, Any]] = []

    def emit(chunk: str, depth: int = 0) -> None:
        pos = 0
        for m in _BALE_SPANS.finditer(chunk):
            out.append(chunk[pos:m.start()])
            # In characters, like the other parsers: parse_text turns every offset into UTF-16 units.
            start = len(''.join(out))
            kind = next(k for k in ("bold", "italic", "code", "label") if m.group(k) is not None)
            inner = m.group(kind)
            if kind == "code" or depth > 3:
                out.append(inner)
            else:
                emit(inner, depth + 1)
            entity: dict[str, Any] = {"type": "text_link" if kind == "label" else kind, "offset": start,
                                      "length": len(''.join(out)) - start}
            if kind == "label":
                entity["url"] = m.group("url")
            entities.append(entity)
            pos = m.end()
        out.append(chunk[pos:])

    emit(text)
    return "".join(out), sorted(entities, key=lambda e: (e["offset"], -e["length"]))


def parse_text(raw: str, parse_mode: str | None, strict_ampersand: bool = True) -> tuple[str, list[dict[str, Any]]]:
    """Parse raw text per parse_mode, strip like Telegram, return (plain, UTF-16 entities)."""
    mode = (parse_mode or "").lower()
    if mode == "bale":
        plain, entities = parse_bale_markdown(raw)
    elif mode == "html":
        plain, entities = parse_html(raw, strict_ampersand)
    elif mode == "markdownv2":
        plain, entities = parse_markdown_v2(raw)
    elif mode == "markdown":
        plain, entities = parse_markdown(raw)
    elif mode == "":
        plain, entities = raw, []
    else:
        raise bad("unsupported parse_mode")
    lead = len(plain) - len(plain.lstrip(_STRIP))
    plain = plain.strip(_STRIP)
    fixed = []
    for e in entities:
        start = max(e["offset"] - lead, 0)
        end = min(e["offset"] + e["length"] - lead, len(plain))
        if end > start:
            fixed.append({**e, "offset": utf16_len(plain[:start]), "length": utf16_len(plain[start:end])})
    return plain, fixed


def check_text(raw: Any, parse_mode: str | None, strict_ampersand: bool = True) -> tuple[str, list[dict[str, Any]]]:
    """Validate a message text; return (plain, entities)."""
    if raw is None or (isinstance(raw, str) and not raw.strip(_STRIP)):
        raise bad("message text is empty")
    plain, entities = parse_text(str(raw), parse_mode, strict_ampersand)
    if not plain:
        raise bad("message text is empty")
    if len(plain) > MAX_TEXT:
        raise bad("message is too long")
    return plain, entities


def check_caption(raw: Any, parse_mode: str | None, strict_ampersand: bool = True) -> tuple[str, list[dict[str, Any]]]:
    """Validate a caption (may be empty); return (plain, entities)."""
    if raw is None:
        return "", []
    plain, entities = parse_text(str(raw), parse_mode, strict_ampersand)
    if len(plain) > MAX_CAPTION:
        raise bad("message caption is too long")
    return plain, entities


# --------------------------------------------------------------------------- reply_markup

_INLINE_ACTIONS = ("callback_data", "url", "web_app", "login_url", "switch_inline_query",
                   "switch_inline_query_current_chat", "switch_inline_query_chosen_chat",
                   "copy_text", "callback_game", "pay")


def _check_inline_keyboard(rows: Any) -> None:
    if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
        raise bad("can't parse inline keyboard button: InlineKeyboardButtons must be an array of arrays")
    if sum(len(r) for r in rows) > 100:
        raise bad("reply markup is too long")
    for row in rows:
        for button in row:
            if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                raise bad("can't parse inline keyboard button: Field \"text\" must be of type String")
            if not button["text"].strip():
                raise bad("BUTTON_TEXT_INVALID")
            actions = [k for k in _INLINE_ACTIONS if k in button]
            if not actions:
                raise bad("can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard")
            if len(actions) > 1:
                raise bad("can't parse inline keyboard button: only one of the optional fields must be specified")
            if "callback_data" in button:
                data = button["callback_data"]
                if not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA:
                    raise bad("BUTTON_DATA_INVALID")
            if "url" in button and not re.match(r"^(https?|tg)://\S+$", str(button["url"])):
                raise bad(f"inline keyboard button URL '{button['url']}' is invalid: Wrong HTTP URL")


def check_reply_markup(markup: Any, inline_only: bool = False) -> dict[str, Any] | None:
    """Validate reply_markup (dict or JSON string); return the dict or None."""
    if markup is None:
        return None
    if isinstance(markup, str):
        try:
            markup = json.loads(markup)
        except ValueError:
            raise bad("can't parse reply keyboard markup JSON object") from None
    if not isinstance(markup, dict):
        raise bad("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        _check_inline_keyboard(markup["inline_keyboard"])
    elif inline_only:
        raise bad("inline keyboard expected")
    elif "keyboard" in markup:
        rows = markup["keyboard"]
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise bad("can't parse reply keyboard markup JSON object")
        for row in rows:
            for button in row:
                text = button if isinstance(button, str) else button.get("text") if isinstance(button, dict) else None
                if not isinstance(text, str) or not text.strip():
                    raise bad("keyboard button text must be non-empty")
    elif markup.get("remove_keyboard") is True or markup.get("force_reply") is True:
        pass
    else:
        raise bad("can't parse reply keyboard markup JSON object")
    return markup
