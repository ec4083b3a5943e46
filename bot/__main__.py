"""``python -m bot``: run the bot, or one of the operator commands (see ``bot.cli``)."""

from bot.cli import main

raise SystemExit(main())
