"""Khooshe: the bot application, its configuration and the domain logic."""

import os

# python-telegram-bot 22 returns durations (RetryAfter.retry_after among them) as timedelta once
# this is set, and warns on every read until then; the next major version makes it the only way.
os.environ.setdefault("PTB_TIMEDELTA", "1")
