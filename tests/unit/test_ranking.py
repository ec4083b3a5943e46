"""Scoring and ranking a round: ranks, ties, peer statistics, the top list, sensitivity."""

from __future__ import annotations

import json
import random
import sqlite3
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import pytest_asyncio

from bot.domain.questionnaire import Questionnaire, load_questionnaire
from bot.domain.ranking import scoring as ranking_scoring
from bot.domain.ranking.peers import MIN_GROUP
from bot.domain.ranking.ranks import percentiles, percentiles_ordered
from bot.domain.ranking.scoring import score_answers
from bot.domain.ranking.sensitivity import sensitivity
from bot.domain.ranking.weights import round_scores, validate_weights
from bot.domain.scoring import score_submission, weakest
from bot.services import ranking as ranking_service
from bot.services.assessment import reference_year
from bot.services.ranking import score_round, weight_sensitivity
from storage.database import Database
from storage.packed_answers import GS
from storage.packed_rounds import split_joined, split_text
from storage.repositories.ranking import RankingRepository
from tests.support.answers import random_answers
from tests.support.clock import TEST_NOW
from tests.support.factories import FREE_TEXT

NOW = TEST_NOW.isoformat()
TECH_ONLY = {"tech": 1.0}

# Answers of a services firm (sector G: T5, T6, T8, Q3, Q4 do not apply) to everything but tech.
OTHER = {
    "Q1": "yes", "Q2": ["iso9001"], "Q5": "no",
    "E1": [100, 0, 0], "E2": "none", "E3": 0, "E4": "no", "E5": "no",
    "I1": "yes", "I2": "no", "I3": "no", "I4": 10, "I5": "no",
    "P1": ["power"], "P2": "power",
}


def tech_answers(composite: float) -> dict[str, Any]:
    """Answers whose tech dimension (the composite under TECH_ONLY) is ``composite`` (a whole
    number from 0 to 100), for a services firm: 7 tech questions; each of the first six scores 100
    or 0 (switched off in the order T9, T2, T1, T7, T4, T3), T10 fills the remainder."""
    fixed = {"T1": "yes", "T2": "yes", "T3": ["own_site", "marketplace", "social"], "T4": "erp",
             "T7": "online_gateway", "T9": "yes"}
    worst = [("T9", "no"), ("T2", "no"), ("T1", "no"), ("T7", "cash_cheque"), ("T4", "paper"), ("T3", ["none"])]
    rest = round(7 * composite) - 600
    while rest < 0:
        qid, value = worst.pop(0)
        fixed[qid] = value
        rest += 100
    assert 0 <= rest <= 100
    return {**fixed, "T10": rest, **OTHER}


@pytest_asyncio.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(tmp_path / "ranking.db")
    await database.connect()
    async with database.transaction() as repo:
        conn = repo.conn
        for eid, pid in [(1, 1), (2, 1), (3, 2), (4, 3)]:
            await conn.execute(
                "INSERT INTO estates (id, province_id, name, kind) VALUES (?, ?, ?, 'estate')",
                (eid, pid, f"estate {eid}"),
            )
        for cid, pid in [(1, 1), (2, 2)]:
            await conn.execute(
                "INSERT INTO clusters (id, province_id, name) VALUES (?, ?, ?)", (cid, pid, f"cluster {cid}")
            )
    yield database
    await database.close()


async def make_round(db: Database, weights: dict[str, float] | None = None) -> int:
    async with db.transaction() as repo:
        now = TEST_NOW
        created = await repo.rounds.create(
            title="R", questionnaire_version=1, opens_at=now - timedelta(days=30),
            closes_at=now - timedelta(days=1), state="closed", weights=weights,
        )
    return created.id


async def add_firm(
    db: Database, fid: int, *, estate: int, cluster: int | None = None, sector: str = "G",
    consent: bool = True,
) -> None:
    async with db.transaction() as repo:
        conn = repo.conn
        async with conn.execute("SELECT province_id FROM estates WHERE id = ?", (estate,)) as cur:
            (province,) = await cur.fetchone()
        await conn.execute("INSERT INTO users (id, created_at) VALUES (?, ?)", (fid, NOW))
        await conn.execute(
            "INSERT INTO firms (id, owner_id, name, national_id, province_id, estate_id, cluster_id,"
            " sector, employees, founded_year, phone, consent_public, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 10, 1390, '0912', ?, ?, ?)",
            (fid, fid, f"firm {fid}", f"{fid:010d}", province, estate, cluster, sector, int(consent), NOW, NOW),
        )


async def submit(
    db: Database, round_id: int, fid: int, answers: dict[str, Any], status: str = "submitted",
    *, packed: bool = False,
) -> int:
    """Stores a submission with its answers.  By default it is written directly with its status
    and no packed copy (as before migration 0003: the ranking reads the answers table); with
    ``packed`` it is submitted through ``SubmissionRepository.submit`` (which packs it)."""
    async with db.transaction() as repo:
        conn = repo.conn
        async with conn.execute(
            "INSERT INTO submissions (round_id, firm_id, status, active, started_at, updated_at)"
            " VALUES (?, ?, ?, 0, ?, ?)",
            (round_id, fid, "draft" if packed else status, NOW, NOW),
        ) as cur:
            sid = cur.lastrowid
        for qid, value in answers.items():
            await repo.answers.put(submission_id=sid, qid=qid, value=value)
        if packed and status == "submitted":
            await repo.submissions.submit(sid, free_text=FREE_TEXT)
    return sid


async def firm_with(db: Database, round_id: int, fid: int, composite: float, **kw: Any) -> None:
    await add_firm(db, fid, **kw)
    await submit(db, round_id, fid, tech_answers(composite))


async def scores_by_firm(db: Database, round_id: int) -> dict[int, Any]:
    async with db.read() as repo:
        return {fid: await repo.scores.for_firm(round_id, fid) for fid in await repo.scores.firm_ids(round_id)}


# ---------------------------------------------------------------------------------------------


async def test_ties_use_competition_ranking(db: Database) -> None:
    rid = await make_round(db, TECH_ONLY)
    for fid, composite in [(1, 90), (2, 80), (3, 80), (4, 70)]:
        await firm_with(db, rid, fid, composite, estate=1, cluster=1)
    summary = await score_round(db, rid)
    assert (summary.scored, summary.incomplete, summary.invalid) == (4, 0, 0)
    rows = await scores_by_firm(db, rid)
    assert [rows[f].composite for f in (1, 2, 3, 4)] == [90.0, 80.0, 80.0, 70.0]
    for scope in ("estate", "cluster", "province", "nation"):
        assert [getattr(rows[f], f"rank_{scope}") for f in (1, 2, 3, 4)] == [1, 2, 2, 4], scope
        assert {getattr(rows[f], f"size_{scope}") for f in (1, 2, 3, 4)} == {4}, scope
    # 100 × (other firms strictly lower) / (firms − 1)
    assert [rows[f].percentile for f in (1, 2, 3, 4)] == pytest.approx([100.0, 100 / 3, 100 / 3, 0.0])
    assert rows[1].dimensions["tech"] == 90.0 and set(rows[1].dimensions) == {"tech", "quality", "export", "innovation"}
    assert rows[1].weakest == ["T10"]  # only tech counts; T10 (30%) is its one answer below 100
    assert rows[4].weakest == ["T2", "T9", "T10"]  # T2 and T9 "no" (ties: questionnaire order)


async def test_float_noise_ties(db: Database) -> None:
    """Equal composites reached by different float paths tie (stored rounded to 6 places)."""
    rid = await make_round(db, {"tech": 1.0, "innovation": 2.0})
    await add_firm(db, 1, estate=1)
    await add_firm(db, 2, estate=1)
    a = tech_answers(80)
    b = {**tech_answers(90), "I1": "no", "I4": 0}
    q = load_questionnaire(1)
    ca = score_submission(q, a, sector="G", reference_year=1404, weights={"tech": 1.0, "innovation": 2.0}).composite
    cb = score_submission(q, b, sector="G", reference_year=1404, weights={"tech": 1.0, "innovation": 2.0}).composite
    await submit(db, rid, 1, a)
    await submit(db, rid, 2, b)
    await score_round(db, rid)
    rows = await scores_by_firm(db, rid)
    assert rows[1].composite == round_scores(ca) and rows[2].composite == round_scores(cb)
    if round_scores(ca) == round_scores(cb):
        assert rows[1].rank_nation == rows[2].rank_nation == 1


async def test_single_firm_percentile_is_100(db: Database) -> None:
    rid = await make_round(db, TECH_ONLY)
    await firm_with(db, rid, 1, 75, estate=1)
    await score_round(db, rid)
    row = (await scores_by_firm(db, rid))[1]
    assert (row.rank_nation, row.size_nation, row.percentile) == (1, 1, 100.0)
    assert row.rank_cluster is None and row.size_cluster is None


async def test_peer_stats_only_for_groups_of_five(db: Database) -> None:
    rid = await make_round(db, TECH_ONLY)
    # estate 1 (province 1): five firms; estate 3 (province 2): four firms; cluster 1: three.
    five = [(1, 90), (2, 80), (3, 80), (4, 70), (5, 60)]
    for fid, c in five:
        await firm_with(db, rid, fid, c, estate=1, cluster=1 if fid <= 3 else None)
    for fid, c in [(6, 100), (7, 95), (8, 85), (9, 75)]:
        await firm_with(db, rid, fid, c, estate=3)
    await score_round(db, rid)
    async with db.read() as repo:
        estate1 = await repo.scores.peers_for(rid, "estate", 1)
        assert set(estate1) == {"composite", "tech", "quality", "export", "innovation"}
        comp = estate1["composite"]
        assert (comp.n, comp.median, comp.mean) == (5, 80.0, pytest.approx(76.0))
        assert estate1["tech"].median == 80.0
        assert await repo.scores.peers_for(rid, "estate", 3) == {}
        assert await repo.scores.peer(rid, "province", 2, "composite") is None
        assert (await repo.scores.peer(rid, "province", 1, "composite")).n == 5
        assert await repo.scores.peers_for(rid, "cluster", 1) == {}
        nation = await repo.scores.peer(rid, "nation", 0, "composite")
        values = sorted([90, 80, 80, 70, 60, 100, 95, 85, 75])
        assert (nation.n, nation.median, nation.mean) == (9, 80.0, pytest.approx(sum(values) / 9))
    assert MIN_GROUP == 5


async def test_even_group_median(db: Database) -> None:
    rid = await make_round(db, TECH_ONLY)
    for fid, c in [(1, 90), (2, 80), (3, 75), (4, 70), (5, 60), (6, 59)]:
        await firm_with(db, rid, fid, c, estate=1)
    await score_round(db, rid)
    async with db.read() as repo:
        stat = await repo.scores.peer(rid, "estate", 1, "composite")
    assert (stat.n, stat.median, stat.mean) == (6, 72.5, pytest.approx(434 / 6))


async def test_cluster_ranks_only_for_cluster_members(db: Database) -> None:
    rid = await make_round(db, TECH_ONLY)
    await firm_with(db, rid, 1, 90, estate=1)
    await firm_with(db, rid, 2, 80, estate=1, cluster=1)
    await firm_with(db, rid, 3, 70, estate=2, cluster=1)
    await firm_with(db, rid, 4, 60, estate=3, cluster=2)
    await score_round(db, rid)
    rows = await scores_by_firm(db, rid)
    assert (rows[1].rank_cluster, rows[1].size_cluster, rows[1].cluster_id) == (None, None, None)
    assert [(rows[f].rank_cluster, rows[f].size_cluster) for f in (2, 3, 4)] == [(1, 2), (2, 2), (1, 1)]
    assert [(rows[f].rank_estate, rows[f].size_estate) for f in (1, 2, 3, 4)] == [(1, 2), (2, 2), (1, 1), (1, 1)]
    assert [(rows[f].rank_province, rows[f].size_province) for f in (1, 2, 3, 4)] == [(1, 3), (2, 3), (3, 3), (1, 1)]
    assert [rows[f].rank_nation for f in (1, 2, 3, 4)] == [1, 2, 3, 4]


async def test_incomplete_and_drafts_are_not_scored(db: Database) -> None:
    rid = await make_round(db, TECH_ONLY)
    await firm_with(db, rid, 1, 90, estate=1)
    await add_firm(db, 2, estate=1)
    incomplete = tech_answers(80)
    del incomplete["Q1"]
    await submit(db, rid, 2, incomplete)
    await add_firm(db, 3, estate=1)
    await submit(db, rid, 3, tech_answers(70), status="draft")
    await add_firm(db, 4, estate=1)  # optional P3 missing is fine; T5 is not asked of services
    await submit(db, rid, 4, {**tech_answers(60), "P3": "متن"})
    summary = await score_round(db, rid)
    assert (summary.scored, summary.incomplete) == (2, 1)
    async with db.read() as repo:
        assert await repo.scores.firm_ids(rid) == [1, 4]
        assert await repo.scores.count(rid) == 2
        assert await repo.scores.for_firm(rid, 2) is None


async def test_production_firm_needs_production_questions(db: Database) -> None:
    rid = await make_round(db)
    await add_firm(db, 1, estate=1, sector="C")
    await submit(db, rid, 1, tech_answers(80))  # no T5, T6, T8, Q3, Q4
    await add_firm(db, 2, estate=1, sector="C")
    answers = {**tech_answers(80), "T5": "mes", "T6": "spc", "T8": 40, "Q3": "not_applicable", "Q4": "yes"}
    await submit(db, rid, 2, answers)
    summary = await score_round(db, rid)
    assert (summary.scored, summary.incomplete) == (1, 1)
    q = load_questionnaire(1)
    expected = score_submission(q, answers, sector="C", reference_year=1404)
    row = (await scores_by_firm(db, rid))[2]
    assert row.composite == round_scores(expected.composite)
    assert row.weakest == weakest(q, expected, 3)


async def test_invalid_answer_is_skipped(db: Database) -> None:
    rid = await make_round(db)
    await firm_with(db, rid, 1, 90, estate=1)
    await add_firm(db, 2, estate=1)
    await submit(db, rid, 2, {**tech_answers(80), "T4": "abacus"})
    summary = await score_round(db, rid)
    assert (summary.scored, summary.incomplete, summary.invalid) == (1, 0, 1)


async def test_rerun_is_idempotent(db: Database) -> None:
    rid = await make_round(db, TECH_ONLY)
    for fid, c in [(1, 90), (2, 80), (3, 80), (4, 70), (5, 66), (6, 61)]:
        await firm_with(db, rid, fid, c, estate=1 + fid % 2, cluster=1 if fid % 3 else None)

    async def dump() -> tuple[list[Any], list[Any]]:
        async with db.read() as repo:
            async with repo.conn.execute("SELECT * FROM scores ORDER BY firm_id") as cur:
                scores = [tuple(r) for r in await cur.fetchall()]
            async with repo.conn.execute("SELECT * FROM peer_stats ORDER BY scope, scope_id, metric") as cur:
                peers = [tuple(r) for r in await cur.fetchall()]
        return scores, peers

    first = await score_round(db, rid)
    before = await dump()
    second = await score_round(db, rid)
    assert (first.scored, first.incomplete) == (second.scored, second.incomplete) == (6, 0)
    assert await dump() == before
    assert len(before[0]) == 6 and before[1]


async def test_rescore_after_changes_matches_a_first_scoring(db: Database) -> None:
    """Re-scoring replaces the rows, dropping those of firms no longer scored: the result is
    exactly what scoring the changed round from nothing stores."""
    rid = await make_round(db, TECH_ONLY)
    for fid, c in [(1, 90), (2, 80), (3, 80), (4, 70), (5, 66), (6, 61), (7, 55)]:
        await firm_with(db, rid, fid, c, estate=1 + fid % 2, cluster=1 if fid % 3 else None)
    await score_round(db, rid)
    async with db.transaction() as repo:  # firm 2 withdraws, firm 8 joins, firm 5 moves
        await repo.conn.execute("UPDATE submissions SET status = 'draft' WHERE firm_id = 2")
        await repo.conn.execute("UPDATE firms SET estate_id = 3, province_id = 2, cluster_id = NULL WHERE id = 5")
    await firm_with(db, rid, 8, 95, estate=1, cluster=2)

    async def dump() -> tuple[list[Any], list[Any]]:
        async with db.read() as repo:
            async with repo.conn.execute("SELECT * FROM scores ORDER BY firm_id") as cur:
                scores = [tuple(r) for r in await cur.fetchall()]
            async with repo.conn.execute("SELECT * FROM peer_stats ORDER BY scope, scope_id, metric") as cur:
                peers = [tuple(r) for r in await cur.fetchall()]
        return scores, peers

    assert (await score_round(db, rid)).scored == 7
    rescored = await dump()
    async with db.transaction() as repo:
        await repo.conn.execute("DELETE FROM score_rows WHERE round_id = ?", (rid,))
        await repo.conn.execute("DELETE FROM peer_stats WHERE round_id = ?", (rid,))
        await repo.conn.execute("UPDATE rounds SET score_generation = NULL WHERE id = ?", (rid,))
    await score_round(db, rid)
    assert await dump() == rescored
    by_firm = await scores_by_firm(db, rid)
    assert sorted(by_firm) == [1, 3, 4, 5, 6, 7, 8]
    assert by_firm[8].rank_nation == 1 and by_firm[1].rank_nation == 2
    assert (by_firm[5].estate_id, by_firm[5].cluster_id, by_firm[5].rank_cluster) == (3, None, None)
    assert by_firm[4].cluster_id == 1 and by_firm[4].size_nation == 7


async def dump_results(db: Database, round_id: int) -> tuple[list[Any], list[Any]]:
    """What readers see of the round: its scores rows and peer statistics."""
    async with db.read() as repo:
        async with repo.conn.execute(
            "SELECT * FROM scores WHERE round_id = ? ORDER BY firm_id", (round_id,)) as cur:
            scores = [tuple(r) for r in await cur.fetchall()]
        async with repo.conn.execute(
            "SELECT * FROM peer_stats WHERE round_id = ? ORDER BY scope, scope_id, metric", (round_id,)
        ) as cur:
            peers = [tuple(r) for r in await cur.fetchall()]
    return scores, peers


async def stored_rows(db: Database) -> int:
    async with db.read() as repo, repo.conn.execute("SELECT count(*) FROM score_rows") as cur:
        row = await cur.fetchone()
    assert row is not None
    return int(row[0])


async def test_rescoring_keeps_only_the_published_rows(db: Database) -> None:
    rid = await make_round(db, TECH_ONLY)
    for fid, c in [(1, 90), (2, 80), (3, 70)]:
        await firm_with(db, rid, fid, c, estate=1)
    for _ in range(3):
        await score_round(db, rid)
    assert await stored_rows(db) == 3


async def test_readers_see_the_previous_results_whole_while_a_rescore_is_written(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    rid = await make_round(db, TECH_ONLY)
    for fid, c in [(1, 90), (2, 80), (3, 70), (4, 66), (5, 61), (6, 55)]:
        await firm_with(db, rid, fid, c, estate=1)
    await score_round(db, rid)
    before = await dump_results(db, rid)
    await firm_with(db, rid, 7, 99, estate=1)  # the rescore changes every rank
    monkeypatch.setattr(ranking_service, "CHUNK", 2)
    seen = []
    write = RankingRepository.write

    async def watched_write(self: RankingRepository, *args: Any) -> int:
        seen.append(await dump_results(db, rid))  # earlier chunks are committed by now
        return await write(self, *args)

    monkeypatch.setattr(RankingRepository, "write", watched_write)
    await score_round(db, rid)
    assert len(seen) == 4
    assert all(view == before for view in seen)
    after = await dump_results(db, rid)
    assert [row[1] for row in after[0]] == [1, 2, 3, 4, 5, 6, 7]


async def test_a_scoring_that_gives_up_leaves_the_published_results(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    rid = await make_round(db, TECH_ONLY)
    for fid, c in [(1, 90), (2, 80), (3, 70)]:
        await firm_with(db, rid, fid, c, estate=1)
    await score_round(db, rid)
    before = await dump_results(db, rid)
    await firm_with(db, rid, 4, 99, estate=1)

    async def always_changed(self: RankingRepository, round_id: int) -> int:
        return -1  # as if a submission arrived during every attempt

    monkeypatch.setattr(RankingRepository, "fingerprint", always_changed)
    with pytest.raises(RuntimeError, match="kept changing"):
        await score_round(db, rid)
    assert await dump_results(db, rid) == before
    assert await stored_rows(db) == 3


async def test_pruning_in_small_chunks_reaches_every_older_generation(db: Database) -> None:
    """Leftovers of two runs that never published, and the results a rescore replaced, all go,
    however the chunks fall across generations; the published rows stay."""
    rid = await make_round(db, TECH_ONLY)
    for fid, c in [(1, 90), (2, 80), (3, 70)]:
        await firm_with(db, rid, fid, c, estate=1)
    await score_round(db, rid)  # generation 1, published
    async with db.transaction() as repo:
        for generation in (2, 3):  # runs that wrote some rows and stopped
            await repo.conn.execute(
                "INSERT INTO score_rows SELECT round_id, ?, firm_id, estate_id, cluster_id,"
                " province_id, dimensions, composite, weakest, rank_estate, size_estate, rank_cluster,"
                " size_cluster, rank_province, size_province, rank_nation, size_nation, percentile"
                " FROM score_rows WHERE round_id = ? AND generation = 1 AND firm_id <= ?",
                (generation, rid, generation - 1),
            )
        await repo.conn.execute("UPDATE rounds SET score_generations = 3 WHERE id = ?", (rid,))
    await score_round(db, rid)  # generation 4 replaces 1 and prunes 1 to 3
    assert await stored_rows(db) == 3
    async with db.read() as repo, repo.conn.execute(
        "SELECT DISTINCT generation FROM score_rows WHERE round_id = ?", (rid,)
    ) as cur:
        assert [r[0] for r in await cur.fetchall()] == [4]


async def test_prune_deletes_at_most_its_limit_across_generations(db: Database) -> None:
    rid = await make_round(db, TECH_ONLY)
    for fid, c in [(1, 90), (2, 80), (3, 70)]:
        await firm_with(db, rid, fid, c, estate=1)
    await score_round(db, rid)
    await score_round(db, rid)  # generation 2 published
    async with db.transaction() as repo:
        await repo.conn.execute(
            "INSERT INTO score_rows SELECT round_id, generation - 1, firm_id, estate_id, cluster_id,"
            " province_id, dimensions, composite, weakest, rank_estate, size_estate, rank_cluster,"
            " size_cluster, rank_province, size_province, rank_nation, size_nation, percentile"
            " FROM score_rows WHERE round_id = ?", (rid,),
        )  # generation 1 again: 3 rows to prune
        await repo.conn.execute(
            "INSERT INTO score_rows SELECT round_id, 0, firm_id, estate_id, cluster_id,"
            " province_id, dimensions, composite, weakest, rank_estate, size_estate, rank_cluster,"
            " size_cluster, rank_province, size_province, rank_nation, size_nation, percentile"
            " FROM score_rows WHERE round_id = ? AND generation = 2", (rid,),
        )  # and generation 0: 3 more
    deleted = []
    for _ in range(4):
        async with db.transaction() as repo:
            deleted.append(await repo.ranking.prune(rid, below=2, limit=4))
    assert deleted == [4, 2, 0, 0]
    assert await stored_rows(db) == 3


async def test_a_deleted_firm_takes_its_score_rows_with_it(db: Database) -> None:
    rid = await make_round(db, TECH_ONLY)
    for fid, c in [(1, 90), (2, 80)]:
        await firm_with(db, rid, fid, c, estate=1)
    await score_round(db, rid)
    async with db.transaction() as repo:
        await repo.conn.execute("DELETE FROM firms WHERE id = 2")
    async with db.read() as repo:
        assert await repo.scores.firm_ids(rid) == [1]
    assert await stored_rows(db) == 1


async def test_a_round_with_score_rows_cannot_be_deleted(db: Database) -> None:
    rid = await make_round(db, TECH_ONLY)
    await add_firm(db, 1, estate=1)
    async with db.transaction() as repo:  # rows without submissions, so only they hold the round
        await repo.conn.execute(
            "INSERT INTO score_rows (round_id, generation, firm_id, estate_id, province_id, dimensions,"
            " composite) VALUES (?, 1, 1, 1, 1, '{}', 50.0)", (rid,),
        )
    with pytest.raises(sqlite3.IntegrityError):
        async with db.transaction() as repo:
            await repo.conn.execute("DELETE FROM rounds WHERE id = ?", (rid,))
    assert await stored_rows(db) == 1


async def test_a_submission_arriving_while_scoring_makes_the_run_start_over(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    rid = await make_round(db, TECH_ONLY)
    for fid, c in [(1, 90), (2, 80), (3, 70)]:
        await firm_with(db, rid, fid, c, estate=1)
    await add_firm(db, 4, estate=1)
    load = RankingRepository.load
    loads = []

    async def load_then_a_late_submission(self: RankingRepository, round_id: int) -> Any:
        loaded = await load(self, round_id)
        loads.append(loaded[0].count)
        if len(loads) == 1:  # committed while the first attempt's snapshot is open
            await submit(db, rid, 4, tech_answers(99))
        return loaded

    monkeypatch.setattr(RankingRepository, "load", load_then_a_late_submission)
    summary = await score_round(db, rid)
    assert (loads, summary.scored) == ([3, 4], 4)


async def submitted_changes(db: Database, round_id: int) -> int:
    async with db.read() as repo:
        return await repo.ranking.fingerprint(round_id)


async def test_only_changes_to_submitted_submissions_move_the_fingerprint(db: Database) -> None:
    rid = await make_round(db, TECH_ONLY)
    await add_firm(db, 1, estate=1)
    sid = await submit(db, rid, 1, tech_answers(80), status="draft")
    async with db.transaction() as repo:
        await repo.submissions.move(submission_id=sid, cursor="T2")
    assert await submitted_changes(db, rid) == 0
    async with db.transaction() as repo:
        await repo.submissions.submit(sid, free_text=FREE_TEXT)
    after_submit = await submitted_changes(db, rid)
    async with db.transaction() as repo:
        await repo.submissions.set_active(submission_id=sid, active=False)
    assert (after_submit > 0, await submitted_changes(db, rid) > after_submit) == (True, True)


async def test_top_extends_over_ties_and_names_only_consenting(db: Database) -> None:
    rid = await make_round(db)
    ranks = [*range(1, 99), 99, 99, 99, 102]
    async with db.transaction() as repo:
        conn = repo.conn
        for fid, rank in enumerate(ranks, start=1):
            await conn.execute("INSERT INTO users (id, created_at) VALUES (?, ?)", (fid, NOW))
            await conn.execute(
                "INSERT INTO firms (id, owner_id, name, national_id, province_id, estate_id, sector,"
                " employees, founded_year, phone, consent_public, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, 1, 1, 'C', 5, 1390, '0912', ?, ?, ?)",
                (fid, fid, f"firm {fid}", f"{fid:010d}", fid % 2, NOW, NOW),
            )
            await conn.execute(
                "INSERT INTO score_rows (round_id, generation, firm_id, estate_id, province_id,"
                " dimensions, composite, rank_nation, size_nation) VALUES (?, 1, ?, 1, 1, '{}', ?, ?, 102)",
                (rid, fid, 200.0 - rank, rank),
            )
        await conn.execute("UPDATE rounds SET score_generation = 1 WHERE id = ?", (rid,))
    async with db.read() as repo:
        top, extended = await repo.scores.top(rid, 100)
        assert extended and len(top) == 101
        assert [e.rank for e in top[-3:]] == [99, 99, 99]
        assert all(e.name == (f"firm {e.firm_id}" if e.firm_id % 2 else None) for e in top)
        assert top[0].rank == 1 and top[0].composite == 199.0 and top[0].estate_id == 1
        top, extended = await repo.scores.top(rid, 98)
        assert len(top) == 98 and not extended
        top, extended = await repo.scores.top(rid, 500)
        assert len(top) == 102 and not extended
        assert await repo.scores.top(rid + 1, 100) == ([], False)


async def test_latest_published_for_firm(db: Database) -> None:
    first = await make_round(db, TECH_ONLY)
    second = await make_round(db, TECH_ONLY)
    await firm_with(db, first, 1, 70, estate=1)
    await submit(db, second, 1, tech_answers(90))
    await score_round(db, first)
    await score_round(db, second)
    async with db.transaction() as repo:
        assert await repo.scores.latest_published_for_firm(1) is None
        await repo.conn.execute("UPDATE rounds SET published_at = ? WHERE id = ?", (NOW, first))
    async with db.transaction() as repo:
        assert (await repo.scores.latest_published_for_firm(1)).composite == 70.0
        await repo.conn.execute("UPDATE rounds SET published_at = ? WHERE id = ?", (NOW, second))
    async with db.read() as repo:
        assert (await repo.scores.latest_published_for_firm(1)).round_id == second


# ---------------------------------------------------------------------------------------------
# Weight sensitivity


def test_sensitivity_hand_built() -> None:
    dims = np.array([[100, 0], [0, 100], [50, 50], [60, 0], [70, 70]], dtype=float)
    result = sensitivity(dims, ["a", "b"], {"a": 1.0, "b": 0.0}, {"a": 0.0, "b": 1.0})
    # before: 100, 0, 50, 60, 70 -> ranks 1 5 4 3 2; after: 0, 100, 50, 0, 70 -> 4 1 3 4 2
    assert (result.firms, result.changed, result.max_shift) == (5, 4, 4)
    assert result.mean_shift == pytest.approx((3 + 4 + 1 + 1 + 0) / 5)
    same = sensitivity(dims, ["a", "b"], {"a": 1.0, "b": 1.0}, {"a": 2.0, "b": 2.0})
    assert (same.changed, same.max_shift, same.mean_shift) == (0, 0, 0.0)


async def test_weight_sensitivity_on_a_round(db: Database) -> None:
    rid = await make_round(db, TECH_ONLY)
    for fid, c in [(1, 90), (2, 80), (3, 70)]:
        await firm_with(db, rid, fid, c, estate=1)
    await score_round(db, rid)
    same = await weight_sensitivity(db, rid, {"tech": 5})
    assert (same.firms, same.changed, same.max_shift) == (3, 0, 0)
    # All three answered innovation identically, so innovation alone ties everyone at rank 1.
    flat = await weight_sensitivity(db, rid, {"innovation": 1})
    assert (flat.changed, flat.max_shift) == (2, 2)
    assert flat.base_weights == {"tech": 1.0, "quality": 0.0, "export": 0.0, "innovation": 0.0}
    for bad, message in [
        ({"money": 1}, "unknown dimension 'money'"),
        ({"tech": -1}, "must not be negative"),
        ({"tech": 0, "export": 0}, "positive weight"),
        ({}, "at least one"),
        ({"tech": float("nan")}, "not a number"),
    ]:
        with pytest.raises(ValueError, match=message):
            await weight_sensitivity(db, rid, bad)


def test_validate_weights_defaults() -> None:
    q = load_questionnaire(1)
    assert validate_weights(q, None) == {"tech": 1.0, "quality": 1.0, "export": 1.0, "innovation": 1.0}
    assert validate_weights(q, {"export": 2}) == {"tech": 0.0, "quality": 0.0, "export": 2.0, "innovation": 0.0}


# ---------------------------------------------------------------------------------------------
# The vectorised scorer equals bot.domain.scoring.score_submission


def stored(answers: dict[str, Any]) -> dict[str, str]:
    """The answers as the answers table stores them (question id -> JSON text)."""
    return {k: json.dumps(v, ensure_ascii=False) for k, v in answers.items()}


@pytest.mark.parametrize("weights", [None, {"tech": 1, "quality": 2, "export": 0.5, "innovation": 3}, {"export": 1}])
def test_vectorised_equals_score_submission(weights: dict[str, float] | None) -> None:
    q: Questionnaire = load_questionnaire(1)
    rng = random.Random(7)
    ref = 1404
    sectors, plain = [], []
    for i in range(3000):
        sector = rng.choice(["C", "A", "G", "I", "J", " c10", "Z"])
        answers = random_answers(q, sector, rng, ref, skip=0.03 if i % 3 == 0 else 0.0)
        if i % 7 == 0:  # answers to questions that do not apply are ignored
            answers.setdefault("T5", "mrp")
            answers.setdefault("Q3", "not_applicable")
        if i % 50 == 0:
            answers = {}
        sectors.append(sector)
        plain.append(answers)
    checked = _compare_with_score_submission(q, sectors, plain, ref, weights)
    assert checked > 1500


def test_weakest_questions_picked_block_by_block_equal_score_submission(monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocks of 64 firms (the last one partial) give each firm the weakest questions
    ``score_submission`` gives it."""
    monkeypatch.setattr(ranking_scoring, "WEAKEST_BLOCK", 64)
    q: Questionnaire = load_questionnaire(1)
    rng = random.Random(5)
    sectors = [rng.choice(["C", "A", "G", "J"]) for _ in range(1000)]
    plain = [random_answers(q, sector, rng, 1404) for sector in sectors]
    assert _compare_with_score_submission(q, sectors, plain, 1404, None) > 500


@pytest.mark.parametrize("weights", [None, {"tech": 1, "quality": 2, "export": 0.5, "innovation": 3}])
def test_vectorised_equals_score_submission_with_skip_rules(weights: dict[str, float] | None) -> None:
    q: Questionnaire = load_questionnaire(2)
    rng = random.Random(11)
    ref = 1404
    sectors, plain = [], []
    for i in range(3000):
        sector = rng.choice(["C", "A", "G", "J", "Z"])
        answers = random_answers(q, sector, rng, ref, skip=0.03 if i % 3 == 0 else 0.0)
        if i % 2 == 0:  # no exports: E2 and E3 skipped
            answers["E1"] = [100, 0, 0]
        if i % 5 == 0:  # an answer kept from before its question was skipped does not count
            answers["E2"] = rng.choice([1398, "none"])
            answers["Q2"] = ["iso9001"]
        if i % 10 == 0:  # not even one the question could not take
            answers["E2"] = "1398"
        if i % 4 == 0:
            answers["I1"] = "no"
        if i % 6 == 0:
            answers["P1"] = ["no_problems"]
            answers.pop("P2", None)
        for skipped in q.skipped(sector, answers) if i % 9 == 0 else ():
            answers.pop(skipped, None)
        sectors.append(sector)
        plain.append(answers)
    assert _compare_with_score_submission(q, sectors, plain, ref, weights) > 1000


def _compare_with_score_submission(
    q: Questionnaire, sectors: list[str], plain: list[dict[str, Any]], ref: int,
    weights: dict[str, float] | None,
) -> int:
    """Checks score_answers against score_submission firm by firm; returns how many scored."""
    packed = [stored(a) for a in plain]
    result = score_answers(q, sectors, packed, ref_year=ref, weights=weights)
    dim_ids = [d.id for d in q.scored_dimensions]
    checked = 0
    for i, (sector, answers) in enumerate(zip(sectors, plain, strict=True)):
        expected = score_submission(q, answers, sector=sector, reference_year=ref, weights=weights)
        if expected.composite is None:
            assert not result.ok[i], i
            continue
        checked += 1
        assert result.ok[i], i
        assert result.composite[i] == expected.composite, i  # bit for bit
        got = {d: result.dims[i, k] for k, d in enumerate(dim_ids) if not np.isnan(result.dims[i, k])}
        assert got == expected.dimensions, i
        got_weakest = [q.questions[j].id for j in result.weakest[i] if j >= 0]
        assert got_weakest == weakest(q, expected, 3), i
        qs = {q.questions[j].id: result.question_scores[i, j] for j in range(len(q.questions))
              if not np.isnan(result.question_scores[i, j])}
        assert qs == expected.question_scores, i
    assert result.incomplete.sum() == len(plain) - checked
    return checked


@pytest.mark.parametrize("read_all", [50_000, 0], ids=["values-read-whole", "values-over-the-limit"])
async def test_score_round_matches_score_submission_on_random_firms(
    db: Database, read_all: int, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Alike whether the distinct answers are read whole (a small table) or only the round's."""
    monkeypatch.setattr(ranking_service, "READ_ALL_VALUES", read_all)
    weights = {"tech": 2, "quality": 1, "export": 1, "innovation": 1}
    rid = await make_round(db, weights)
    q = load_questionnaire(1)
    async with db.read() as repo:
        round_ = await repo.rounds.get(rid)
    ref = reference_year(round_)
    rng = random.Random(3)
    expected = {}
    for fid in range(1, 61):
        sector = rng.choice(["C", "G", "A"])
        await add_firm(db, fid, estate=rng.choice([1, 2, 3, 4]), cluster=rng.choice([None, 1]), sector=sector)
        answers = random_answers(q, sector, rng, ref)
        await submit(db, rid, fid, answers)
        expected[fid] = score_submission(q, answers, sector=sector, reference_year=ref, weights=weights)
    summary = await score_round(db, rid)
    assert summary.scored == 60
    rows = await scores_by_firm(db, rid)
    for fid, exp in expected.items():
        assert rows[fid].composite == round_scores(exp.composite)
        assert rows[fid].dimensions == {d: round_scores(v) for d, v in exp.dimensions.items()}
        assert rows[fid].weakest == weakest(q, exp, 3)
    order = sorted(rows.values(), key=lambda r: -r.composite)
    for r in order:
        assert r.rank_nation == 1 + sum(o.composite > r.composite for o in order)


async def packed_state(db: Database, sid: int) -> tuple[bytes | None, str | None]:
    async with db.read() as repo, repo.conn.execute("SELECT packed, packed_text FROM submissions WHERE id = ?", (sid,)) as cur:
        return tuple(await cur.fetchone())


async def test_packed_and_unpacked_submissions_score_alike(db: Database) -> None:
    """Submissions packed at submit time, old ones without a packed copy (answers table), and one
    changed after submitting (its packed copy dropped) are scored exactly as score_submission."""
    weights = {"tech": 1, "quality": 2, "export": 1, "innovation": 0.5}
    rid = await make_round(db, weights)
    q = load_questionnaire(1)
    async with db.read() as repo:
        ref = reference_year(await repo.rounds.get(rid))
    rng = random.Random(11)
    expected, sids = {}, {}
    for fid in range(1, 41):
        sector = rng.choice(["C", "G", "A", "J"])
        await add_firm(db, fid, estate=rng.choice([1, 2, 3, 4]), cluster=rng.choice([None, 1, 2]), sector=sector)
        answers = random_answers(q, sector, rng, ref)
        if fid % 4 == 0:
            answers["P3"] = f"متن آزاد {fid}: برق قطع می‌شود."  # free text stays with the submission
        sids[fid] = await submit(db, rid, fid, answers, packed=fid % 3 != 0)
        expected[fid] = (sector, answers)
    # A packed submission whose answer changes afterwards loses its packed copy.
    assert (await packed_state(db, sids[1]))[0] is not None
    changed = {**expected[1][1], "T1": "no" if expected[1][1]["T1"] == "yes" else "yes"}
    async with db.transaction() as repo:
        await repo.answers.put(submission_id=sids[1], qid="T1", value=changed["T1"])
    expected[1] = (expected[1][0], changed)
    assert await packed_state(db, sids[1]) == (None, None)
    assert (await packed_state(db, sids[3]))[0] is None  # never packed
    packed_four = await packed_state(db, sids[4])
    assert packed_four[0] and packed_four[1] and packed_four[1].startswith("P3\x1f")
    async with db.read() as repo, repo.conn.execute("SELECT COUNT(*) FROM answer_values WHERE qid = 'P3'") as cur:
        assert (await cur.fetchone())[0] == 0

    summary = await score_round(db, rid)
    assert (summary.scored, summary.incomplete, summary.invalid) == (40, 0, 0)
    rows = await scores_by_firm(db, rid)
    for fid, (sector, answers) in expected.items():
        exp = score_submission(q, answers, sector=sector, reference_year=ref, weights=weights)
        assert rows[fid].composite == round_scores(exp.composite), fid
        assert rows[fid].dimensions == {d: round_scores(v) for d, v in exp.dimensions.items()}, fid
        assert rows[fid].weakest == weakest(q, exp, 3), fid

    # Backfilling the old submissions changes nothing.
    async with db.transaction() as repo:
        assert await repo.submissions.pack_round(rid, free_text=FREE_TEXT) == len([f for f in expected if f % 3 == 0]) + 1
    assert (await packed_state(db, sids[3]))[0] is not None
    await score_round(db, rid)
    assert await scores_by_firm(db, rid) == rows


async def test_packed_invalid_and_incomplete(db: Database) -> None:
    rid = await make_round(db, TECH_ONLY)
    await add_firm(db, 1, estate=1)
    await submit(db, rid, 1, tech_answers(90), packed=True)
    await add_firm(db, 2, estate=1)
    await submit(db, rid, 2, {**tech_answers(80), "T4": "abacus"}, packed=True)
    await add_firm(db, 3, estate=1)
    incomplete = tech_answers(70)
    del incomplete["Q1"]
    await submit(db, rid, 3, incomplete, packed=True)
    await add_firm(db, 4, estate=1)
    empty = await submit(db, rid, 4, {}, packed=True)  # no answers at all: an empty packed copy
    assert await packed_state(db, empty) == (b"", None)
    summary = await score_round(db, rid)
    assert (summary.scored, summary.incomplete, summary.invalid) == (1, 2, 1)
    assert (await scores_by_firm(db, rid))[1].composite == 90.0


async def test_empty_round(db: Database) -> None:
    rid = await make_round(db)
    summary = await score_round(db, rid)
    assert (summary.scored, summary.incomplete, summary.invalid) == (0, 0, 0)
    result = await weight_sensitivity(db, rid, {"tech": 1})
    assert (result.firms, result.changed, result.max_shift, result.mean_shift) == (0, 0, 0, 0.0)
    with pytest.raises(ValueError, match="no round"):
        await score_round(db, rid + 1)


@pytest.mark.parametrize("texts", [
    ["", "", ""],
    ["a\x1fx", "", "b\x1fy\x1ec\x1fz"],
    ["", "a\x1f1"],
    ["a\x1f1", ""],
    [""],
    ["a\x1f1\x1eb\x1f\"فارسی\"", "a\x1f1", "", "b\x1f\"فارسی\""],
])
def test_packed_texts_split_from_the_joined_column_as_one_by_one(texts: list[str]) -> None:
    rows, index, values = split_joined(GS.join(texts), len(texts))
    want_rows, want_index, want_values = split_text([t or None for t in texts])
    assert (rows.tolist(), index.tolist(), values) == (want_rows.tolist(), want_index.tolist(), want_values)


def test_percentiles_from_the_order_by_value_equal_the_sorted_ones() -> None:
    rng = np.random.default_rng(7)
    values = np.round(rng.integers(0, 40, 500) * 2.5, 6)  # many ties
    by_value = np.argsort(-values, kind="stable")
    assert percentiles_ordered(values, by_value).tolist() == percentiles(values).tolist()
