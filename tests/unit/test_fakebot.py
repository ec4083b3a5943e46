"""Tests for the fake Telegram Bot API (bot/emulator/) using python-telegram-bot itself."""

from __future__ import annotations

import asyncio
import io

import aiohttp
import pytest
import pytest_asyncio
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    Update,
)
from telegram.error import BadRequest, Conflict, Forbidden, NetworkError, RetryAfter
from telegram.ext import (
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.emulator import FakeBotApi

TOKEN = "123456:TEST"
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
       b"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")


@pytest_asyncio.fixture
async def api():
    async with FakeBotApi(token=TOKEN) as server:
        yield server


@pytest_asyncio.fixture
async def bot(api):
    async with Bot(TOKEN, base_url=api.base_url, base_file_url=api.base_file_url) as tg_bot:
        yield tg_bot


def keyboard(*pairs: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(text, callback_data=data)] for text, data in pairs])


async def test_get_me_and_wrong_token(api, bot):
    me = await bot.get_me()
    assert me.username == "khooshe_test_bot" and me.is_bot and me.id == 123456
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{api.base_url}654321:BAD/getMe") as resp:
            assert resp.status == 401 and (await resp.json())["description"] == "Unauthorized"
        async with http.post(f"{api.base_url}{TOKEN}/noSuchMethod") as resp:
            assert resp.status == 404
        async with http.post(f"{api.base_url}{TOKEN}/sendMessage", json={"chat_id": 1, "text": "x"}) as resp:
            assert (await resp.json())["description"] == "Bad Request: chat not found"


async def test_send_edit_delete_roundtrip(api, bot):
    user = api.user(42, "Sara")
    sent = await bot.send_message(42, "<b>سلام</b> &amp; خوش آمدید", parse_mode="HTML",
                                  reply_markup=keyboard(("Yes", "y"), ("No", "n")))
    assert sent.text == "سلام & خوش آمدید" and sent.reply_markup.inline_keyboard[0][0].callback_data == "y"
    event = await user.next()
    assert event.event == "send" and event.buttons == [["Yes"], ["No"]] and event.html.startswith("<b>")
    edited = await bot.edit_message_text("done", chat_id=42, message_id=sent.message_id)
    assert edited.text == "done" and edited.reply_markup is None  # no reply_markup removes the keyboard
    assert (await user.next()).event == "edit"
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text("done", chat_id=42, message_id=sent.message_id)
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("x", chat_id=42, message_id=999)
    assert await bot.delete_message(42, sent.message_id)
    with pytest.raises(BadRequest, match=r"(?i)message to delete not found"):
        await bot.delete_message(42, sent.message_id)
    assert (await user.next()).event == "delete" and user.last_message() is None
    assert api.message(42, sent.message_id).history[0]["text"] == "سلام & خوش آمدید"


@pytest.mark.parametrize("text", ["<b>bold", "a < b", "<b><i>x</b></i>", "<foo>x</foo>", "Q&A", "<a>x</a>"])
async def test_malformed_html_rejected(api, bot, text):
    api.user(42)
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await bot.send_message(42, text, parse_mode="HTML")


async def test_markdown_v2_and_lengths(api, bot):
    api.user(42)
    with pytest.raises(BadRequest, match=r"(?i)character '\.' is reserved"):
        await bot.send_message(42, "Hello.", parse_mode="MarkdownV2")
    assert (await bot.send_message(42, r"*Hi* there\.", parse_mode="MarkdownV2")).text == "Hi there."
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await bot.send_message(42, "*unclosed", parse_mode="Markdown")
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(42, "x" * 4097)
    assert len((await bot.send_message(42, "<b>" + "x" * 4096 + "</b>", parse_mode="HTML")).text) == 4096
    with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
        await bot.send_message(42, "  \n ")
    with pytest.raises(BadRequest, match=r"(?i)caption is too long"):
        await bot.send_photo(42, PNG, caption="c" * 1025)


async def test_callback_data_limit(api, bot):
    api.user(42)
    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
        await bot.send_message(42, "x", reply_markup=keyboard(("a", "d" * 65)))
    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
        await bot.send_message(42, "x", reply_markup=keyboard(("a", "ب" * 33)))  # 66 bytes
    await bot.send_message(42, "x", reply_markup=keyboard(("a", "d" * 64)))


async def test_rate_limit_block_and_faults(api, bot):
    api.user(42)
    api.rate_limit = 2
    await bot.send_message(42, "1")
    await bot.send_message(42, "2")
    with pytest.raises(RetryAfter) as info:
        await bot.send_message(42, "3")
    assert info.value.retry_after and api.count_429 == 1
    api.rate_limit = None
    api.block(42)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(42, "hi")
    api.unblock(42)
    api.fail_next("sendMessage", 502)
    with pytest.raises(NetworkError):
        await bot.send_message(42, "hi")
    await bot.send_message(42, "hi")
    assert [s for m, _, s in api.calls if m == "sendMessage"] == [200, 200, 429, 403, 502, 200]


async def test_a_5xx_after_acting_stores_the_message_and_still_answers_502(api, bot):
    api.user(42)
    api.error_rate_5xx_after = 1.0
    with pytest.raises(NetworkError):
        await bot.send_message(42, "stored anyway")
    api.error_rate_5xx_after = 0.0
    await bot.send_message(42, "second")
    assert [m.text for m in api.messages(42)] == ["stored anyway", "second"]
    assert [s for m, _, s in api.calls if m == "sendMessage"] == [502, 200]


async def test_latency_delays_the_answer_and_applies_the_call_half_way(api, bot):
    api.user(42)
    api.latency = (1.0, 1.0)
    loop = asyncio.get_running_loop()
    began = loop.time()
    sending = asyncio.create_task(bot.send_message(42, "slow"))
    while not api.messages(42):
        await asyncio.sleep(0.01)
    stored = loop.time() - began
    assert not sending.done()  # stored on the server, the answer still on its way back
    await sending
    assert stored >= 0.5 and loop.time() - began >= 1.0


async def test_duplicates_counts_the_same_message_sent_twice_to_one_chat(api, bot):
    api.user(42)
    api.user(43)
    for chat, text in [(42, "notice A"), (42, "notice A"), (42, "notice A"), (42, "other"), (43, "notice A")]:
        await bot.send_message(chat, text)
    sent = await bot.send_message(43, "notice B")
    await bot.send_message(43, "notice B")
    await bot.edit_message_text("edited", chat_id=43, message_id=sent.message_id)  # counted as first sent
    assert api.duplicates() == 3
    assert api.duplicates(containing="notice A") == 2
    assert api.duplicates(chats=[43]) == 1


async def test_hang_next_holds_a_call_then_answers_it_or_never_does(api, bot):
    api.user(42)
    api.user(43)
    api.hang_next("sendMessage", chat_id=43, seconds=0.3)
    await bot.send_message(42, "not held")  # another chat is not held
    delayed = asyncio.create_task(bot.send_message(43, "late"))
    await asyncio.sleep(0.1)
    assert not delayed.done() and [p["chat_id"] for _, p in api.held] == [43]
    assert (await delayed).text == "late"  # answered and applied after the delay
    api.hang_next("sendMessage")
    hung = asyncio.create_task(bot.send_message(42, "lost", read_timeout=0.5))
    with pytest.raises(NetworkError):  # PTB's TimedOut: no answer ever comes
        await hung
    assert [m.text for m in api.messages(42)] == ["not held"]  # a call never answered is never applied
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):  # a held call is still checked strictly
        api.hang_next("sendMessage", seconds=0.01)
        await bot.send_message(777, "nobody")


async def test_files_both_ways(api, bot):
    user = api.user(42)
    msg = await bot.send_document(42, io.BytesIO(b"PK\x03\x04xlsx"), filename="report.xlsx", caption="گزارش")
    assert msg.document.file_name == "report.xlsx" and msg.caption == "گزارش"
    event = await user.next()
    assert event.kind == "document" and event.data == b"PK\x03\x04xlsx" and event.file_name == "report.xlsx"
    photo = await bot.send_photo(42, PNG)
    assert photo.photo[0].width == 1 and api.messages(42)[-1].data == PNG
    with pytest.raises(BadRequest, match=r"(?i)there is no text"):
        await bot.edit_message_text("x", chat_id=42, message_id=photo.message_id)
    with pytest.raises(BadRequest, match=r"(?i)image_process_failed"):
        await bot.send_photo(42, b"not an image")
    await user.send_document("in.csv", b"a,b\n1,2\n")
    (update,) = await bot.get_updates(timeout=0)
    file = await update.message.document.get_file()
    assert bytes(await file.download_as_bytearray()) == b"a,b\n1,2\n"


async def test_get_updates_long_poll_and_offset(api, bot):
    user = api.user(7)
    task = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.05)
    await user.send("/start ref_1")
    (update,) = await asyncio.wait_for(task, 2)  # returns as soon as an update arrives
    assert update.message.text == "/start ref_1" and update.message.entities[0].type == "bot_command"
    assert len(await bot.get_updates(timeout=0)) == 1  # not confirmed yet
    assert await bot.get_updates(offset=update.update_id + 1, timeout=0) == ()
    await bot.set_my_commands([("start", "Start")], language_code="fa")
    assert [c.command for c in await bot.get_my_commands(language_code="fa")] == ["start"]


async def test_application_end_to_end(api):
    seen: list[str] = []

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.message.reply_text(f"echo {' '.join(context.args)}",
                                        reply_markup=keyboard(("✅ Confirm", "ok"), ("❌ Cancel", "no")))

    async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        seen.append(update.callback_query.data)
        await update.callback_query.answer("noted")
        await update.callback_query.edit_message_text(f"chose {update.callback_query.data}")

    async def on_contact(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.message.reply_text(f"phone {update.message.contact.phone_number}")

    async def ask_phone(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.message.reply_text("share?", reply_markup=ReplyKeyboardMarkup(
            [[KeyboardButton("📱 Share", request_contact=True)]]))

    app = ApplicationBuilder().token(TOKEN).base_url(api.base_url).build()
    app.add_handler(CommandHandler("echo", echo))
    app.add_handler(CommandHandler("phone", ask_phone))
    app.add_handler(CallbackQueryHandler(on_button))
    app.add_handler(MessageHandler(filters.CONTACT, on_contact))
    user = api.user(42, "Ali")
    async with app:
        await app.start()
        await app.updater.start_polling(poll_interval=0, timeout=1)
        try:
            await user.send("/echo hello")
            reply = await user.wait_for("echo hello")
            assert reply.buttons == [["✅ Confirm"], ["❌ Cancel"]]
            await user.press("Confirm")  # unique substring match
            answer = await user.wait_for(lambda e: e.event == "answer")
            assert answer.text == "noted"
            assert (await user.wait_for("chose ok")).buttons == []
            assert seen == ["ok"] and user.last_message().text == "chose ok"
            with pytest.raises(AssertionError, match="no button"):
                await user.press("Nope")
            await user.send("/phone")
            await user.wait_for("share?")
            await user.press("Share")  # request_contact button shares the user's own contact
            assert (await user.wait_for("phone")).text == "phone +989121234567"
            assert await user.settle() == []
        finally:
            await app.updater.stop()
            await app.stop()
    assert any(m == "deleteWebhook" for m, _, _ in api.calls)


async def test_callbacks_copy_and_json_body(api, bot):
    user = api.user(42)
    sent = await bot.send_document(42, io.BytesIO(b"data"), filename="a.txt", reply_markup=keyboard(("Go", "go")))
    assert sent.reply_markup.inline_keyboard[0][0].text == "Go"  # multipart + JSON-string reply_markup
    query_id = await user.press_data("forged:1")
    (update,) = await bot.get_updates(timeout=0)
    assert update.callback_query.data == "forged:1" and update.callback_query.message.message_id == sent.message_id
    assert await bot.answer_callback_query(query_id, "ok")
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await bot.answer_callback_query(query_id)
    assert user.callback_answers[-1].text == "ok"
    copied = await bot.copy_message(42, 42, sent.message_id)
    assert api.message(42, copied.message_id).data == b"data"
    with pytest.raises(BadRequest, match=r"(?i)message to copy not found"):
        await bot.copy_message(42, 42, 999)
    await bot.send_chat_action(42, "typing")
    assert api.chat_actions == [(42, "typing")]
    async with aiohttp.ClientSession() as http:  # plain JSON body with a dict reply_markup
        body = {"chat_id": 42, "text": "json", "reply_markup": {"inline_keyboard": [[{"text": "t"}]]}}
        async with http.post(f"{api.base_url}{TOKEN}/sendMessage", json=body) as resp:
            assert (await resp.json())["description"].endswith("Text buttons are unallowed in the inline keyboard")
    events = await user.settle()
    assert [e.event for e in events] == ["send", "answer", "send"]
    with pytest.raises(AssertionError, match="no bot output"):
        await user.next(timeout=0.05)


# ---------------------------------------------------------------------- the Bale profile

@pytest_asyncio.fixture
async def bale():
    async with FakeBotApi(token=TOKEN, profile="bale") as server:
        yield server


async def call(server: FakeBotApi, method: str, **params: object) -> tuple[int, dict]:
    async with aiohttp.ClientSession() as session, session.post(f"{server.base_url}{TOKEN}/{method}", json=params) as r:
        return r.status, await r.json()


async def test_bale_reads_every_text_as_markdown_and_shows_html_literally(bale: FakeBotApi) -> None:
    bale.user(5)
    status, _ = await call(bale, "sendMessage", chat_id=5, text="<b>a</b> *b* _c_ &lt;")
    assert status == 200
    [msg] = bale.messages(5)
    assert msg.text == "<b>a</b> b c &lt;"
    assert [e["type"] for e in msg.entities] == ["bold", "italic"]
    assert bale.leaks == [(5, "<b>a</b> b c &lt;")]  # the entity is visible


async def test_bale_reports_parse_mode_as_a_leak(bale: FakeBotApi) -> None:
    bale.user(5)
    await call(bale, "sendMessage", chat_id=5, text="plain", parse_mode="HTML")
    assert bale.leaks == [(5, "parse_mode=HTML sent to Bale")]


async def test_bale_has_no_command_menus(bale: FakeBotApi) -> None:
    status, body = await call(bale, "setMyCommands", commands=[{"command": "start", "description": "x"}])
    assert (status, body["description"]) == (404, "Not Found")


async def test_bale_answers_an_edit_with_a_stub(bale: FakeBotApi) -> None:
    bale.user(5)
    _, sent = await call(bale, "sendMessage", chat_id=5, text="one")
    status, body = await call(bale, "editMessageText", chat_id=5, message_id=sent["result"]["message_id"], text="two")
    assert (status, body["result"]) == (200, {"message_id": 0})
    assert bale.messages(5)[0].text == "two"


async def test_bale_updates_lack_chat_instance_and_language_code(bale: FakeBotApi) -> None:
    user = bale.user(5, language_code="en")
    await call(bale, "sendMessage", chat_id=5, text="pick", reply_markup={
        "inline_keyboard": [[{"text": "A", "callback_data": "a"}]]})
    await user.press("A")
    [update] = bale.updates
    assert "chat_instance" not in update["callback_query"]
    assert "language_code" not in update["callback_query"]["from"]

@pytest.mark.parametrize(("profile", "url", "error"), [
    ("telegram", "http://bot.example.org/hook", "(?i)an https url must be provided"),
    ("telegram", "https://bot.example.org:8080/hook", "only on ports 443, 80, 88, 8443"),
    ("bale", "https://bot.example.org:8443/hook", "only on ports 443, 88"),
    ("bale", "http://127.0.0.1:18443/hook", "(?i)an https url must be provided"),
])
async def test_set_webhook_refuses_what_the_platform_refuses(profile: str, url: str, error: str) -> None:
    async with FakeBotApi(token=TOKEN, profile=profile) as server:
        bot = Bot(TOKEN, base_url=server.base_url)
        async with bot:
            with pytest.raises(BadRequest, match=error):
                await bot.set_webhook(url)
        assert server.webhook_url == ""


async def test_a_set_webhook_receives_updates_by_post_with_the_secret_header() -> None:
    from aiohttp import web

    received: list[tuple[dict[str, object], str | None]] = []

    async def hook(request: web.Request) -> web.Response:
        received.append((await request.json(), request.headers.get("X-Telegram-Bot-Api-Secret-Token")))
        return web.Response(status=500 if len(received) == 1 else 200)  # the first attempt fails

    runner = web.AppRunner(web.Application())
    runner.app.router.add_post("/hook", hook)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        async with FakeBotApi(token=TOKEN) as server:
            server.local_webhooks = True
            server.webhook_retry_seconds = 0.01
            async with Bot(TOKEN, base_url=server.base_url) as bot:
                await bot.set_webhook(f"http://127.0.0.1:{port}/hook", secret_token="s3cret")
                with pytest.raises(Conflict, match="webhook is active"):
                    await bot.get_updates()
            update_id = await server.push_update({"message": {"message_id": 1, "chat": {"id": 7}, "text": "hi"}})
            while not server.deliveries or server.deliveries[-1][1] != 200:
                await asyncio.sleep(0.01)
            assert [u["update_id"] for u, _ in received] == [update_id, update_id]
            assert {h for _, h in received} == {"s3cret"}
            assert server.updates == []
    finally:
        await runner.cleanup()
