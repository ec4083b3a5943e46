"""The strict Bot API emulator (Telegram and Bale profiles) and simulated users: the tests and the playground run the bot against it."""

from .client import BotEvent, FakeUser
from .server import BotMessage, FakeBotApi, StoredFile, Upload
from .strict import ApiError

__all__ = ["ApiError", "BotEvent", "BotMessage", "FakeBotApi", "FakeUser", "StoredFile", "Upload"]
