"""The command line: run the bot, load estates and clusters, open and close rounds."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import signal
import sys
from collections.abc import Awaitable
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from bot.application import (
    build_application,
    publish_commands,
    start_background,
    start_receiving,
    stop_background,
    stop_offload,
)
from bot.clock import Clock
from bot.context import KhoosheApp
from bot.delivery.keys import firms_prefix
from bot.domain.calendar import BadDate, end_of_day, format_date, parse_jalali_date
from bot.domain.questionnaire import (
    QuestionnaireError,
    available_versions,
    load_questionnaire,
)
from bot.i18n import CatalogMissing, load_catalogs
from bot.intake.connection import WebhookError, connect
from bot.services.places_import import ImportRefused, import_clusters, import_estates, read_import_file
from bot.services.rounds import SYSTEM, RoundPolicy, RoundRefused, RoundService
from bot.settings import OperatorSettings, Settings, describe_error
from bot.transport import loop as transport_loop
from bot.update_processor import PerUserUpdateProcessor
from storage.database import Database, DatabaseUnwritable, MigrationError
from storage.lease import LeaseHeld, ServingLease

log = logging.getLogger("bot")


class CommandError(Exception):
    """A problem the operator can fix; printed as one line."""


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m bot", description="Khooshe chat bot")
    commands = root.add_subparsers(dest="command")
    commands.add_parser("run", help="run the bot (the default): long polling, or a webhook when KHOOSHE_WEBHOOK_URL is set")
    for kind in ("estates", "clusters"):
        sub = commands.add_parser(f"import-{kind}", help=f"load {kind} from a CSV or .xlsx file")
        sub.add_argument("file", type=Path)
    rounds = commands.add_parser("round", help="open or close the assessment round")
    actions = rounds.add_subparsers(dest="action", required=True)
    opening = actions.add_parser("open", help="open a round now")
    opening.add_argument("--title", required=True)
    opening.add_argument("--closes", required=True, help="closing day, Solar Hijri: 1405/10/30")
    opening.add_argument("--version", type=int, default=None, help="questionnaire version")
    actions.add_parser("close", help="close the open round now")
    playground = commands.add_parser("playground", help="try Khooshe in a browser: the bot, a Bot API emulator and a web chat on 127.0.0.1")
    playground.add_argument("--port", type=int, default=8080, help="the web chat's port (default 8080)")
    playground.add_argument("--fresh", action="store_true", help="seed the demo world again")
    playground.add_argument("--db", type=Path, default=Path("data/playground.db"), help="the demo world's database")
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # httpx logs every request URL, and the URL carries the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        load_catalogs()
        for version in available_versions():
            load_questionnaire(version)
        if args.command in (None, "run"):
            settings = Settings()
            lease = ServingLease(settings.db)
            lease.acquire()
            try:
                transport_loop.run(serve(settings), settings.loop)
            finally:
                lease.release()
        elif args.command == "playground":
            play(args)
        else:
            storage = OperatorSettings()
            print(asyncio.run(operate(storage, args)))
    except ValidationError as exc:
        print(f"configuration error: {describe_error(exc)}", file=sys.stderr)
        return 2
    except (CommandError, CatalogMissing, QuestionnaireError, MigrationError, LeaseHeld, WebhookError,
            DatabaseUnwritable) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def play(args: argparse.Namespace) -> None:
    from bot.playground.main import run

    args.db.parent.mkdir(parents=True, exist_ok=True)
    lease = ServingLease(args.db)
    lease.acquire()
    try:
        asyncio.run(run(args.db, args.port, fresh=args.fresh))
    except OSError as exc:
        raise CommandError(f"cannot start the playground on port {args.port}: {exc.strerror}") from None
    finally:
        lease.release()


async def operate(storage: OperatorSettings, args: argparse.Namespace) -> str:
    """Runs one operator command against the database and returns what to print."""
    async with Database(storage.db) as db:
        if args.command in ("import-estates", "import-clusters"):
            try:
                text = read_import_file(args.file)
            except FileNotFoundError:
                raise CommandError(f"no such file: {args.file}") from None
            except IsADirectoryError:
                raise CommandError(f"{args.file} is a folder, not a CSV or .xlsx file") from None
            except UnicodeDecodeError:
                raise CommandError(f"{args.file} is not UTF-8 text; save the CSV as UTF-8") from None
            except OSError as exc:
                raise CommandError(f"cannot read {args.file}: {exc.strerror}") from None
            loader = import_estates if args.command == "import-estates" else import_clusters
            try:
                report = await loader(db, text)
            except ImportRefused as exc:
                raise CommandError(f"{args.file}: {exc}") from None
            return report.summary()
        if args.action == "open":
            return await open_round(db, storage, args.title, args.closes, args.version)
        return await close_round(db, storage)
    raise CommandError(f"unknown command {args.command}")


def round_service(db: Database, settings: OperatorSettings) -> RoundService:
    """The same round service the bot's admins and scheduler use."""
    return RoundService(db, Clock(), RoundPolicy.from_settings(settings))


async def open_round(
    db: Database, settings: OperatorSettings, title: str, closes: str, version: int | None
) -> str:
    """Opens a round now; its announcement is queued for every firm, and the running bot sends it."""
    versions = available_versions()
    version = version or max(versions)
    if version not in versions:
        raise CommandError(f"no questionnaire version {version}; there are {versions}")
    try:
        closes_at = end_of_day(parse_jalali_date(closes), settings.zone)
    except BadDate:
        raise CommandError(f"--closes {closes!r} is not a Solar Hijri date like 1405/10/30") from None
    service = round_service(db, settings)
    if closes_at <= service.clock.now():
        raise CommandError("--closes must be in the future")
    if not title.strip():
        raise CommandError("--title must not be empty")
    async with db.read() as repo:
        current = await repo.rounds.open_round()
    if current is not None:
        raise CommandError(f"round {current.id} «{current.title}» is already open; close it first")
    try:
        created = await service.create(
            SYSTEM, title=title, opens=service.clock.now(), closes=closes_at, version=version, start_now=True,
        )
    except RoundRefused as exc:
        raise CommandError(exc.render("en", settings.zone)) from None
    async with db.read() as repo:
        told = (await repo.outbox.counts_with_key_prefix(firms_prefix(created.id), kinds=("announcement",))).get("pending", 0)
    return (f"opened round {created.id} «{created.title}» (questionnaire v{version}),"
            f" closing {format_date(closes_at, 'en', settings.zone)} 23:59 {settings.tz};"
            f" the announcement to {told} firms is queued for the running bot to send")


async def close_round(db: Database, settings: OperatorSettings) -> str:
    """Closes the open round now and scores it, so it can be published."""
    async with db.read() as repo:
        current = await repo.rounds.open_round()
    if current is None:
        raise CommandError("no round is open")
    try:
        result = await round_service(db, settings).close(SYSTEM, current.id)
    except RoundRefused as exc:
        raise CommandError(exc.render("en", settings.zone)) from None
    return f"closed round {current.id} «{current.title}»; {result.scored} firms scored"


# Shutdown: what is in flight gets SHUTDOWN_SECONDS to finish, then it is cancelled, and a
# cancelled part gets CANCEL_GRACE_SECONDS to unwind (a cancelled send puts its row back). If the
# process is still alive HARD_EXIT_SECONDS after the signal (say, a handler blocks the event
# loop), it exits at once, before `docker stop` (10 s) would SIGKILL it.
SHUTDOWN_SECONDS = 3.5
POLLING_STOP_SECONDS = 1.0
CANCEL_GRACE_SECONDS = 0.5
HARD_EXIT_SECONDS = 4.7


async def serve(settings: Settings) -> None:
    """Runs the bot until SIGINT or SIGTERM, then shuts down cleanly (see ``Shutdown``)."""
    stop = asyncio.Event()
    reason: list[str] = []
    loop = asyncio.get_running_loop()

    def on_signal(sig: signal.Signals) -> None:
        if not reason:
            reason.append(sig.name)
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal, sig)
    shutdown: Shutdown | None = None
    try:
        async with Database(settings.db) as db:
            app = build_application(settings, db)
            try:
                await run_until(app, stop)
            finally:
                shutdown = Shutdown(reason[0] if reason else "start-up failed")
                await shutdown.run(app)
            # The database closes here, after everything that could write to it has stopped.
    finally:
        if shutdown is not None:
            shutdown.finished()


async def run_until(app: KhoosheApp, stop: asyncio.Event) -> None:
    """Starts the bot and returns when ``stop`` is set; a signal during start-up (the Bot API
    may be slow or unreachable) cancels the start instead of waiting for it."""
    starting = asyncio.create_task(start_serving(app), name="khooshe-start")
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
    if not starting.done():
        starting.cancel()
        await asyncio.wait({starting}, timeout=CANCEL_GRACE_SECONDS)
        return
    if starting.exception() is not None:
        stopping.cancel()
        starting.result()  # start-up failed: raise it (the caller shuts down what did start)
    await stopping


async def start_serving(app: KhoosheApp) -> None:
    settings = app.bot_data.settings
    await connect(app.bot, settings.api_url)
    await app.initialize()
    await publish_commands(app)
    await app.start()
    if settings.webhook_url is None:
        await start_receiving(app)
    else:
        from bot.intake.webhook import start_webhook  # aiohttp is loaded only when it is used

        await start_receiving(app, poll=False)
        await start_webhook(app)
    await start_background(app)
    # Everything loaded so far lives for the whole run; keeping it out of the cyclic
    # collector's sweeps removes the long full-collection pauses users would feel.
    gc.collect()
    gc.freeze()
    log.info("Khooshe is running as @%s (started %s)", app.bot.username, datetime.now())


class Shutdown:
    """Stops the bot in order, each wait bounded by one deadline: polling or the webhook's
    server first (no new updates), then the updates in flight, the running jobs and the message being sent finish
    (the worker takes no new one), the job queue stops; whatever is still running at the
    deadline is cancelled; last the worker process of exports and scoring stops. Logs one line when it starts and one when it ends."""

    def __init__(self, reason: str) -> None:
        import threading

        self.loop = asyncio.get_running_loop()
        self.began = self.loop.time()
        self.deadline = self.began + SHUTDOWN_SECONDS
        self.cancelled: list[str] = []
        log.info("shutting down (%s): no new updates; finishing what is in flight", reason)
        self.watchdog = threading.Timer(HARD_EXIT_SECONDS, self._hard_exit)
        self.watchdog.daemon = True
        self.watchdog.start()

    def left(self) -> float:
        """Until the deadline for what is in flight to finish by itself."""
        return max(self.deadline - self.loop.time(), 0.0)

    def unwinding(self) -> float:
        """Until the deadline for what was cancelled to unwind."""
        return max(self.deadline + CANCEL_GRACE_SECONDS - self.loop.time(), 0.0)

    def _hard_exit(self) -> None:
        import os

        log.critical("shutdown still not finished after %.1f s; exiting now", HARD_EXIT_SECONDS)
        logging.shutdown()
        os._exit(1)

    async def run(self, app: KhoosheApp) -> None:
        try:
            await self._stop(app)
        except Exception:
            log.exception("error while shutting down")
            self.cancelled.append("the rest, after an error")
        try:
            # Last: an export or a scoring still running was cancelled above; its worker process
            # is terminated if it does not finish in time (nothing awaits it any more).
            await stop_offload(timeout=max(self.unwinding(), 0.3))
        except Exception:
            log.exception("error while stopping the worker process")
            self.cancelled.append("the worker process")

    async def _stop(self, app: KhoosheApp) -> None:
        if app.job_queue is not None and app.job_queue.scheduler.running:
            app.job_queue.scheduler.pause()  # no job starts from now on; running ones finish
        # The worker finishes the message on the wire and takes no new one, alongside the rest;
        # it puts back a row it had to cancel within CANCEL_GRACE_SECONDS.
        worker = asyncio.create_task(stop_background(app, timeout=self.left()), name="khooshe-stop-worker")
        intake = app.bot_data.intake
        webhook = app.bot_data.webhook
        # The webhook's server stops taking updates (those being stored finish); the webhook
        # stays set, and the platform keeps what arrives until the bot is back.
        if webhook is not None and not await self._within(webhook.stop(), min(self.left(), POLLING_STOP_SECONDS)):
            self.cancelled.append("the webhook server")
        # An update fetched but not stored is sent again by the server; a stored one is handled
        # on the next start: nothing is lost either way.
        if intake is not None and intake.polling and not await self._within(
                intake.stop_polling(), min(self.left(), POLLING_STOP_SECONDS)):
            self.cancelled.append("polling")
        if app.running:
            # Handles the updates already fetched, waits for running jobs, stops the job queue.
            stopping = asyncio.create_task(app.stop(), name="khooshe-stop-app")
            done, _ = await asyncio.wait({stopping}, timeout=self.left())
            if not done:
                self._cancel_handlers_and_jobs(app)
                if not await self._within(stopping, self.unwinding()):
                    self.cancelled.append("the application's stop")
        # The last "handled" marks, so the next start does not handle those updates again.
        if intake is not None and not await self._within(intake.close(), max(self.unwinding(), 0.3)):
            self.cancelled.append("the intake's last marks")
        await asyncio.wait({worker}, timeout=self.unwinding() + 0.1)
        if not worker.done():
            worker.cancel()
            self.cancelled.append("the delivery worker")
        # Closes the HTTP client and flushes conversation state to the database.
        if not await self._within(app.shutdown(), max(self.unwinding(), 0.3)):
            self.cancelled.append("the application's shutdown")

    def _cancel_handlers_and_jobs(self, app: KhoosheApp) -> None:
        processor = app.update_processor
        handlers = processor.cancel_all() if isinstance(processor, PerUserUpdateProcessor) else 0
        if app.job_queue is not None and app.job_queue.scheduler.running:
            # Told not to wait, APScheduler cancels the jobs still running.
            app.job_queue.scheduler.shutdown(wait=False)
        log.warning("not finished after %.1f s: cancelling %s update(s) still being handled and any job"
                    " still running", SHUTDOWN_SECONDS, handlers)
        self.cancelled.append("updates and jobs")

    async def _within(self, work: Awaitable[Any], seconds: float) -> bool:
        """Waits for ``work`` at most ``seconds``, then cancels it, waiting a moment for it to
        unwind but never indefinitely (a task may swallow its cancellation). Errors are logged."""
        task = asyncio.ensure_future(work)
        done, _ = await asyncio.wait({task}, timeout=seconds)
        if not done:
            task.cancel()
            await asyncio.wait({task}, timeout=0.1)
            return False
        if not task.cancelled() and task.exception() is not None:
            log.error("error while shutting down", exc_info=task.exception())
        return True

    def finished(self) -> None:
        took = self.loop.time() - self.began
        if self.cancelled:
            log.info("shut down in %.2f s (cancelled: %s)", took, ", ".join(self.cancelled))
        else:
            self.watchdog.cancel()  # nothing was left behind: the process ends by itself
            log.info("shut down in %.2f s", took)
