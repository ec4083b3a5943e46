"""The web chat's HTTP side (aiohttp): the page and its files from the package, a WebSocket that
pushes chat events, and the routes the page's controls call. Bound to 127.0.0.1 only."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import mimetypes
from datetime import timedelta
from importlib.resources import files
from typing import Any

from aiohttp import WSMsgType, web

from .chats import BadAction, act, upload
from .runner import Playground

log = logging.getLogger("bot.playground")
WEB = files("bot.playground") / "web"
PAGES = {"app.js": "text/javascript", "app.css": "text/css"}
PLAYGROUND: web.AppKey[Playground] = web.AppKey("playground", Playground)
# A step of the clock the page may ask for.
STEPS = {"hour": timedelta(hours=1), "day": timedelta(days=1), "week": timedelta(days=7)}


async def index(request: web.Request) -> web.Response:
    return web.Response(text=(WEB / "index.html").read_text(encoding="utf-8"), content_type="text/html")


async def static(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    if name not in PAGES:
        raise web.HTTPNotFound()
    return web.Response(text=(WEB / name).read_text(encoding="utf-8"), content_type=PAGES[name])


def _chat_id(request: web.Request) -> int:
    try:
        return int(request.match_info["chat"])
    except ValueError:
        raise web.HTTPNotFound() from None


async def status(request: web.Request) -> web.Response:
    return web.json_response(request.app[PLAYGROUND].status())


async def chat_state(request: web.Request) -> web.Response:
    playground = request.app[PLAYGROUND]
    try:
        user = playground.chat(_chat_id(request))
    except KeyError:
        raise web.HTTPNotFound() from None
    return web.json_response(user.state())


async def chat_action(request: web.Request) -> web.Response:
    playground = request.app[PLAYGROUND]
    try:
        user = playground.chat(_chat_id(request))
    except KeyError:
        raise web.HTTPNotFound() from None
    try:
        if request.content_type == "multipart/form-data":
            form = await request.post()
            document = form.get("document")
            if not isinstance(document, web.FileField):
                raise BadAction("no document")
            caption = form.get("caption")
            await upload(user, document.filename, document.file.read(), caption if isinstance(caption, str) else None,
                         document.content_type)
        else:
            body = await request.json()
            if not isinstance(body, dict):
                raise BadAction("not an action")
            await act(user, body)
    except (BadAction, ValueError) as exc:
        return web.json_response({"ok": False, "error": str(exc)}, status=400)
    return web.json_response({"ok": True})


async def new_owner(request: web.Request) -> web.Response:
    return web.json_response(request.app[PLAYGROUND].new_owner().json())


async def clock(request: web.Request) -> web.Response:
    body = await request.json()
    step = STEPS.get(str(body.get("step"))) if isinstance(body, dict) else None
    if step is None:
        return web.json_response({"ok": False, "error": f"step is one of {sorted(STEPS)}"}, status=400)
    playground = request.app[PLAYGROUND]
    await playground.advance(step)
    playground.hub.publish({"type": "status", **playground.status()})
    return web.json_response(playground.status())


async def platform(request: web.Request) -> web.Response:
    body = await request.json()
    profile = body.get("platform") if isinstance(body, dict) else None
    if profile not in ("telegram", "bale"):
        return web.json_response({"ok": False, "error": "platform is telegram or bale"}, status=400)
    playground = request.app[PLAYGROUND]
    await playground.switch(profile)
    playground.hub.publish({"type": "status", **playground.status()})
    return web.json_response(playground.status())


async def download(request: web.Request) -> web.Response:
    """A photo or document in a chat: shown inline (photos) or saved under its own name."""
    api = request.app[PLAYGROUND].api
    stored = api.files.get(request.match_info["file_id"]) if api is not None else None
    if stored is None:
        raise web.HTTPNotFound()
    name = stored.file_name or stored.file_path.rpartition("/")[2]
    mime = stored.mime_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
    headers = {}
    if not mime.startswith("image/"):
        headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{_quote(name)}"
    return web.Response(body=stored.data, content_type=mime, headers=headers)


def _quote(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="")


async def events(request: web.Request) -> web.WebSocketResponse:
    """Every chat event, pushed as it happens; the page asks for a chat's history itself."""
    playground = request.app[PLAYGROUND]
    socket = web.WebSocketResponse(heartbeat=20)
    await socket.prepare(request)
    queue = playground.hub.subscribe()

    async def pump() -> None:
        while True:
            event: dict[str, Any] = await queue.get()
            await socket.send_json(event)

    pumping = asyncio.create_task(pump())
    try:
        async for message in socket:
            if message.type in (WSMsgType.ERROR, WSMsgType.CLOSE):
                break
    finally:
        playground.hub.unsubscribe(queue)
        pumping.cancel()
        with contextlib.suppress(asyncio.CancelledError, ConnectionResetError, RuntimeError):
            await pumping
    return socket


def web_app(playground: Playground) -> web.Application:
    app = web.Application(client_max_size=5 * 1024 * 1024)
    app[PLAYGROUND] = playground
    app.router.add_get("/", index)
    app.router.add_get("/static/{name}", static)
    app.router.add_get("/api/status", status)
    app.router.add_get("/api/chats/{chat}", chat_state)
    app.router.add_post("/api/chats/{chat}", chat_action)
    app.router.add_post("/api/personas/new", new_owner)
    app.router.add_post("/api/clock", clock)
    app.router.add_post("/api/platform", platform)
    app.router.add_get("/files/{file_id}", download)
    app.router.add_get("/ws", events)
    return app


async def serve_web(playground: Playground, port: int) -> web.AppRunner:
    """Starts the web chat on 127.0.0.1:``port`` (0: any free port, see ``bound_port``)."""
    runner = web.AppRunner(web_app(playground), access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


def bound_port(runner: web.AppRunner) -> int:
    for site in runner.sites:
        server = getattr(site, "_server", None)
        if server is not None and server.sockets:
            return int(server.sockets[0].getsockname()[1])
    raise RuntimeError("the web chat is not listening")
