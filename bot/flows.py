"""Guided flows survive a restart: where an admin's or a manager's flow stands, and what they gave
it so far, is written down with the "handled" marks of the updates that moved it.

A firm owner's registration and assessment live in their own tables (``bot.persistence``). The
other flows — a round being set up, a broadcast being composed, an estate being added, an
invitation being chosen or answered, an action waiting for its confirm button — kept their state
in memory only (``UserData`` and the positions of their conversations), so a restart made an
admin type a whole broadcast again.

When an update's handlers end, the user's flow state is serialised (``take``); the intake writes
it in the transaction that marks the update done (``bot.intake.inbox``), so the snapshot on disk
is always the state after the last update marked done: an update that was not marked is handled
again after a restart, from that state. A user whose update had already committed an effect
when the bot stopped gets no snapshot back (its flow may have ended in that effect: a round
created, a broadcast sent) and starts afresh. The snapshot is read back on the user's next update
(``bot.application.KhoosheApplication.welcome``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, MutableMapping
from datetime import datetime, timedelta
from typing import Any, Final

from pydantic import BaseModel

from bot.context import UserData
from storage.models import Round

log = logging.getLogger(__name__)

#: The ``UserData`` fields that belong to a flow. Not ``screen`` (a message id, rewritten on every
#: answer of an assessment: a write per owner's tap for a cosmetic detail) nor ``delete_token``
#: (a "delete my data" confirmation is asked again rather than kept on disk).
FLOW_FIELDS: Final = ("round_action", "round_wizard", "invitation", "import_file", "place_draft",
                      "place_rename", "place_query", "invite_pick", "broadcast")
#: The conversations whose positions are stored nowhere else (their ``name``s).
FLOW_CONVERSATIONS: Final = ("round_wizard", "broadcast", "add_place", "invite")
#: A flow untouched this long is dropped.
KEEP_FLOWS: Final = timedelta(days=7)

# Models a flow holds, by the name written for them (nothing else is ever built from a snapshot).
_MODELS: Final[dict[str, type[BaseModel]]] = {"Round": Round}


class FlowSnapshots:
    """Captures and restores the flow state of one user at a time."""

    def __init__(self, user_data: Mapping[int, UserData],
                 conversations: Mapping[str, MutableMapping[tuple[int, int], object]]) -> None:
        # PTB's own tables, read where they are (the application fills ``conversations`` as the
        # conversations are added).
        self._user_data = user_data
        self._conversations = conversations
        # The snapshot last handed out per user, for users who have one: an update that changed
        # nothing of a flow writes nothing (most updates: a firm owner answering has no flow).
        self._written: dict[int, str] = {}

    def take(self, user_id: int) -> tuple[bool, str | None]:
        """Whether the user's snapshot changed since the last one, and the new one: its text, or
        None when the flow ended."""
        text = self._capture(user_id)
        if text is None:
            return self._written.pop(user_id, None) is not None, None
        if self._written.get(user_id) == text:
            return False, text
        self._written[user_id] = text
        return True, text

    def _capture(self, user_id: int) -> str | None:
        key = (user_id, user_id)  # private chats only: the chat is the user
        states = {name: self._conversations[name][key] for name in FLOW_CONVERSATIONS
                  if name in self._conversations and key in self._conversations[name]}
        data = self._user_data.get(user_id)
        fields = {} if data is None else {name: getattr(data, name) for name in FLOW_FIELDS
                                          if getattr(data, name) is not None}
        if not states and not fields:
            return None
        try:
            return json.dumps({"states": states, "fields": fields}, ensure_ascii=False,
                              default=_encode, sort_keys=True)
        except (TypeError, ValueError):
            # A value no snapshot can hold: the flow goes on in memory, as before snapshots.
            log.warning("user %s: a flow's state cannot be written down; kept in memory only", user_id,
                        exc_info=True)
            return None

    def restore(self, user_id: int, text: str, data: UserData) -> None:
        """Puts a stored snapshot back: the positions the conversations do not hold and the
        fields ``data`` does not have (what is in memory is newer)."""
        try:
            snapshot = json.loads(text, object_hook=_decode)
        except (ValueError, TypeError, KeyError):
            log.warning("user %s: a stored flow could not be read; it is dropped", user_id)
            return
        key = (user_id, user_id)
        for name, state in dict(snapshot.get("states") or {}).items():
            conversation = self._conversations.get(name)
            if conversation is not None and key not in conversation:
                # Read from where it is stored: nothing to write back (PTB's TrackingDict).
                update_no_track = getattr(conversation, "update_no_track", None)
                if update_no_track is not None:
                    update_no_track({key: state})
                else:
                    conversation[key] = state
        for name, value in dict(snapshot.get("fields") or {}).items():
            if name in FLOW_FIELDS and getattr(data, name) is None:
                setattr(data, name, value)
        self._written[user_id] = text


def _encode(value: object) -> Any:
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    for name, model in _MODELS.items():
        if type(value) is model:
            return {"$model": name, "value": value.model_dump(mode="json")}
    raise TypeError(f"{type(value).__name__} is not written in a flow snapshot")


def _decode(obj: dict[str, Any]) -> Any:
    if "$datetime" in obj and len(obj) == 1:
        return datetime.fromisoformat(obj["$datetime"])
    if "$model" in obj and set(obj) == {"$model", "value"}:
        return _MODELS[obj["$model"]].model_validate(obj["value"])
    return obj
