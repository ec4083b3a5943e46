"""``python -m bot``: run the bot, or one of the operator commands (see ``bot.cli``)."""

import sys

# httpx imports its command-line tool (click, rich, pygments: ~4 MB of RSS and 0.1 s at start)
# whenever those happen to be installed, as they are in a dev environment (import-linter,
# pytest); the bot never runs it, and without them (production) httpx skips it the same way.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]

from bot.cli import main  # noqa: E402 - after the line above, which must precede httpx's import

raise SystemExit(main())
