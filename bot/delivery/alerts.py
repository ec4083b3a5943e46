"""Failures told to the operators' chats (KHOOSHE_ALERT_CHAT, or else the admins).

An alert names the update, the exception's type and the line of Khooshe's code it came from,
never its message: a message may quote what a user typed (a national ID, a phone number). Alerts
of one kind (type and line) are sent at most once per ``WINDOW`` seconds; the next one says how
many were held back, so a failure that hits every user does not flood the operators.
"""

from __future__ import annotations

import html
import logging
import time
import traceback
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from telegram import Bot
from telegram.constants import ParseMode
from telegram.error import TelegramError

from bot.domain.text import number
from bot.i18n import translator

log = logging.getLogger(__name__)

#: Seconds between two alerts of the same kind.
WINDOW = 600.0
#: Kinds remembered; the least recently seen is forgotten first.
KINDS = 256
_ROOT = Path(__file__).resolve().parents[2]
_OWN = tuple(str(_ROOT / part) for part in ("bot", "handlers", "storage"))
# Every Bot API call passes through these; the code that made the call says more.
_PLUMBING = tuple(str(_ROOT / part) for part in ("bot/platform", "bot/transport", "bot/delivery/pacer.py"))


def where(exc: BaseException) -> str:
    """``handlers/common/ui.py:40 (say) ← handlers/common/menu.py:95 (show_menu)``: the two
    innermost frames of Khooshe's own code in the traceback, leaving out the Bot API request
    layer (of any code, when none is ours)."""
    frames = traceback.extract_tb(exc.__traceback__) if exc.__traceback__ else []
    if not frames:
        return "?"
    own = [f for f in frames if f.filename.startswith(_OWN) and not f.filename.startswith(_PLUMBING)] or frames

    def shown(frame: traceback.FrameSummary) -> str:
        path = Path(frame.filename)
        name = path.relative_to(_ROOT) if path.is_relative_to(_ROOT) else Path(path.name)
        return f"{name.as_posix()}:{frame.lineno} ({frame.name})"

    return " ← ".join(shown(f) for f in reversed(own[-2:]))


@dataclass
class _Kind:
    last_sent: float
    held_back: int = 0


class OperatorAlerts:
    """Reports handler failures to ``chats`` in each chat's language (``languages``, else Persian)."""

    def __init__(self, bot: Bot, chats: Sequence[int], languages: Mapping[int, str],
                 *, clock: Callable[[], float] = time.monotonic) -> None:
        self.bot, self.chats, self.languages, self.clock = bot, tuple(chats), languages, clock
        self._kinds: OrderedDict[str, _Kind] = OrderedDict()

    def due(self, kind: str) -> int | None:
        """How many alerts of ``kind`` were held back since the last one, when one is due now;
        None while the kind is inside its window (it is then counted as held back)."""
        now = self.clock()
        seen = self._kinds.get(kind)
        if seen is not None and now - seen.last_sent < WINDOW:
            seen.held_back += 1
            self._kinds.move_to_end(kind)
            return None
        held = seen.held_back if seen is not None else 0
        self._kinds[kind] = _Kind(last_sent=now)
        self._kinds.move_to_end(kind)
        while len(self._kinds) > KINDS:
            self._kinds.popitem(last=False)
        return held

    async def report(self, update_id: int | None, exc: BaseException) -> None:
        """Sends one alert for this failure unless one of its kind went out recently."""
        if not self.chats:
            return
        error, place = type(exc).__name__, where(exc)
        held = self.due(f"{error} {place}")
        if held is None:
            return
        for chat in self.chats:
            lang = self.languages.get(chat, "fa")
            t = translator(lang)
            lines = [
                t("⚠️ An update failed: {update}", update=number(update_id, lang, grouping=False) if update_id is not None else "—"),
                t("{error} at <code>{place}</code>", error=html.escape(error), place=html.escape(place)),
            ]
            if held:
                lines.append(t("{n} more failures like it since the last alert.", n=number(held, lang)))
            try:
                await self.bot.send_message(chat, "\n".join(lines), parse_mode=ParseMode.HTML)
            except TelegramError as exc_sending:
                # Operators may not have opened the bot yet; the log has the failure either way.
                log.warning("could not alert chat %s: %s", chat, exc_sending)

