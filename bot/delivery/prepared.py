"""What the outbox worker sends: one Bot API call made ready from an outbox row, with no Telegram
types, so the use cases that prepare messages need not import Telegram."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from storage.repositories.outbox import OutboxRow


@dataclass
class Prepared:
    """One Bot API call ready to go."""

    method: str  # "text", "photo" or "document"
    text: str = ""
    photo: bytes | str | None = None  # the image, or a Telegram file_id
    document: bytes | str | None = None  # a Telegram file_id (or the bytes)
    buttons: list[list[dict[str, str]]] = field(default_factory=list)


# payload → what to send, or None when it should be dropped (the recipient is gone).
Preparer = Callable[[OutboxRow], Awaitable[Prepared | None]]
