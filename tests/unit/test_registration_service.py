"""RegistrationService on a real SQLite file: the checks of each step and finishing, including
two finishes at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest_asyncio

from bot.domain.text import search_key
from bot.services.privacy import PrivacyService
from bot.services.registration import (
    EstateChoices,
    Finished,
    Position,
    Refused,
    RegistrationService,
    Step,
    Stored,
    the_one,
)
from storage.database import Database
from storage.models import Estate
from storage.repositories import base
from storage.repositories.base import use_clock
from tests.support.clock import TEHRAN, TestClock
from tests.support.factories import add_firm, national_id
from tests.support.khooshe import seed

OWNER, OTHER = 6001, 6002
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


@pytest_asyncio.fixture
async def clock() -> AsyncIterator[TestClock]:
    clock = TestClock()
    before = base._clock
    use_clock(clock.now)
    yield clock
    use_clock(before)


@pytest_asyncio.fixture
async def db(tmp_path: Path, clock: TestClock) -> AsyncIterator[Database]:
    async with Database(tmp_path / "khooshe.db") as database:
        await seed(database, open_round=False)
        async with database.transaction() as repo:
            for user_id in (OWNER, OTHER):
                await repo.users.ensure(user_id=user_id, language="fa", first_name="Owner")
        yield database


@pytest_asyncio.fixture
async def service(db: Database, clock: TestClock) -> RegistrationService:
    return RegistrationService(db, clock, TEHRAN)


async def complete_draft(db: Database, service: RegistrationService, user_id: int, nid: str) -> dict[str, Any]:
    async with db.read() as repo:
        estate = (await repo.estates.search("برازجان", limit=1))[0][0]
    fields = {"name": "کارخانه نمونه", "national_id": nid, "province_id": estate.province_id,
              "estate_id": estate.id, "cluster_id": None, "sector": "C", "employees": 12,
              "founded_year": 1395, "phone": "+989121234567", "consent_public": True}
    stored = await service.store(user_id, **fields)
    assert stored.step is Step.REVIEW
    return fields


async def test_a_full_width_national_id_is_stored_in_latin_digits(service: RegistrationService) -> None:
    await service.begin(OWNER)
    answer = await service.give_national_id(OWNER, national_id(42).translate(FULL_WIDTH))
    assert isinstance(answer, Stored) and answer.data["national_id"] == national_id(42)


async def test_a_national_id_registered_by_another_account_is_refused(db: Database, service: RegistrationService) -> None:
    await add_firm(db, OTHER)
    await service.begin(OWNER)
    answer = await service.give_national_id(OWNER, national_id(OTHER))
    assert isinstance(answer, Refused) and answer.reason == "id_taken"


async def test_too_few_digits_are_counted(service: RegistrationService) -> None:
    await service.begin(OWNER)
    answer = await service.give_national_id(OWNER, "۱۲۳۴۵")
    assert isinstance(answer, Refused) and (answer.reason, answer.count) == ("id_length", 5)


async def test_an_estate_of_another_province_is_a_stale_button(db: Database, service: RegistrationService) -> None:
    async with db.read() as repo:
        tehran_estate = (await repo.estates.search("شمس", limit=1))[0][0]
        bushehr_estate = (await repo.estates.search("برازجان", limit=1))[0][0]
    await service.store(OWNER, name="کارخانه", national_id=national_id(1), province_id=bushehr_estate.province_id)
    answer = await service.choose_estate(OWNER, tehran_estate.id)
    assert isinstance(answer, Refused) and answer.reason == "stale"


async def test_a_new_province_asks_for_the_estate_again(db: Database, service: RegistrationService) -> None:
    fields = await complete_draft(db, service, OWNER, national_id(1))
    async with db.read() as repo:
        other = next(p for p in await repo.provinces.all() if p.id != fields["province_id"])
    answer = await service.choose_province(OWNER, other.id)
    assert isinstance(answer, Stored) and answer.step is Step.ESTATE and "cluster_id" not in answer.data


async def test_finishing_saves_the_firm_and_ends_the_draft(db: Database, service: RegistrationService) -> None:
    await complete_draft(db, service, OWNER, national_id(1))
    assert await service.finish(OWNER) == Finished("registered")
    async with db.read() as repo:
        firm = await repo.firms.by_owner(OWNER)
        draft = await repo.drafts.get(OWNER)
    assert firm is not None and firm.national_id == national_id(1) and draft is None


async def test_two_finishes_at_once_both_see_the_firm_registered(db: Database, service: RegistrationService) -> None:
    await complete_draft(db, service, OWNER, national_id(1))
    outcomes = await asyncio.gather(service.finish(OWNER), service.finish(OWNER))
    assert outcomes == [Finished("registered"), Finished("registered")]


async def test_a_finished_profile_edit_is_answered_as_an_update(db: Database, service: RegistrationService,
                                                               clock: TestClock) -> None:
    await add_firm(db, OWNER)
    clock.advance(timedelta(minutes=5))
    await service.begin(OWNER)
    assert await service.finish(OWNER) == Finished("updated")
    assert await service.finished_just_now(OWNER) == Finished("updated")


async def test_an_old_confirm_button_finishes_nothing(db: Database, service: RegistrationService, clock: TestClock) -> None:
    await complete_draft(db, service, OWNER, national_id(1))
    await service.finish(OWNER)
    clock.advance(timedelta(hours=1))
    assert await service.finished_just_now(OWNER) is None


async def test_an_id_taken_before_finishing_sends_the_owner_back_to_it(db: Database, service: RegistrationService) -> None:
    await complete_draft(db, service, OWNER, national_id(1))
    await complete_draft(db, service, OTHER, national_id(1))
    assert await service.finish(OTHER) == Finished("registered")
    outcome = await service.finish(OWNER)
    assert isinstance(outcome, Refused) and (outcome.reason, outcome.position.step) == ("id_taken", Step.NATIONAL_ID)


async def test_a_draft_with_a_field_missing_goes_back_to_it(service: RegistrationService) -> None:
    await service.store(OWNER, name="کارخانه")
    assert await service.finish(OWNER) == Position(Step.NATIONAL_ID, {"name": "کارخانه"})


async def test_leaving_a_profile_edit_drops_it_and_a_registration_is_kept(db: Database, service: RegistrationService) -> None:
    await add_firm(db, OTHER)
    await service.begin(OTHER)
    await service.store(OWNER, name="کارخانه")
    assert await service.leave(OTHER) == "edit_dropped"
    assert await service.leave(OWNER) == "paused"
    assert await service.current(OWNER) == Position(Step.NATIONAL_ID, {"name": "کارخانه"})


# --- finding the estate by what the owner types ------------------------------------------------


async def in_tehran(db: Database, service: RegistrationService) -> int:
    async with db.read() as repo:
        tehran = next(p for p in await repo.provinces.all() if p.name_fa == "تهران")
    await service.store(OWNER, name="کارخانه", national_id=national_id(1), province_id=tehran.id)
    return tehran.id


async def test_a_typed_name_naming_one_estate_stores_it(db: Database, service: RegistrationService) -> None:
    await in_tehran(db, service)
    found = await service.find_estate(OWNER, "شهرك صنعتي عباس آباد")
    assert isinstance(found, Stored) and found.step is Step.CLUSTER
    assert isinstance(found.label, Estate) and found.label.name == "شهرک صنعتی عباس\u200cآباد"


async def test_a_typed_name_naming_several_estates_lists_them(db: Database, service: RegistrationService) -> None:
    await in_tehran(db, service)
    found = await service.find_estate(OWNER, "آباد")
    assert isinstance(found, EstateChoices) and found.matches is not None and len(found.matches) == 3


async def test_only_the_generic_words_list_every_estate(db: Database, service: RegistrationService) -> None:
    await in_tehran(db, service)
    found = await service.find_estate(OWNER, "شهرک صنعتی")
    assert isinstance(found, EstateChoices) and found.matches is None and len(found.estates) == 10


async def test_the_estates_of_a_province_come_in_persian_order(db: Database, service: RegistrationService) -> None:
    province_id = await in_tehran(db, service)
    names = [e.name for e in (await service.estates(province_id)).estates]
    assert names[:3] == ["شهرک صنعتی ابن\u200cسینا", "شهرک صنعتی پرند", "شهرک صنعتی چرمشهر"]


def test_of_several_matches_the_one_named_exactly_is_the_one() -> None:
    near = Estate(id=1, province_id=1, name="شهرک صنعتی زاویه جدید", kind="estate", active=True)
    exact = Estate(id=2, province_id=1, name="شهرک صنعتی زاویه", kind="estate", active=True)
    assert the_one([near, exact], search_key("زاویه")) == exact


async def test_employees_with_a_unit_word_are_accepted(service: RegistrationService) -> None:
    await service.begin(OWNER)
    answer = await service.give_employees(OWNER, "حدود ۲۵ نفر")
    assert isinstance(answer, Stored) and answer.data["employees"] == 25


async def test_employees_given_as_a_range_are_refused(service: RegistrationService) -> None:
    await service.begin(OWNER)
    answer = await service.give_employees(OWNER, "۲۰ تا ۳۰ نفر")
    assert isinstance(answer, Refused) and answer.reason == "employees"


async def test_a_two_digit_founding_year_is_solar_hijri(service: RegistrationService) -> None:
    await service.begin(OWNER)
    answer = await service.give_founded(OWNER, "۸۵")
    assert isinstance(answer, Stored) and answer.data["founded_year"] == 1385


async def test_a_founding_year_with_words_is_accepted(service: RegistrationService) -> None:
    await service.begin(OWNER)
    answer = await service.give_founded(OWNER, "سال ۱۳۸۵")
    assert isinstance(answer, Stored) and answer.data["founded_year"] == 1385


async def test_the_founding_year_after_the_employees_is_stored_with_them(service: RegistrationService) -> None:
    await service.begin(OWNER)
    answer = await service.give_employees(OWNER, "۴۵، ۱۳۸۸")
    assert isinstance(answer, Stored) and (answer.data["employees"], answer.data["founded_year"]) == (45, 1388)


async def test_employees_written_with_a_thousands_space_are_one_number(service: RegistrationService) -> None:
    await service.begin(OWNER)
    answer = await service.give_employees(OWNER, "1 200")
    assert isinstance(answer, Stored) and answer.data["employees"] == 1200 and "founded_year" not in answer.data


async def test_without_the_consent_the_draft_waits_on_the_review(db: Database, service: RegistrationService) -> None:
    fields = await complete_draft(db, service, OWNER, national_id(1))
    await service.store(OWNER, drop=("consent_public",))
    assert await service.finish(OWNER) == Position(Step.REVIEW, {k: v for k, v in fields.items() if k != "consent_public"})


async def test_the_confirm_button_gives_the_consent(db: Database, service: RegistrationService) -> None:
    await complete_draft(db, service, OWNER, national_id(1))
    await service.store(OWNER, drop=("consent_public",))
    assert await service.finish(OWNER, consent=False) == Finished("registered")
    async with db.read() as repo:
        firm = await repo.firms.by_owner(OWNER)
    assert firm is not None and firm.consent_public is False and firm.licence_no is None


async def test_a_sole_proprietor_is_saved_with_the_code_and_licence(db: Database, service: RegistrationService) -> None:
    await complete_draft(db, service, OWNER, national_id(1))
    await service.declare_sole(OWNER)
    assert (await service.give_national_code(OWNER, "0499370899")).step is Step.LICENCE
    assert (await service.give_licence(OWNER, "۱۲۳۴۵/۶۷۸")).step is Step.REVIEW
    assert await service.finish(OWNER) == Finished("registered")
    async with db.read() as repo:
        firm = await repo.firms.by_owner(OWNER)
    assert firm is not None and (firm.national_id, firm.licence_no) == ("0499370899", "12345/678")


async def test_an_unlisted_estate_is_created_unconfirmed_when_the_firm_is_saved(db: Database, service: RegistrationService) -> None:
    await complete_draft(db, service, OWNER, national_id(1))
    assert (await service.unlisted_estate(OWNER)).step is Step.ESTATE_NAME
    assert (await service.name_estate(OWNER, "شهرک صنعتی نو")).step is Step.REVIEW
    assert await service.finish(OWNER) == Finished("registered", unlisted="شهرک صنعتی نو")
    async with db.read() as repo:
        firm = await repo.firms.by_owner(OWNER)
        assert firm is not None
        named = await repo.estate_requests.named(firm.estate_id)
        listed = await repo.estate_requests.listed_in_province(firm.province_id)
    assert named is not None and named.estate.name == "شهرک صنعتی نو" and not named.verified
    assert "شهرک صنعتی نو" not in [e.name for e in listed]


async def test_a_listed_estates_name_typed_as_unlisted_chooses_it(db: Database, service: RegistrationService) -> None:
    await complete_draft(db, service, OWNER, national_id(1))
    await service.unlisted_estate(OWNER)
    answer = await service.name_estate(OWNER, "شهرك صنعتي بوشهر")
    assert isinstance(answer, Stored) and isinstance(answer.label, Estate) and answer.label.name == "شهرک صنعتی بوشهر"


async def test_exports_show_a_sole_proprietors_code_with_the_licence(db: Database, service: RegistrationService) -> None:
    await complete_draft(db, service, OWNER, national_id(1))
    await service.declare_sole(OWNER)
    await service.give_national_code(OWNER, "0499370899")
    await service.give_licence(OWNER, "12345/678")
    await service.finish(OWNER)
    async with db.read() as repo:
        rows = [row async for batch in repo.reports.export_firms() for row in batch]
        statuses = await repo.reports.firm_statuses(None)
    assert [r["national_id"] for r in rows] == ["0499370899 · 12345/678"]
    assert [s.national_id for s in statuses] == ["0499370899 · 12345/678"]


async def test_my_data_holds_the_licence_and_the_estate_named(db: Database, service: RegistrationService,
                                                             clock: TestClock) -> None:
    await complete_draft(db, service, OWNER, national_id(1))
    await service.declare_sole(OWNER)
    await service.give_national_code(OWNER, "0499370899")
    await service.give_licence(OWNER, "12345/678")
    await service.unlisted_estate(OWNER)
    await service.name_estate(OWNER, "شهرک صنعتی نو")
    await service.finish(OWNER)
    data = await PrivacyService(db, clock).export(OWNER)
    assert (data["firm"]["national_id"], data["firm"]["licence_no"]) == ("0499370899", "12345/678")
    assert [(e["name"], e["verified"]) for e in data["named_estates"]] == [("شهرک صنعتی نو", 0)]
