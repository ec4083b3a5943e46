"""One repository per table, gathered behind one facade that shares the caller's transaction."""

from __future__ import annotations

from typing import TYPE_CHECKING

import aiosqlite

from storage.repositories.access import AccessRepository
from storage.repositories.broadcasts import BroadcastRepository
from storage.repositories.drafts import RegistrationDraftRepository
from storage.repositories.estate_requests import EstateRequestRepository
from storage.repositories.firms import FirmRepository
from storage.repositories.flows import FlowRepository
from storage.repositories.funnel import FunnelRepository
from storage.repositories.inbox import InboxRepository
from storage.repositories.outbox import OutboxRepository
from storage.repositories.places import (
    ClusterRepository,
    EstateRepository,
    ProvinceRepository,
)
from storage.repositories.privacy import PrivacyRepository
from storage.repositories.reports import ReportRepository
from storage.repositories.rounds import RoundRepository
from storage.repositories.scores import ScoreRepository
from storage.repositories.submissions import AnswerRepository, SubmissionRepository
from storage.repositories.users import UserRepository

if TYPE_CHECKING:
    from storage.repositories.ranking import RankingRepository


class Repositories:
    """``repo.firms``, ``repo.rounds``…; none commits: the transaction belongs to the caller."""

    __slots__ = (
        "_ranking",
        "access",
        "answers",
        "broadcasts",
        "clusters",
        "conn",
        "drafts",
        "estate_requests",
        "estates",
        "firms",
        "flows",
        "funnel",
        "inbox",
        "outbox",
        "privacy",
        "provinces",
        "reports",
        "rounds",
        "scores",
        "submissions",
        "users",
    )

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self.conn = conn
        self.access = AccessRepository(conn)
        self.provinces = ProvinceRepository(conn)
        self.estates = EstateRepository(conn)
        self.clusters = ClusterRepository(conn)
        self.estate_requests = EstateRequestRepository(conn)
        self.users = UserRepository(conn)
        self.firms = FirmRepository(conn)
        self.inbox = InboxRepository(conn)
        self.flows = FlowRepository(conn)
        self.drafts = RegistrationDraftRepository(conn)
        self.rounds = RoundRepository(conn)
        self.submissions = SubmissionRepository(conn)
        self.answers = AnswerRepository(conn)
        self.scores = ScoreRepository(conn)
        self.outbox = OutboxRepository(conn)
        self.reports = ReportRepository(conn)
        self.funnel = FunnelRepository(conn)
        self.privacy = PrivacyRepository(conn)
        self.broadcasts = BroadcastRepository(conn)
        self._ranking: RankingRepository | None = None

    @property
    def ranking(self) -> RankingRepository:
        """Imported on first use: it needs numpy (about 15 MB of memory), and only scoring a
        round uses it, in the worker process (bot.services.offload) unless configured otherwise."""
        if self._ranking is None:
            from storage.repositories.ranking import RankingRepository

            self._ranking = RankingRepository(self.conn)
        return self._ranking
