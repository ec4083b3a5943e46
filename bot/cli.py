"""The command line: run the bot, load estates and clusters, open and close rounds."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import signal
import sys
from datetime import datetime
from pathlib import Path

from pydantic import ValidationError

from bot.application import (
    build_application,
    publish_commands,
    start_background,
    stop_background,
)
from bot.clock import Clock
from bot.domain.calendar import BadDate, end_of_day, format_date, parse_jalali_date
from bot.domain.questionnaire import (
    QuestionnaireError,
    available_versions,
    load_questionnaire,
)
from bot.services.places_import import import_clusters, import_estates, read_csv_file
from bot.settings import Settings, StorageSettings, describe_error
from storage.database import Database, MigrationError

log = logging.getLogger("bot")


class CommandError(Exception):
    """A problem the operator can fix; printed as one line."""


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m bot", description="Khooshe chat bot")
    commands = root.add_subparsers(dest="command")
    commands.add_parser("run", help="run the bot with long polling (the default)")
    for kind in ("estates", "clusters"):
        sub = commands.add_parser(f"import-{kind}", help=f"load {kind} from a CSV file")
        sub.add_argument("file", type=Path)
    rounds = commands.add_parser("round", help="open or close the assessment round")
    actions = rounds.add_subparsers(dest="action", required=True)
    opening = actions.add_parser("open", help="open a round now")
    opening.add_argument("--title", required=True)
    opening.add_argument("--closes", required=True, help="closing day, Solar Hijri: 1405/10/30")
    opening.add_argument("--version", type=int, default=None, help="questionnaire version")
    actions.add_parser("close", help="close the open round now")
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # httpx logs every request URL, and the URL carries the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        for version in available_versions():
            load_questionnaire(version)
        if args.command in (None, "run"):
            settings = Settings()
            asyncio.run(serve(settings))
        else:
            storage = StorageSettings()
            print(asyncio.run(operate(storage, args)))
    except ValidationError as exc:
        print(f"configuration error: {describe_error(exc)}", file=sys.stderr)
        return 2
    except (CommandError, QuestionnaireError, MigrationError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


async def operate(storage: StorageSettings, args: argparse.Namespace) -> str:
    """Runs one operator command against the database and returns what to print."""
    async with Database(storage.db) as db:
        if args.command in ("import-estates", "import-clusters"):
            try:
                text = read_csv_file(args.file)
            except FileNotFoundError:
                raise CommandError(f"no such file: {args.file}") from None
            except IsADirectoryError:
                raise CommandError(f"{args.file} is a folder, not a CSV file") from None
            except UnicodeDecodeError:
                raise CommandError(f"{args.file} is not UTF-8 text; save the CSV as UTF-8") from None
            except OSError as exc:
                raise CommandError(f"cannot read {args.file}: {exc.strerror}") from None
            loader = import_estates if args.command == "import-estates" else import_clusters
            report = await loader(db, text)
            return report.summary()
        if args.action == "open":
            return await open_round(db, storage, args.title, args.closes, args.version)
        return await close_round(db)
    raise CommandError(f"unknown command {args.command}")


async def open_round(
    db: Database, storage: StorageSettings, title: str, closes: str, version: int | None
) -> str:
    versions = available_versions()
    version = version or max(versions)
    if version not in versions:
        raise CommandError(f"no questionnaire version {version}; there are {versions}")
    try:
        closes_at = end_of_day(parse_jalali_date(closes), storage.zone)
    except BadDate:
        raise CommandError(f"--closes {closes!r} is not a Solar Hijri date like 1405/10/30") from None
    now = Clock().now()
    if closes_at <= now:
        raise CommandError("--closes must be in the future")
    if not title.strip():
        raise CommandError("--title must not be empty")
    async with db.transaction() as repo:
        current = await repo.rounds.open_round()
        if current is not None:
            raise CommandError(f"round {current.id} «{current.title}» is already open; close it first")
        created = await repo.rounds.create(
            title=title.strip(), questionnaire_version=version, opens_at=now,
            closes_at=closes_at, state="open",
        )
    return (f"opened round {created.id} «{created.title}» (questionnaire v{version}),"
            f" closing {format_date(closes_at, 'en', storage.zone)} 23:59 {storage.tz}")


async def close_round(db: Database) -> str:
    async with db.transaction() as repo:
        current = await repo.rounds.open_round()
        if current is None:
            raise CommandError("no round is open")
        await repo.rounds.close(current.id)
    return f"closed round {current.id} «{current.title}»"


async def serve(settings: Settings) -> None:
    """Runs the bot until SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with Database(settings.db) as db:
        app = build_application(settings, db)
        async with app:
            await publish_commands(app)
            await app.start()
            assert app.updater is not None
            await app.updater.start_polling(allowed_updates=["message", "callback_query"])
            await start_background(app)
            # Everything loaded so far lives for the whole run; keeping it out of the cyclic
            # collector's sweeps removes the long full-collection pauses users would feel.
            gc.collect()
            gc.freeze()
            log.info("Khooshe is running as @%s (started %s)", app.bot.username, datetime.now())
            await stop.wait()
            log.info("stopping")
            await app.updater.stop()
            await stop_background(app)
            await app.stop()
