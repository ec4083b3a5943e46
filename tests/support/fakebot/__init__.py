"""Fake Telegram Bot API server and simulated users for end-to-end tests."""

from .client import BotEvent, FakeUser
from .server import BotMessage, FakeBotApi, StoredFile, Upload
from .strict import ApiError

__all__ = ["ApiError", "BotEvent", "BotMessage", "FakeBotApi", "FakeUser", "StoredFile", "Upload"]
