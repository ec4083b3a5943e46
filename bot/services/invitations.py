"""Manager invitations (``InvitationService``): an admin creates a single-use token for an
estate; whoever opens it and accepts becomes a manager of that estate.

Only a SHA-256 hash of the token is stored.  Accepting marks the invitation used with one
conditional UPDATE, so of two acceptances at once exactly one wins.  Every step is audited.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from bot.clock import Clock
from bot.services.access import audit
from storage.database import Database
from storage.models import Estate, Province
from storage.repositories.access import Invitation


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


@dataclass(frozen=True)
class Created:
    invitation_id: int
    #: The token itself, shown once to the admin and never stored.
    token: str
    estate: Estate
    expires_at: datetime


@dataclass(frozen=True)
class Opened:
    """A link that can be accepted: the invitation, its estate and the estate's province."""

    invitation: Invitation
    estate: Estate
    province: Province | None


@dataclass(frozen=True)
class Unusable:
    """A link that cannot be accepted: unknown or forged, already used (by this user:
    ``mine``), revoked, or expired."""

    problem: Literal["forged", "reused", "revoked", "expired"]
    invitation: Invitation | None = None
    estate: Estate | None = None
    mine: bool = False


@dataclass(frozen=True)
class Accepted:
    invitation: Invitation
    estate: Estate


class InvitationService:
    def __init__(self, db: Database, clock: Clock, hours: int) -> None:
        self.db, self.clock, self.hours = db, clock, hours

    async def create(self, actor: int, estate_id: int) -> Created | None:
        """A new invitation for an active estate (None for a missing or inactive one)."""
        async with self.db.transaction() as repo:
            estate = await repo.estates.get(estate_id)
            if estate is None or not estate.active:
                return None
            token = secrets.token_hex(24)  # 192 bits; hex: no "_" a Markdown reader could take for italics
            expires = self.clock.now() + timedelta(hours=self.hours)
            invitation_id = await repo.access.create_invitation(
                token_hash=token_hash(token), role="manager", estate_id=estate_id, by=actor, expires_at=expires,
            )
            await audit(repo, user_id=actor, action="invite", target=f"estate {estate_id}",
                        detail=f"invitation {invitation_id}")
        return Created(invitation_id, token, estate, expires)

    async def revoke(self, actor: int, invitation_id: int) -> Literal["revoked", "unknown", "used", "already"]:
        async with self.db.transaction() as repo:
            found = await repo.access.invitation_by_id(invitation_id)
            if found is None:
                return "unknown"
            if await repo.access.revoke_invitation(invitation_id):
                await audit(repo, user_id=actor, action="revoke", target=f"invitation {invitation_id}")
                return "revoked"
        return "used" if found.used_by is not None else "already"

    async def still_open(self) -> list[tuple[Invitation, Estate | None]]:
        """The invitations that can still be used, with their estates."""
        async with self.db.read() as repo:
            found = await repo.access.open_invitations(self.clock.now())
            return [(i, await repo.estates.get(i.estate_id)) for i in found]

    async def open(self, user_id: int, token: str) -> Opened | Unusable:
        """Checks a link's token; an acceptable one is audited as opened.  The caller refuses
        (and audits) an unusable one."""
        async with self.db.read() as repo:
            inv = await repo.access.invitation(token_hash(token))
            estate = await repo.estates.get(inv.estate_id) if inv else None
            province = await repo.provinces.get(estate.province_id) if estate else None
        if inv is None or estate is None:
            return Unusable("forged", inv)
        if inv.used_by is not None:
            return Unusable("reused", inv, estate, mine=inv.used_by == user_id)
        if inv.revoked_at is not None:
            return Unusable("revoked", inv, estate)
        if inv.expires_at <= self.clock.now():
            return Unusable("expired", inv, estate)
        async with self.db.transaction() as repo:
            await audit(repo, user_id=user_id, action="invite_open", target=f"invitation {inv.id}")
        return Opened(inv, estate, province)

    async def accept(self, user_id: int, invitation_id: int) -> Accepted | None:
        """Makes the user a manager of the invitation's estate, once: None when it was used,
        revoked or expired meanwhile (the caller refuses and audits that)."""
        async with self.db.transaction() as repo:
            inv = await repo.access.invitation_by_id(invitation_id)
            if inv is None or inv.expires_at <= self.clock.now():
                return None
            estate = await repo.estates.get(inv.estate_id)
            if estate is None or not await repo.access.use_invitation(inv.id, user_id=user_id):
                return None
            await repo.access.add_manager(user_id=user_id, estate_id=inv.estate_id, by=inv.created_by)
            await audit(repo, user_id=user_id, action="invite_accept", target=f"invitation {inv.id}",
                        detail=f"manager of estate {inv.estate_id}")
        return Accepted(inv, estate)

    async def decline(self, user_id: int, invitation_id: int) -> None:
        async with self.db.transaction() as repo:
            await audit(repo, user_id=user_id, action="invite_decline", target=f"invitation {invitation_id}")
