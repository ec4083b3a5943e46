"""Khooshe in a browser with no token: ``python -m bot playground`` runs the bot against the Bot API
emulator, with a web chat, personas and a seeded demo world (see runner.py and web.py)."""
