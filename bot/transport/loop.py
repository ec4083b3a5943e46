"""Runs the bot's main coroutine on the chosen event loop: asyncio's own, or uvloop (optional)."""

from __future__ import annotations

import asyncio
import importlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any, Literal, TypeVar

T = TypeVar("T")
LoopChoice = Literal["auto", "uvloop", "asyncio"]
log = logging.getLogger(__name__)


def loop_factory(choice: LoopChoice) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop factory for ``auto`` (when uvloop imports) and ``uvloop``; None means asyncio's
    default loop. uvloop is optional (it has no Windows build), so ``auto`` falls back quietly."""
    if choice == "asyncio":
        return None
    try:
        uvloop = importlib.import_module("uvloop")
    except ImportError:
        if choice == "uvloop":
            raise
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def run(main: Coroutine[Any, Any, T], choice: LoopChoice = "asyncio") -> T:
    """``asyncio.run(main)`` on the chosen loop."""
    factory = loop_factory(choice)
    log.info("event loop: %s", "uvloop" if factory is not None else "asyncio")
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(main)
