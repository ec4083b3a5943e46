"""The Bot API client alone: CPU time per call of PTB's HTTPXRequest against bot.transport's
AiohttpRequest, on asyncio's loop and on uvloop.

    .venv/bin/python -m bench.transport                 # 3 rounds × 2,000 calls per variant
    .venv/bin/python -m bench.transport --calls 5000 --rounds 5

The fake Bot API (bot.emulator) runs on its own event loop in a second thread; the
client runs in the main thread, and only the main thread's CPU time (``time.thread_time``) is
counted, so the server's work and other processes on the machine do not enter the figure
(wall time does, and is printed for reference). Variants alternate within each round, so a
change in the machine's load hits them all alike. Each call is what Khooshe does most: a
``sendMessage`` of a question (HTML, an inline keyboard of five buttons) or an
``editMessageText`` of it, 16 at a time, like the bot's concurrent updates.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TOKEN = "123456:BENCH"
CONCURRENCY = 16
TEXT = ("✔️ <i>بله</i>\n\nسؤال ۱۲ از ۲۸ · نوآوری و فناوری\n\n<b>آیا شرکت شما در سال ۱۴۰۳ محصول یا فرایند"
        " جدیدی معرفی کرده است؟</b>")


def start_server() -> tuple[Any, asyncio.AbstractEventLoop, list[int]]:
    """The fake server on a loop of its own in a daemon thread, with CONCURRENCY users."""
    from bot.emulator import FakeBotApi

    loop = asyncio.new_event_loop()
    api = FakeBotApi(token=TOKEN, username="transport_bench_bot")
    ready = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(api.start())
        ready.set()
        loop.run_forever()

    threading.Thread(target=serve, name="fake-bot-api", daemon=True).start()
    ready.wait(30)
    chats = [9_000_000 + i for i in range(CONCURRENCY)]
    for chat in chats:
        asyncio.run_coroutine_threadsafe(_add_user(api, chat), loop).result(10)
    return api, loop, chats


async def _add_user(api: Any, chat: int) -> None:
    api.user(chat, first_name="Bench")


def markup() -> Any:
    from telegram import InlineKeyboardButton, InlineKeyboardMarkup

    labels = ["بله", "خیر", "در دست اقدام", "نمی‌دانم"]
    rows = [[InlineKeyboardButton(label, callback_data=f"q:812:innov{n}:o.{n}")] for n, label in enumerate(labels)]
    rows.append([InlineKeyboardButton("◀️ قبلی", callback_data="q:812:innov:back")])
    return InlineKeyboardMarkup(rows)


async def one_round(client: str, base_url: str, chats: list[int], calls: int) -> tuple[float, float]:
    """Main-thread CPU seconds and wall seconds for ``calls`` Bot API calls."""
    from telegram import Bot

    from bot import transport

    general, updates = transport.requests(client, CONCURRENCY + 4)  # type: ignore[arg-type]
    keyboard = markup()
    async with Bot(TOKEN, base_url=base_url, request=general, get_updates_request=updates) as bot:
        per_chat = calls // (2 * len(chats))

        async def chat_loop(chat: int) -> None:
            for _ in range(per_chat):
                sent = await bot.send_message(chat, TEXT, parse_mode="HTML", reply_markup=keyboard)
                await bot.edit_message_text(TEXT + " ✅", chat_id=chat, message_id=sent.message_id, parse_mode="HTML",
                                            reply_markup=keyboard)

        await asyncio.gather(*(chat_loop(c) for c in chats[:1]))  # warm up: connections, caches
        cpu0, wall0 = time.thread_time(), time.perf_counter()
        await asyncio.gather(*(chat_loop(c) for c in chats))
        done = 2 * per_chat * len(chats)
        return (time.thread_time() - cpu0) / done, (time.perf_counter() - wall0) / done


def loop_factory(name: str) -> Callable[[], asyncio.AbstractEventLoop] | None:
    from bot.transport.loop import loop_factory as factory

    return factory("uvloop" if name == "uvloop" else "asyncio")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.transport", description=__doc__.split("\n\n")[0])
    p.add_argument("--calls", type=int, default=2000, help="Bot API calls per variant and round")
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args(argv)
    api, server_loop, chats = start_server()
    variants = [("httpx", "asyncio"), ("aiohttp", "asyncio"), ("httpx", "uvloop"), ("aiohttp", "uvloop")]
    try:
        loop_factory("uvloop")
    except ImportError:
        variants = variants[:2]
        print("(uvloop is not installed: asyncio's loop only)")
    cpu: dict[tuple[str, str], list[float]] = {v: [] for v in variants}
    wall: dict[tuple[str, str], list[float]] = {v: [] for v in variants}
    for r in range(args.rounds):
        for v in variants:
            with asyncio.Runner(loop_factory=loop_factory(v[1])) as runner:
                c, w = runner.run(one_round(v[0], api.base_url, chats, args.calls))
            cpu[v].append(c)
            wall[v].append(w)
            print(f"  round {r + 1}: {v[0]:>7} on {v[1]:<7} {1e6 * c:7.0f} µs CPU/call  {1e6 * w:7.0f} µs wall/call",
                  file=sys.stderr, flush=True)
    base = statistics.median(cpu[variants[0]])
    print(f"\nBot API client, {args.rounds} rounds × {args.calls} calls, {CONCURRENCY} at a time"
          " (median; min–max over rounds)")
    print(f"{'client':<8} {'loop':<8} {'CPU µs/call':>22} {'× httpx/asyncio':>16} {'wall µs/call':>22}")
    for v in variants:
        med = statistics.median(cpu[v])
        print(f"{v[0]:<8} {v[1]:<8} {1e6 * med:>8.0f} ({1e6 * min(cpu[v]):5.0f}–{1e6 * max(cpu[v]):5.0f})"
              f" {base / med:>15.2f}× {1e6 * statistics.median(wall[v]):>8.0f} ({1e6 * min(wall[v]):5.0f}–"
              f"{1e6 * max(wall[v]):5.0f})")
    asyncio.run_coroutine_threadsafe(api.stop(), server_loop).result(10)
    server_loop.call_soon_threadsafe(server_loop.stop)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
