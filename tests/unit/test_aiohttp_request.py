"""The aiohttp request layer (bot.transport.aiohttp_request) against a tiny aiohttp server on
127.0.0.1: parameters, uploads, downloads, timeouts and errors as PTB expects them."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile
from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut
from telegram.request import RequestData
from telegram.request._requestparameter import RequestParameter

from bot import transport
from bot.transport.aiohttp_request import AiohttpRequest

TOKEN = "123456:UNIT"


class Server:
    """Records what each request carried; ``/slow`` answers after ``delay`` seconds."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []
        self.delay = 1.0
        self.base = ""

    async def method(self, request: web.Request) -> web.Response:
        name = request.match_info["method"]
        fields: dict[str, Any] = {}
        if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            for key, value in (await request.post()).items():
                if isinstance(value, web.FileField):
                    fields[key] = (value.filename, value.content_type, value.file.read())
                else:
                    fields[key] = value
        self.seen.append({"method": name, "content_type": request.content_type, "fields": fields,
                          "user_agent": request.headers.get("User-Agent", "")})
        if name == "slow":
            await asyncio.sleep(self.delay)
        if name == "bad":
            return web.json_response({"ok": False, "error_code": 400, "description": "Bad Request: nope"}, status=400)
        if name == "flood":
            return web.json_response({"ok": False, "error_code": 429, "description": "Too Many Requests",
                                      "parameters": {"retry_after": 3}}, status=429)
        if name == "getMe":
            return web.json_response({"ok": True, "result": {"id": 123456, "is_bot": True, "first_name": "Unit",
                                                             "username": "unit_bot"}})
        return web.json_response({"ok": True, "result": True})

    async def file(self, request: web.Request) -> web.Response:
        return web.Response(body=bytes(range(256)) * 40, content_type="application/octet-stream")


@pytest_asyncio.fixture
async def server() -> AsyncIterator[Server]:
    state = Server()
    app = web.Application()
    app.router.add_post("/bot{token}/{method}", state.method)
    app.router.add_get("/file/bot{token}/{path:.+}", state.file)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    state.base = f"http://127.0.0.1:{port}"
    try:
        yield state
    finally:
        await runner.cleanup()


@pytest_asyncio.fixture
async def request_() -> AsyncIterator[AiohttpRequest]:
    req = AiohttpRequest(connection_pool_size=4)
    async with req:
        yield req


def data(**params: object) -> RequestData:
    return RequestData([RequestParameter.from_input(k, v) for k, v in params.items()])


async def test_parameters_are_form_encoded_as_httpx_does(server, request_):
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("بله ✅", callback_data="q:1:o.y")]])
    result = await request_.post(f"{server.base}/bot{TOKEN}/sendMessage",
                                 data(chat_id=5, text="سلام <b>دنیا</b> & ۱۲", reply_markup=markup, disable=True))
    assert result is True
    seen = server.seen[-1]
    assert seen["content_type"] == "application/x-www-form-urlencoded"
    assert seen["user_agent"].startswith("python-telegram-bot")
    fields = seen["fields"]
    assert fields["chat_id"] == "5" and fields["text"] == "سلام <b>دنیا</b> & ۱۲" and fields["disable"] == "true"
    assert json.loads(fields["reply_markup"]) == markup.to_dict()


async def test_a_request_without_parameters_has_no_body(server, request_):
    assert await request_.post(f"{server.base}/bot{TOKEN}/getMe") == {
        "id": 123456, "is_bot": True, "first_name": "Unit", "username": "unit_bot"}
    assert server.seen[-1]["fields"] == {}


async def test_an_upload_arrives_intact_with_its_name_and_the_parameters(server, request_):
    payload = bytes(range(256)) * 4000  # 1 MB, every byte value
    document = InputFile(payload, filename="خوشه-گزارش.xlsx", attach=True)
    await request_.post(f"{server.base}/bot{TOKEN}/sendDocument",
                        data(chat_id=7, caption="گزارش ۱۴۰۵", document=document))
    seen = server.seen[-1]
    assert seen["content_type"] == "multipart/form-data"
    fields = seen["fields"]
    assert fields["chat_id"] == "7" and fields["caption"] == "گزارش ۱۴۰۵"
    assert fields["document"] == f"attach://{document.attach_name}"
    filename, content_type, body = fields[document.attach_name]
    assert filename == "خوشه-گزارش.xlsx"
    assert content_type == document.mimetype
    assert body == payload


async def test_a_file_handle_is_uploaded_too(server, request_, tmp_path):
    path = tmp_path / "chart.png"
    path.write_bytes(b"\x89PNG" + bytes(5000))
    with path.open("rb") as handle:
        await request_.post(f"{server.base}/bot{TOKEN}/sendPhoto", data(chat_id=7, photo=InputFile(handle)))
    fields = server.seen[-1]["fields"]
    (filename, _, body), = (v for v in fields.values() if isinstance(v, tuple))
    assert filename == "chart.png" and body == b"\x89PNG" + bytes(5000)


async def test_a_download_is_a_get_returning_the_bytes(server, request_):
    body = await request_.retrieve(f"{server.base}/file/bot{TOKEN}/documents/file_1.csv")
    assert body == bytes(range(256)) * 40


async def test_error_statuses_become_ptb_errors(server, request_):
    with pytest.raises(BadRequest, match=r"(?i)nope"):
        await request_.post(f"{server.base}/bot{TOKEN}/bad")
    with pytest.raises(RetryAfter):
        await request_.post(f"{server.base}/bot{TOKEN}/flood")


async def test_the_default_read_timeout_is_timed_out(server):
    server.delay = 1.0
    async with AiohttpRequest(read_timeout=0.1) as req:
        assert req.read_timeout == 0.1
        with pytest.raises(TimedOut):
            await req.post(f"{server.base}/bot{TOKEN}/slow")


async def test_a_read_timeout_passed_per_call_wins_over_the_default(server):
    server.delay = 0.3
    async with AiohttpRequest(read_timeout=0.05) as req:
        assert await req.post(f"{server.base}/bot{TOKEN}/slow", read_timeout=2.0) is True
        assert await req.post(f"{server.base}/bot{TOKEN}/slow", read_timeout=None) is True
    async with AiohttpRequest(read_timeout=5.0) as req:
        with pytest.raises(TimedOut):
            await req.post(f"{server.base}/bot{TOKEN}/slow", read_timeout=0.05)


async def test_a_full_pool_is_timed_out_and_the_request_not_sent(server):
    server.delay = 0.5
    async with AiohttpRequest(connection_pool_size=1, pool_timeout=0.05) as req:
        slow = asyncio.create_task(req.post(f"{server.base}/bot{TOKEN}/slow"))
        await asyncio.sleep(0.1)
        with pytest.raises(TimedOut, match="Pool timeout"):
            await req.post(f"{server.base}/bot{TOKEN}/getMe")
        assert await slow is True
        assert [s["method"] for s in server.seen] == ["slow"]
        # The connection is free again once the slow request is done.
        assert (await req.post(f"{server.base}/bot{TOKEN}/getMe"))["username"] == "unit_bot"  # type: ignore[index]


async def test_connection_refused_is_a_network_error_not_a_timeout():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens here once the socket is closed
    async with AiohttpRequest(connect_timeout=2.0) as req:
        with pytest.raises(NetworkError) as caught:
            await req.post(f"http://127.0.0.1:{port}/bot{TOKEN}/getMe")
    assert not isinstance(caught.value, TimedOut)


@contextlib.asynccontextmanager
async def raw_server(handle: Callable[[asyncio.StreamReader], Awaitable[None]]) -> AsyncIterator[int]:
    """A bare TCP server on 127.0.0.1 running ``handle`` per connection and then hanging up;
    yields its port and, on leaving, closes every connection it accepted."""
    writers: list[asyncio.StreamWriter] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        with contextlib.suppress(ConnectionError):
            await handle(reader)
        writer.close()  # the handler is done with the connection: hang up

    srv = await asyncio.start_server(serve, "127.0.0.1", 0)
    try:
        yield srv.sockets[0].getsockname()[1]
    finally:
        srv.close()
        for writer in writers:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
        await srv.wait_closed()


async def test_a_silent_server_is_timed_out():
    """Accepts the connection and never answers: the read timeout, not a hang."""
    async def silent(reader: asyncio.StreamReader) -> None:
        await reader.read()  # until the client gives up and hangs up

    async with raw_server(silent) as port, AiohttpRequest(read_timeout=0.1) as req:
        with pytest.raises(TimedOut):
            await req.post(f"http://127.0.0.1:{port}/bot{TOKEN}/getMe")


async def test_a_server_that_hangs_up_is_a_network_error():
    async def rude(reader: asyncio.StreamReader) -> None:
        await reader.readline()

    async with raw_server(rude) as port, AiohttpRequest() as req:
        with pytest.raises(NetworkError) as caught:
            await req.post(f"http://127.0.0.1:{port}/bot{TOKEN}/getMe")
    assert not isinstance(caught.value, TimedOut)


async def test_shutdown_is_clean_and_repeatable_and_initialize_reopens(server):
    req = AiohttpRequest()
    with pytest.raises(RuntimeError, match="not initialized"):
        await req.do_request(f"{server.base}/bot{TOKEN}/getMe", "POST")
    await req.initialize()
    assert await req.post(f"{server.base}/bot{TOKEN}/getMe")
    await req.shutdown()
    await req.shutdown()
    with pytest.raises(RuntimeError, match="not initialized"):
        await req.do_request(f"{server.base}/bot{TOKEN}/getMe", "POST")
    await req.initialize()
    assert await req.post(f"{server.base}/bot{TOKEN}/getMe")
    await req.shutdown()


async def test_a_ptb_bot_works_over_it(server):
    general, updates = transport.requests("aiohttp", 4)
    assert isinstance(general, AiohttpRequest) and isinstance(updates, AiohttpRequest)
    async with Bot(TOKEN, base_url=f"{server.base}/bot", request=general, get_updates_request=updates) as bot:
        assert bot.username == "unit_bot"
        assert await bot.delete_message(5, 1) is True
        assert server.seen[-1]["fields"] == {"chat_id": "5", "message_id": "1"}


def test_httpx_stays_selectable():
    from telegram.request import HTTPXRequest

    general, updates = transport.requests("httpx", 4)
    assert isinstance(general, HTTPXRequest) and isinstance(updates, HTTPXRequest)


async def test_the_proxy_comes_from_the_environment_once(server, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", server.base)
    monkeypatch.setenv("NO_PROXY", "direct.invalid")
    async with AiohttpRequest() as req:
        # Only the proxy (our server) can answer for a host that does not exist.
        assert (await req.post(f"http://api.invalid/bot{TOKEN}/getMe"))["username"] == "unit_bot"  # type: ignore[index]
        with pytest.raises(NetworkError):
            await req.post(f"http://direct.invalid/bot{TOKEN}/getMe")
    async with AiohttpRequest(trust_env=False) as req:
        with pytest.raises(NetworkError):
            await req.post(f"http://api.invalid/bot{TOKEN}/getMe")


def test_the_event_loop_choice_falls_back_without_uvloop():
    from bot.transport import loop

    assert loop.loop_factory("asyncio") is None
    try:
        import uvloop  # noqa: F401
    except ImportError:
        assert loop.loop_factory("auto") is None
        with pytest.raises(ImportError):
            loop.loop_factory("uvloop")
    else:
        assert loop.loop_factory("auto") is not None and loop.loop_factory("uvloop") is not None

    async def answer() -> int:
        return 42

    assert loop.run(answer(), "auto") == 42


def test_without_a_system_certificate_store_certifi_is_trusted(monkeypatch, tmp_path):
    import ssl

    from bot.transport import aiohttp_request

    empty = ssl.DefaultVerifyPaths(str(tmp_path / "none.pem"), str(tmp_path), "SSL_CERT_FILE", "", "SSL_CERT_DIR", "")
    monkeypatch.setattr(ssl, "get_default_verify_paths", lambda: empty)
    aiohttp_request.tls_context.cache_clear()
    try:
        context = aiohttp_request.tls_context()
        assert isinstance(context, ssl.SSLContext) and context.cert_store_stats()["x509_ca"] > 0
    finally:
        aiohttp_request.tls_context.cache_clear()
