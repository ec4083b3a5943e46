"""One repository per table, gathered behind one facade that shares the caller's transaction."""

from __future__ import annotations

import aiosqlite

from storage.repositories.access import AccessRepository
from storage.repositories.broadcasts import BroadcastRepository
from storage.repositories.drafts import RegistrationDraftRepository
from storage.repositories.firms import FirmRepository
from storage.repositories.inbox import InboxRepository
from storage.repositories.outbox import OutboxRepository
from storage.repositories.places import (
    ClusterRepository,
    EstateRepository,
    ProvinceRepository,
)
from storage.repositories.privacy import PrivacyRepository
from storage.repositories.ranking import RankingRepository
from storage.repositories.reports import ReportRepository
from storage.repositories.rounds import RoundRepository
from storage.repositories.scores import ScoreRepository
from storage.repositories.submissions import AnswerRepository, SubmissionRepository
from storage.repositories.users import UserRepository


class Repositories:
    """``repo.firms``, ``repo.rounds``…; none commits: the transaction belongs to the caller."""

    __slots__ = (
        "access",
        "answers",
        "broadcasts",
        "clusters",
        "conn",
        "drafts",
        "estates",
        "firms",
        "inbox",
        "outbox",
        "privacy",
        "provinces",
        "ranking",
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
        self.users = UserRepository(conn)
        self.firms = FirmRepository(conn)
        self.inbox = InboxRepository(conn)
        self.drafts = RegistrationDraftRepository(conn)
        self.rounds = RoundRepository(conn)
        self.submissions = SubmissionRepository(conn)
        self.answers = AnswerRepository(conn)
        self.scores = ScoreRepository(conn)
        self.outbox = OutboxRepository(conn)
        self.reports = ReportRepository(conn)
        self.privacy = PrivacyRepository(conn)
        self.broadcasts = BroadcastRepository(conn)
        self.ranking = RankingRepository(conn)
