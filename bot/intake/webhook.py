"""Webhooks, beside long polling: the platform posts each update to a small HTTP server behind
the operator's reverse proxy, and the update is committed to the inbox before it is answered.

- ``POST …/<path secret>``: the path must end in the secret segment (both platforms: Bale sends
  no secret header), and on Telegram the ``X-Telegram-Bot-Api-Secret-Token`` header must match;
  otherwise 403, without reading the body.  Garbage is 400.  A good update goes through
  ``Intake.accept`` (stored in one committed transaction, then queued) and only then is 200
  sent; an update id seen before is answered 200 and not handled again.  When the database
  cannot take it, 500: the platform sends it again later.
- ``GET /healthz``: 200 with what the proxy and monitoring need (webhook mode only: a polling
  bot opens no port).

At start the webhook is set (retried with backoff while the Bot API refuses or cannot be
reached); at shutdown the server stops first and the webhook is left set: the platform keeps
the updates that arrive meanwhile and delivers them when the bot is back (deleting it would
make them wait for a getUpdates that never comes).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
from typing import Any

from aiohttp import web
from telegram.error import RetryAfter, TelegramError

from bot.context import KhoosheApp
from bot.domain.platforms import Platform
from bot.intake.connection import BACKOFF_SECONDS, WebhookError, describe_trouble
from bot.intake.inbox import ALLOWED_UPDATES, Intake
from bot.settings import Settings

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# An update is a few kilobytes; nothing legitimate comes near this.
MAX_BODY = 1024 * 1024
# In-flight requests (each one database transaction) get this long when the server stops.
STOP_SECONDS = 1.0


def header_secret(settings: Settings) -> str:
    """KHOOSHE_WEBHOOK_SECRET, or one derived from the token: stable across restarts, and only
    who knows the token (and so could set the webhook anyway) can work it out."""
    if settings.webhook_secret is not None:
        return settings.webhook_secret.get_secret_value()
    token = settings.token.get_secret_value().encode()
    return hmac.new(token, b"khooshe webhook secret", hashlib.sha256).hexdigest()


def path_secret(secret: str) -> str:
    """The URL's last path segment: a different value from the header, so a proxy's access log
    that shows paths does not give the header away."""
    return hmac.new(secret.encode(), b"khooshe webhook path", hashlib.sha256).hexdigest()[:32]


class WebhookReceiver:
    """The HTTP server the platform posts updates to, and the ``setWebhook`` that points it here."""

    def __init__(self, intake: Intake, settings: Settings) -> None:
        assert settings.webhook_url is not None
        self.intake = intake
        self.platform: Platform = settings.messenger
        self.api_url = settings.api_url
        self.listen = settings.webhook_listen
        self.port = settings.webhook_port
        self.public_base = settings.webhook_url.rstrip("/")
        self._header = header_secret(settings)
        self._path = path_secret(self._header)
        self.registered = False
        self._runner: web.AppRunner | None = None
        self._registering: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        """What ``setWebhook`` is given (it carries the path secret: never log it)."""
        return f"{self.public_base}/{self._path}"

    @property
    def secret_token(self) -> str | None:
        """The header secret, where the platform sends one."""
        return self._header if self.platform.webhook_secret_token else None

    # -------------------------------------------------------------- life cycle

    async def start(self, *, backoff: tuple[float, ...] = BACKOFF_SECONDS) -> None:
        """Listens, then sets the webhook in the background (retrying until the Bot API agrees)."""
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_get("/healthz", self._health)
        app.router.add_post("/{path:.*}", self._receive)
        # No access log: the request path carries the secret.
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=STOP_SECONDS)
        await runner.setup()
        try:
            await web.TCPSite(runner, self.listen, self.port).start()
        except OSError as exc:
            await runner.cleanup()
            raise WebhookError(f"cannot listen on {self.listen}:{self.port} for the webhook ({exc.strerror}):"
                               " check KHOOSHE_WEBHOOK_LISTEN and KHOOSHE_WEBHOOK_PORT") from None
        self._runner = runner
        log.info("receiving updates by webhook: %s posts to %s/… (listening on %s:%d)",
                 self.platform.name, self.public_base, self.listen, self.port)
        self._registering = asyncio.create_task(self._register(backoff), name="khooshe-set-webhook")

    async def stop(self) -> None:
        """No new updates from now on; the ones being stored finish.  The webhook stays set."""
        if self._registering is not None:
            self._registering.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._registering
            self._registering = None
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def _register(self, backoff: tuple[float, ...]) -> None:
        bot = self.intake.app.bot
        failures = 0
        trouble: str | None = None
        while True:
            try:
                await bot.set_webhook(self.url, allowed_updates=ALLOWED_UPDATES, secret_token=self.secret_token)
            except RetryAfter as exc:
                await asyncio.sleep(exc.retry_after if isinstance(exc.retry_after, int) else exc.retry_after.total_seconds())
                continue
            except TelegramError as exc:
                failures += 1
                described = describe_trouble(exc, self.api_url)
                if described != trouble:
                    trouble = described
                    log.error("could not set the webhook to %s/…: %s; retrying with backoff", self.public_base, described)
                await asyncio.sleep(backoff[min(failures, len(backoff)) - 1])
                continue
            self.registered = True
            if failures:
                log.info("the webhook is set after %d failed attempt(s)", failures)
            return

    # -------------------------------------------------------------- requests

    def _allowed(self, request: web.Request) -> bool:
        segment = request.path.rstrip("/").rpartition("/")[2]
        if not hmac.compare_digest(segment.encode(), self._path.encode()):
            return False
        if self.secret_token is None:
            return True
        given = request.headers.get(SECRET_HEADER, "")
        return hmac.compare_digest(given.encode(), self.secret_token.encode())

    async def _receive(self, request: web.Request) -> web.Response:
        if not self._allowed(request):
            return web.json_response({"ok": False, "description": "Forbidden"}, status=403)
        try:
            update: Any = json.loads(await request.read())
        except (ValueError, UnicodeDecodeError):
            update = None
        if not isinstance(update, dict) or type(update.get("update_id")) is not int:
            return web.json_response({"ok": False, "description": "not an update"}, status=400)
        try:
            await self.intake.accept([update])
        except Exception:
            # Not answered 200, so the platform sends it again; nothing was queued.
            log.exception("update %s from the webhook could not be stored", update["update_id"])
            return web.json_response({"ok": False, "description": "try again later"}, status=500)
        return web.json_response({"ok": True})

    async def _health(self, request: web.Request) -> web.Response:
        body: dict[str, Any] = {"ok": True, "platform": self.platform.name, "mode": "webhook",
                                "webhook_set": self.registered}
        try:
            async with self.intake.db.read() as repo:
                body["unhandled"] = await repo.inbox.count_unhandled()
        except Exception:
            log.exception("the health check could not read the database")
            return web.json_response({**body, "ok": False}, status=503)
        return web.json_response(body)


async def start_webhook(app: KhoosheApp, *, backoff: tuple[float, ...] = BACKOFF_SECONDS) -> WebhookReceiver:
    """Starts receiving by webhook; call after ``start_receiving(app, poll=False)``."""
    services = app.bot_data
    assert services.intake is not None
    receiver = WebhookReceiver(services.intake, services.settings)
    await receiver.start(backoff=backoff)
    services.webhook = receiver
    return receiver
