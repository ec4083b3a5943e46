"""The web chat's server side: what the emulator shows becomes what the page draws, and what a
person does on the page becomes the update a messenger would send."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from bot.emulator import FakeBotApi
from bot.playground.chats import BadAction, ChatUser, Hub, act, upload
from bot.playground.render import entities_to_html

PERSONA = 4242
PHONE = "+989120004242"


class Chat:
    def __init__(self, api: FakeBotApi) -> None:
        self.api, self.hub = api, Hub()
        self.events = self.hub.subscribe()
        self.user = ChatUser(api, PERSONA, "Ali", PHONE, self.hub)
        api.users[PERSONA] = self.user

    def bot_says(self, **params: Any) -> dict[str, Any]:
        return self.api.m_sendMessage({"chat_id": PERSONA, **params})

    def pushed(self) -> list[dict[str, Any]]:
        out = []
        while not self.events.empty():
            out.append(self.events.get_nowait())
        return out

    def last_update(self) -> dict[str, Any]:
        return self.api.updates[-1]


@pytest_asyncio.fixture(params=["telegram", "bale"])
async def chat(request: pytest.FixtureRequest) -> AsyncIterator[Chat]:
    async with FakeBotApi(profile=request.param) as api:
        yield Chat(api)


@pytest_asyncio.fixture
async def telegram() -> AsyncIterator[Chat]:
    async with FakeBotApi(profile="telegram") as api:
        yield Chat(api)


@pytest_asyncio.fixture
async def bale() -> AsyncIterator[Chat]:
    async with FakeBotApi(profile="bale") as api:
        yield Chat(api)


def test_telegram_html_is_drawn_with_its_tags(telegram: Chat) -> None:
    telegram.bot_says(text='<b>امتیاز</b> <i>کل</i> <code>42</code> <a href="https://ble.ir/khooshe">پیوند</a>',
                      parse_mode="HTML")
    [event] = telegram.pushed()
    assert event["item"]["html"] == ('<b>امتیاز</b> <i>کل</i> <code>42</code> '
                                     '<a href="https://ble.ir/khooshe" target="_blank" rel="noopener">پیوند</a>')


def test_bale_draws_its_markdown_and_shows_tags_literally(bale: Chat) -> None:
    bale.bot_says(text="*امتیاز* _کل_ <b>x</b>")
    [event] = bale.pushed()
    assert event["item"]["html"] == "<b>امتیاز</b> <i>کل</i> &lt;b&gt;x&lt;/b&gt;"


def test_a_bold_span_after_an_emoji_stays_on_its_words(chat: Chat) -> None:
    # 📈 is two UTF-16 units: a span counted in characters on one side and units on the other slips.
    sent = {"telegram": {"text": "📈 <b>آمار کشوری</b>\nبنگاه‌ها", "parse_mode": "HTML"},
            "bale": {"text": "📈 *آمار کشوری*\nبنگاه‌ها"}}
    chat.bot_says(**sent[chat.api.profile])
    [event] = chat.pushed()
    assert event["item"]["html"] == "📈 <b>آمار کشوری</b>\nبنگاه‌ها"


def test_entities_are_counted_in_utf16_units() -> None:
    # 📊 takes two UTF-16 units: the bold word starts at offset 3, not 2.
    assert entities_to_html("📊 جمع", [{"type": "bold", "offset": 3, "length": 3}]) == "📊 <b>جمع</b>"


def test_a_link_that_is_not_http_is_not_made_clickable() -> None:
    html = entities_to_html("click", [{"type": "text_link", "offset": 0, "length": 5, "url": "javascript:alert(1)"}])
    assert html == "click"


async def test_what_a_person_types_is_shown_escaped(chat: Chat) -> None:
    await act(chat.user, {"type": "text", "text": "<img src=x onerror=alert(1)>"})
    [event] = chat.pushed()
    assert (event["item"]["from"], event["item"]["html"]) == ("user", "&lt;img src=x onerror=alert(1)&gt;")


async def test_a_typed_command_reaches_the_bot_as_a_command(chat: Chat) -> None:
    await act(chat.user, {"type": "text", "text": "/myrank"})
    message = chat.last_update()["message"]
    assert (message["text"], message["entities"]) == ("/myrank", [{"type": "bot_command", "offset": 0, "length": 7}])


async def test_a_press_sends_the_buttons_data_from_that_message(chat: Chat) -> None:
    sent = chat.bot_says(text="?", reply_markup={"inline_keyboard": [[{"text": "بله", "callback_data": "a:yes"}]]})
    await act(chat.user, {"type": "press", "message_id": sent["message_id"], "data": "a:yes"})
    query = chat.last_update()["callback_query"]
    assert (query["data"], query["message"]["message_id"], query["from"]["id"]) == ("a:yes", sent["message_id"], PERSONA)


async def test_a_press_of_data_the_message_does_not_carry_is_refused(chat: Chat) -> None:
    sent = chat.bot_says(text="?", reply_markup={"inline_keyboard": [[{"text": "بله", "callback_data": "a:yes"}]]})
    with pytest.raises(BadAction):
        await act(chat.user, {"type": "press", "message_id": sent["message_id"], "data": "admin:delete"})
    assert chat.api.updates == []


async def test_the_contact_button_shares_the_personas_own_number(chat: Chat) -> None:
    chat.bot_says(text="شماره؟", reply_markup={"keyboard": [[{"text": "📱 ارسال شماره من", "request_contact": True}]],
                                                "resize_keyboard": True})
    await act(chat.user, {"type": "text", "text": "📱 ارسال شماره من"})
    contact = chat.last_update()["message"]["contact"]
    assert (contact["phone_number"], contact["user_id"]) == (PHONE, PERSONA)


async def test_a_reply_keyboard_is_pushed_with_its_buttons(chat: Chat) -> None:
    chat.bot_says(text="شماره؟", reply_markup={"keyboard": [[{"text": "📱 ارسال شماره من", "request_contact": True}], ["لغو"]]})
    keyboards = [e for e in chat.pushed() if e["type"] == "keyboard"]
    assert keyboards == [{"type": "keyboard", "chat": PERSONA, "rows": [[{"text": "📱 ارسال شماره من", "contact": True}],
                                                                         [{"text": "لغو", "contact": False}]]}]


async def test_an_edit_replaces_the_message_in_place(chat: Chat) -> None:
    sent = chat.bot_says(text="سؤال ۱")
    chat.api.m_editMessageText({"chat_id": PERSONA, "message_id": sent["message_id"], "text": "✔ بله"})
    edit = chat.pushed()[-1]["item"]
    assert (edit["id"], edit["html"], edit["edited"]) == (sent["message_id"], "✔ بله", True)


async def test_the_bots_answer_to_a_press_reaches_the_page(chat: Chat) -> None:
    sent = chat.bot_says(text="?", reply_markup={"inline_keyboard": [[{"text": "بله", "callback_data": "a:yes"}]]})
    await act(chat.user, {"type": "press", "message_id": sent["message_id"], "data": "a:yes"})
    query_id = chat.last_update()["callback_query"]["id"]
    chat.pushed()
    chat.api.m_answerCallbackQuery({"callback_query_id": query_id, "text": "ثبت شد"})
    assert chat.pushed() == [{"type": "answer", "chat": PERSONA, "text": "ثبت شد", "alert": False}]


async def test_an_upload_is_a_document_the_bot_can_fetch(chat: Chat) -> None:
    await upload(chat.user, "estates.csv", b"province,name,kind\n", "/import estates", "text/csv")
    message = chat.last_update()["message"]
    stored = chat.api.files[message["document"]["file_id"]]
    assert (message["caption"], stored.file_name, stored.data) == ("/import estates", "estates.csv", b"province,name,kind\n")


async def test_a_photo_is_drawn_from_its_file(chat: Chat) -> None:
    from bot.emulator.server import Upload

    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
    chat.api.m_sendPhoto({"chat_id": PERSONA, "photo": Upload("chart.png", "image/png", png)})
    item = chat.pushed()[-1]["item"]
    assert (item["kind"], chat.api.files[item["file"]["url"].rpartition("/")[2]].data) == ("photo", png)


async def test_the_history_has_both_sides_in_order(chat: Chat) -> None:
    await act(chat.user, {"type": "text", "text": "/start"})
    chat.bot_says(text="سلام")
    await asyncio.sleep(0)
    assert [(i["from"], i["html"]) for i in chat.user.state()["items"]] == [("user", "/start"), ("bot", "سلام")]
