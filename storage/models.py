"""Rows as pydantic models: what the repositories return."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict


class Row(BaseModel):
    model_config = ConfigDict(frozen=True)


class Province(Row):
    id: int
    name_fa: str
    name_en: str

    def name(self, lang: str) -> str:
        return self.name_fa if lang == "fa" else self.name_en


class Estate(Row):
    id: int
    province_id: int
    name: str
    kind: Literal["estate", "zone", "park"]
    active: bool = True


class Cluster(Row):
    id: int
    province_id: int
    name: str
    sector: str | None = None
    active: bool = True


class User(Row):
    id: int
    language: str
    first_name: str | None = None
    muted: bool = False
    unreachable_since: datetime | None = None
    created_at: datetime


class Firm(Row):
    id: int
    owner_id: int
    name: str
    national_id: str
    province_id: int
    estate_id: int
    cluster_id: int | None
    sector: str
    employees: int
    founded_year: int
    phone: str
    consent_public: bool
    #: A sole proprietorship's business licence number (its national_id is then the owner's
    #: 10-digit national code); None for a legal entity.
    licence_no: str | None = None
    created_at: datetime
    updated_at: datetime


class RegistrationDraft(Row):
    user_id: int
    step: str
    data: dict[str, Any]
    editing: bool
    active: bool
    updated_at: datetime


class Round(Row):
    id: int
    title: str
    questionnaire_version: int
    opens_at: datetime
    closes_at: datetime
    state: Literal["scheduled", "open", "closed"]
    weights: dict[str, float] | None = None
    created_at: datetime
    published_at: datetime | None = None
    scored_at: datetime | None = None
    published_by: int | None = None
    publish_reported_at: datetime | None = None


class Submission(Row):
    id: int
    round_id: int
    firm_id: int
    status: Literal["draft", "submitted"]
    cursor: str | None
    pending: dict[str, Any] | None = None
    active: bool
    started_at: datetime
    updated_at: datetime
    submitted_at: datetime | None = None
