"""Every outbox dedupe key, in one place: a key names one message that must go out at most once."""

from __future__ import annotations

import re


def round_key(round_id: int, firm_id: int, kind: str) -> str:
    """One message of a round to one firm: its announcement, a reminder, its summary or chart."""
    return f"round:{round_id}:firm:{firm_id}:{kind}"


def firms_prefix(round_id: int) -> str:
    """The start every ``round_key`` of the round shares."""
    return f"round:{round_id}:firm:"


def round_key_parts(round_id: int, kind: str) -> tuple[str, str]:
    """What comes before and after the firm id in every ``round_key(round_id, firm, kind)``
    (for a query that joins firms to their messages)."""
    return firms_prefix(round_id), f":{kind}"


def admin_notice_key(round_id: int, admin_id: int, event: str) -> str:
    """A round's notice to one admin: it opened or closed by itself, or its results went out."""
    return f"round:{round_id}:admin:{admin_id}:{event}"


def nudge_prefix(estate_id: int, day: str) -> str:
    """A manager's nudge of one estate on one day (Tehran date): at most one per firm and day."""
    return f"nudge:estate:{estate_id}:{day}:"


def nudge_key(estate_id: int, day: str, firm_id: int) -> str:
    return f"{nudge_prefix(estate_id, day)}firm:{firm_id}"


def broadcast_prefix(broadcast_id: int) -> str:
    """The start every ``broadcast_key`` of one broadcast shares."""
    return f"broadcast:{broadcast_id}:"


def broadcast_key(broadcast_id: int, owner_id: int) -> str:
    """One message per (broadcast, firm owner), as a database rule."""
    return f"{broadcast_prefix(broadcast_id)}user:{owner_id}"


def broadcast_report_key(broadcast_id: int) -> str:
    """A broadcast's final report to its sender."""
    return f"broadcast-report:{broadcast_id}"


#: The segments of a key that name its recipient: ``firm:<id>``, ``user:<id>``, ``admin:<id>``.
_RECIPIENT = re.compile(r"(?:^|(?<=:))(firm|user|admin):\d+(?=:|$)")


def without_recipient(key: str, row_id: int) -> str:
    """``key`` with the ids of its recipient replaced (for "delete my data"): the row still
    counts under its round's or broadcast's prefix, but no longer names the firm or the user;
    the outbox row id keeps the key unique."""
    return _RECIPIENT.sub(lambda m: f"{m.group(1)}:erased-{row_id}", key)


def claim_key(user_id: int, national_id: str, admin_id: int) -> str:
    """An owner's request that admins look at a national ID another account registered: once per
    owner, ID and admin."""
    return f"claim:{national_id}:user:{user_id}:admin:{admin_id}"
