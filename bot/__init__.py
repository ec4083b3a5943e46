"""Khooshe: the bot application, its configuration and the domain logic."""
