"""What the main menu shows one user: their firm (or registration in progress), the open round
as their firm sees it, and the roles whose commands /help lists."""

from __future__ import annotations

from dataclasses import dataclass

from bot.clock import Clock
from bot.services import assessment
from bot.services.access import Access, access_of
from bot.services.assessment import RoundStatus
from storage.database import Database
from storage.models import Firm


@dataclass(frozen=True)
class MenuState:
    firm: Firm | None
    #: A registration started and not finished (not an edit of a registered firm's profile).
    registering: bool
    status: RoundStatus
    #: The user's roles: an admin's or a manager's menu adds their tasks.
    access: Access


class MenuService:
    def __init__(self, db: Database, clock: Clock, admins: frozenset[int]) -> None:
        self.db, self.clock, self.admins = db, clock, admins

    async def state(self, user_id: int) -> MenuState:
        async with self.db.read() as repo:
            firm = await repo.firms.by_owner(user_id)
            draft = await repo.drafts.get(user_id)
            status = await assessment.status_for(repo, firm=firm, now=self.clock.now())
            access = await access_of(repo, self.admins, user_id)
        return MenuState(firm=firm, registering=draft is not None and not draft.editing, status=status,
                         access=access)

    async def access(self, user_id: int) -> Access:
        async with self.db.read() as repo:
            return await access_of(repo, self.admins, user_id)
