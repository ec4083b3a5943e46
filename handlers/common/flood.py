"""The one notice a user gets when they send faster than a person could (bot.domain.throttle)."""

from __future__ import annotations

import logging

from telegram import Bot, Update
from telegram.error import TelegramError

from bot.context import Services
from bot.i18n import translator

log = logging.getLogger(__name__)


async def tell_to_slow_down(bot: Bot, services: Services, update: object) -> None:
    if not isinstance(update, Update) or update.effective_chat is None or update.effective_user is None:
        return
    user_id = update.effective_user.id
    log.info("user %s is sending faster than %s/s; updates over it are dropped", user_id, services.settings.user_rate)
    t = translator(services.languages.get(user_id, "fa"))
    try:
        await bot.send_message(update.effective_chat.id, t(
            "You are sending messages faster than I can follow, so I skipped some of the last ones. "
            "Please wait a few seconds, then go on."))
    except TelegramError as exc:
        log.info("could not tell user %s to slow down: %s", user_id, exc)
