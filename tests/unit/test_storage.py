"""The SQLite database on a real file: migrations, pragmas, transactions, constraints, repositories."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio

from storage.database import Database, migration_files
from storage.repositories import Repositories
from tests.support.clock import TEST_NOW


@pytest_asyncio.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(tmp_path / "sub" / "khooshe.db")
    await database.connect()
    try:
        yield database
    finally:
        await database.close()


async def scalar(db: Database, sql: str, params: tuple = ()) -> object:
    async with db.conn.execute(sql, params) as cur:
        row = await cur.fetchone()
    return None if row is None else row[0]


# --- schema and connection ---------------------------------------------------------------------


async def test_connect_creates_the_file_and_applies_every_migration(db: Database) -> None:
    assert db.path.exists()
    versions = [v for v, _ in migration_files()]
    async with db.conn.execute("SELECT version, name FROM schema_version ORDER BY version") as cur:
        rows = [tuple(r) for r in await cur.fetchall()]
    assert [v for v, _ in rows] == versions
    assert rows[0] == (1, "0001_initial.sql")


async def test_an_outbox_queued_before_the_uncertain_status_keeps_its_rows_and_takes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    import shutil

    import storage.database

    older = tmp_path / "migrations"
    older.mkdir()
    for version, path in migration_files():
        if version < 8:
            shutil.copy(path, older / path.name)
    monkeypatch.setattr(storage.database, "MIGRATIONS_DIR", older)
    async with Database(tmp_path / "khooshe.db") as old, old.transaction() as repo:
        await repo.outbox.add(kind="text", dedupe_key="k:1", chat_id=7, payload={"text": "queued"},
                              not_before=TEST_NOW)
    monkeypatch.undo()
    async with Database(tmp_path / "khooshe.db") as db, db.transaction() as repo:
        row = await repo.outbox.by_key("k:1")
        assert row is not None
        await repo.outbox.finish(row.id, status="uncertain", error="502 after sending")
        rows = [(r.dedupe_key, r.payload, r.status) for r in await repo.outbox.all()]
    assert rows == [("k:1", {"text": "queued"}, "uncertain")]


async def test_scores_stored_before_generations_stay_visible(tmp_path: Path) -> None:
    """A database scored before migration 0009 shows the same scores after it."""
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    for version, script in migration_files():
        if version >= 9:
            break
        conn.executescript(script.read_text(encoding="utf-8"))
    now = TEST_NOW.isoformat()
    conn.executescript(
        "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL);"
        + "".join(f"INSERT INTO schema_version VALUES ({v}, '{p.name}', '{now}');"
                  for v, p in migration_files() if v < 9)
        + f"INSERT INTO users (id, created_at) VALUES (1, '{now}');"
        "INSERT INTO estates (id, province_id, name, kind) VALUES (1, 1, 'e', 'estate');"
        "INSERT INTO firms (id, owner_id, name, national_id, province_id, estate_id, sector, employees,"
        f" founded_year, phone, consent_public, created_at, updated_at) VALUES (1, 1, 'f', '0000000001',"
        f" 1, 1, 'C', 5, 1390, '0912', 1, '{now}', '{now}');"
        "INSERT INTO rounds (id, title, questionnaire_version, opens_at, closes_at, state, created_at)"
        f" VALUES (1, 'R', 1, '{now}', '{now}', 'closed', '{now}');"
        "INSERT INTO scores (round_id, firm_id, estate_id, province_id, dimensions, composite,"
        " rank_nation, size_nation) VALUES (1, 1, 1, 1, '{}', 71.5, 1, 1);"
    )
    conn.close()
    migrated = Database(path)
    await migrated.connect()
    try:
        async with migrated.read() as repo:
            row = await repo.scores.for_firm(1, 1)
        assert row is not None and (row.composite, row.rank_nation) == (71.5, 1)
    finally:
        await migrated.close()


async def test_reconnecting_applies_nothing_twice(db: Database, tmp_path: Path) -> None:
    async with db.transaction() as repo:
        await repo.users.ensure(user_id=1, language="fa", first_name="علی")
    await db.close()
    again = Database(db.path)
    await again.connect()
    try:
        assert await again.migrate() == []
        assert await scalar(again, "SELECT COUNT(*) FROM schema_version") == len(migration_files())
        assert await scalar(again, "SELECT COUNT(*) FROM provinces") == 31
        async with again.read() as repo:
            user = await repo.users.get(1)
        assert user is not None and user.first_name == "علی"
    finally:
        await again.close()


async def test_wal_and_foreign_keys_are_on(db: Database) -> None:
    assert str(await scalar(db, "PRAGMA journal_mode")).lower() == "wal"
    assert await scalar(db, "PRAGMA foreign_keys") == 1


async def test_foreign_keys_are_enforced(db: Database) -> None:
    with pytest.raises(sqlite3.IntegrityError):
        async with db.transaction() as repo:
            await repo.estates.add(province_id=999, name="x", kind="estate")


async def test_estate_kind_is_checked(db: Database) -> None:
    with pytest.raises(sqlite3.IntegrityError):
        async with db.transaction() as repo:
            await repo.estates.add(province_id=8, name="x", kind="harbour")


async def test_the_31_provinces(db: Database) -> None:
    async with db.read() as repo:
        provinces = await repo.provinces.all()
    assert len(provinces) == 31
    assert [p.id for p in provinces] == list(range(1, 32))
    names = {p.name_en: p.name_fa for p in provinces}
    assert names["Tehran"] == "تهران"
    assert names["Razavi Khorasan"] == "خراسان رضوی"
    assert names["Kerman"] == "کرمان"
    assert len(set(names.values())) == 31
    # Persian spelling only: no Arabic yeh or kaf.
    assert not any(ch in name for name in names.values() for ch in "يك")


async def test_disconnected_database_refuses_use(tmp_path: Path) -> None:
    database = Database(tmp_path / "never.db")
    with pytest.raises(RuntimeError):
        _ = database.conn


# --- transactions ------------------------------------------------------------------------------


async def test_transaction_commits(db: Database) -> None:
    async with db.transaction() as repo:
        await repo.users.ensure(user_id=5, language="en", first_name=None)
    # Seen from a second, independent connection: it really is on disk.
    with sqlite3.connect(db.path) as other:
        assert other.execute("SELECT language FROM users WHERE id = 5").fetchone() == ("en",)


async def test_failing_transaction_rolls_back_everything(db: Database) -> None:
    with pytest.raises(RuntimeError, match="boom"):
        async with db.transaction() as repo:
            await repo.users.ensure(user_id=7, language="fa", first_name="Ali")
            await repo.estates.add(province_id=8, name="شهرک الف", kind="estate")
            raise RuntimeError("boom")
    assert not db.conn.in_transaction
    async with db.read() as repo:
        assert await repo.users.get(7) is None
        assert await repo.estates.count() == 0
    # The connection is still usable afterwards.
    async with db.transaction() as repo:
        await repo.users.ensure(user_id=7, language="fa", first_name="Ali")
    async with db.read() as repo:
        assert await repo.users.get(7) is not None


async def test_failed_statement_rolls_back_earlier_writes(db: Database) -> None:
    with pytest.raises(sqlite3.IntegrityError):
        async with db.transaction() as repo:
            await repo.estates.add(province_id=8, name="شهرک الف", kind="estate")
            await repo.estates.add(province_id=8, name="شهرک ب", kind="bogus")
    async with db.read() as repo:
        assert await repo.estates.count() == 0


# --- rounds ------------------------------------------------------------------------------------


async def make_round(repo: Repositories, state: str, title: str = "R"):
    now = TEST_NOW
    return await repo.rounds.create(
        title=title, questionnaire_version=1, opens_at=now - timedelta(hours=1),
        closes_at=now + timedelta(days=30), state=state,
    )


async def test_only_one_round_can_be_open(db: Database) -> None:
    async with db.transaction() as repo:
        first = await make_round(repo, "open", "پاییز ۱۴۰۵")
    with pytest.raises(sqlite3.IntegrityError):
        async with db.transaction() as repo:
            await make_round(repo, "open", "second")
    async with db.read() as repo:
        current = await repo.rounds.open_round()
    assert current is not None and current.id == first.id and current.title == "پاییز ۱۴۰۵"


async def test_closed_and_scheduled_rounds_do_not_count(db: Database) -> None:
    async with db.transaction() as repo:
        first = await make_round(repo, "open")
        await make_round(repo, "closed")
        await make_round(repo, "scheduled")
        await repo.rounds.close(first.id)
        second = await make_round(repo, "open")
    async with db.read() as repo:
        assert (await repo.rounds.get(first.id)).state == "closed"
        assert (await repo.rounds.open_round()).id == second.id


async def test_round_times_round_trip_as_utc(db: Database) -> None:
    closes = datetime(2026, 12, 20, 20, 29, 59, tzinfo=UTC)
    async with db.transaction() as repo:
        created = await repo.rounds.create(
            title="T", questionnaire_version=1, opens_at=closes - timedelta(days=30),
            closes_at=closes, state="open", weights={"a": 0.5},
        )
    assert created.closes_at == closes
    assert created.weights == {"a": 0.5}


# --- registration drafts -----------------------------------------------------------------------


async def test_drafts_start_update_get(db: Database) -> None:
    async with db.transaction() as repo:
        await repo.users.ensure(user_id=1, language="fa", first_name=None)
        assert await repo.drafts.get(1) is None
        await repo.drafts.start(user_id=1, step="name", data={}, editing=False)
        await repo.drafts.update(user_id=1, step="national_id", data={"name": "فولاد کاوه"})
    async with db.read() as repo:
        draft = await repo.drafts.get(1)
    assert draft is not None
    assert draft.step == "national_id"
    assert draft.data == {"name": "فولاد کاوه"}
    assert draft.editing is False and draft.active is True
    # Persian stays readable in the stored JSON (ensure_ascii=False).
    raw = await scalar(db, "SELECT data FROM registration_drafts WHERE user_id = 1")
    assert "فولاد کاوه" in raw


async def test_draft_start_again_resets_it(db: Database) -> None:
    async with db.transaction() as repo:
        await repo.users.ensure(user_id=1, language="fa", first_name=None)
        await repo.drafts.start(user_id=1, step="phone", data={"name": "x"}, editing=False)
        await repo.drafts.set_active(user_id=1, active=False)
        await repo.drafts.start(user_id=1, step="review", data={"name": "y"}, editing=True)
        draft = await repo.drafts.get(1)
    assert draft is not None
    assert (draft.step, draft.data, draft.editing, draft.active) == ("review", {"name": "y"}, True, True)


async def test_active_steps_lists_only_active_drafts(db: Database) -> None:
    async with db.transaction() as repo:
        for uid in (1, 2, 3):
            await repo.users.ensure(user_id=uid, language="fa", first_name=None)
            await repo.drafts.start(user_id=uid, step=f"step{uid}", data={}, editing=False)
        await repo.drafts.set_active(user_id=2, active=False)
        await repo.drafts.delete(3)
        assert await repo.drafts.active_steps() == {1: "step1"}
        # Updating a paused draft makes it active again.
        await repo.drafts.update(user_id=2, step="employees", data={})
        assert await repo.drafts.active_steps() == {1: "step1", 2: "employees"}


async def test_draft_needs_an_existing_user(db: Database) -> None:
    with pytest.raises(sqlite3.IntegrityError):
        async with db.transaction() as repo:
            await repo.drafts.start(user_id=404, step="name", data={}, editing=False)


# --- submissions and answers -------------------------------------------------------------------


async def make_firm(repo: Repositories, owner_id: int, national_id: str):
    await repo.users.ensure(user_id=owner_id, language="fa", first_name=None)
    estates = await repo.estates.in_province(8)
    if not estates:
        await repo.estates.add(province_id=8, name="شهرک صنعتی عباس‌آباد", kind="estate")
        estates = await repo.estates.in_province(8)
    return await repo.firms.save(owner_id=owner_id, fields={
        "name": f"firm {owner_id}", "national_id": national_id, "province_id": 8,
        "estate_id": estates[0].id, "cluster_id": None, "sector": "C", "employees": 12,
        "founded_year": 1390, "phone": "+989120000000", "consent_public": True,
    })


async def test_submission_start_is_idempotent(db: Database) -> None:
    async with db.transaction() as repo:
        firm = await make_firm(repo, 1, "10380284790")
        rnd = await make_round(repo, "open")
        first = await repo.submissions.start(round_id=rnd.id, firm_id=firm.id, cursor="q1")
        await repo.submissions.move(submission_id=first.id, cursor="q3")
        again = await repo.submissions.start(round_id=rnd.id, firm_id=firm.id, cursor="q1")
        count = await repo.submissions._scalar("SELECT COUNT(*) FROM submissions")
    assert again.id == first.id
    assert again.cursor == "q3"  # a second start does not rewind the owner
    assert first.status == "draft" and first.active is True
    assert count == 1


async def test_move_set_pending_and_submit(db: Database) -> None:
    async with db.transaction() as repo:
        firm = await make_firm(repo, 1, "10380284790")
        rnd = await make_round(repo, "open")
        sub = await repo.submissions.start(round_id=rnd.id, firm_id=firm.id, cursor="q1")

        await repo.submissions.set_pending(submission_id=sub.id, qid="q2", value=["a", "ب"])
        pending = await repo.submissions.get(sub.id)
        assert pending.pending == {"qid": "q2", "value": ["a", "ب"]}

        await repo.submissions.move(submission_id=sub.id, cursor="q5", active=False)
        moved = await repo.submissions.get(sub.id)
        assert (moved.cursor, moved.pending, moved.active) == ("q5", None, False)

        await repo.submissions.move(submission_id=sub.id, cursor="review")
        await repo.submissions.submit(sub.id, free_text=())
        done = await repo.submissions.get(sub.id)
        assert done.status == "submitted"
        assert done.cursor is None and done.active is False
        assert done.submitted_at is not None

        # Submitting twice changes nothing.
        await repo.submissions.submit(sub.id, free_text=())
        assert (await repo.submissions.get(sub.id)).submitted_at == done.submitted_at


async def test_active_cursors_only_for_open_rounds_and_active_drafts(db: Database) -> None:
    async with db.transaction() as repo:
        firms = [await make_firm(repo, uid, f"firm-{uid}") for uid in (1, 2, 3, 4)]
        old = await make_round(repo, "closed", "old")
        current = await make_round(repo, "open", "current")
        # Owner 1: a draft in the open round, on screen → listed.
        s1 = await repo.submissions.start(round_id=current.id, firm_id=firms[0].id, cursor="q1")
        await repo.submissions.move(submission_id=s1.id, cursor="q4")
        # Owner 2: stepped out to the menu → not listed.
        s2 = await repo.submissions.start(round_id=current.id, firm_id=firms[1].id, cursor="q1")
        await repo.submissions.set_active(submission_id=s2.id, active=False)
        # Owner 3: submitted → not listed.
        s3 = await repo.submissions.start(round_id=current.id, firm_id=firms[2].id, cursor="q1")
        await repo.submissions.submit(s3.id, free_text=())
        # Owner 4: an active draft, but of a closed round → not listed.
        await repo.submissions.start(round_id=old.id, firm_id=firms[3].id, cursor="q2")
        assert await repo.submissions.active_cursors() == {1: "q4"}

        await repo.rounds.close(current.id)
        assert await repo.submissions.active_cursors() == {}


async def test_one_submission_per_firm_and_round(db: Database) -> None:
    async with db.transaction() as repo:
        firm = await make_firm(repo, 1, "10380284790")
        rnd = await make_round(repo, "open")
        sub = await repo.submissions.start(round_id=rnd.id, firm_id=firm.id, cursor="q1")
    with pytest.raises(sqlite3.IntegrityError):
        async with db.transaction() as repo:
            await repo.conn.execute(
                "INSERT INTO submissions (round_id, firm_id, status, started_at, updated_at)"
                " VALUES (?, ?, 'draft', 'x', 'x')", (rnd.id, firm.id),
            )
    assert sub.id == 1


async def test_answers_put_overwrites(db: Database) -> None:
    async with db.transaction() as repo:
        firm = await make_firm(repo, 1, "10380284790")
        rnd = await make_round(repo, "open")
        sub = await repo.submissions.start(round_id=rnd.id, firm_id=firm.id, cursor="q1")
        await repo.answers.put(submission_id=sub.id, qid="q1", value=3)
        await repo.answers.put(submission_id=sub.id, qid="q2", value=["a", "b"])
        await repo.answers.put(submission_id=sub.id, qid="q1", value=5)
        await repo.answers.put(submission_id=sub.id, qid="q3", value="متن آزاد")
        assert await repo.answers.all(sub.id) == {"q1": 5, "q2": ["a", "b"], "q3": "متن آزاد"}
        rows = await repo.answers._scalar(
            "SELECT COUNT(*) FROM answers WHERE submission_id = ?", (sub.id,)
        )
        assert rows == 3
        await repo.answers.delete(submission_id=sub.id, qid="q2")
        assert await repo.answers.all(sub.id) == {"q1": 5, "q3": "متن آزاد"}
