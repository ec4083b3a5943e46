"""The round a dashboard or an export shows, and the rounds its buttons offer."""

from __future__ import annotations

from datetime import timedelta

from bot.services.dashboard import ROUND_CHOICES, RoundChoice, choose_round
from storage.database import Database
from tests.support.clock import TEST_NOW

OPEN = "Autumn 1405"  # the seeded open round


async def with_closed_rounds(db: Database, n: int) -> list[int]:
    """``n`` closed rounds before the seeded open one, the oldest first; their ids."""
    ids = []
    async with db.transaction() as repo:
        for i in range(n):
            opened = TEST_NOW - timedelta(days=100 * (n - i))
            created = await repo.rounds.create(title=f"Round {i}", questionnaire_version=1, opens_at=opened,
                                               closes_at=opened + timedelta(days=30), state="closed")
            ids.append(created.id)
    return ids


async def choice(db: Database, round_id: int | None = None) -> RoundChoice:
    async with db.read() as repo:
        chosen = await choose_round(repo, round_id)
    assert chosen is not None
    return chosen


async def test_the_open_round_is_shown_by_default(seeded_db: Database) -> None:
    await with_closed_rounds(seeded_db, 2)
    shown = (await choice(seeded_db)).round
    assert shown is not None and shown.title == OPEN


async def test_the_buttons_offer_the_newest_rounds(seeded_db: Database) -> None:
    await with_closed_rounds(seeded_db, 5)
    offered = [r.title for r in (await choice(seeded_db)).offered]
    assert offered == [OPEN, "Round 4", "Round 3", "Round 2"]


async def test_an_older_round_shown_keeps_its_button(seeded_db: Database) -> None:
    ids = await with_closed_rounds(seeded_db, 5)
    offered = [r.title for r in (await choice(seeded_db, ids[0])).offered]
    assert len(offered) == ROUND_CHOICES and offered[-1] == "Round 0"


async def test_a_single_round_offers_no_buttons(seeded_db: Database) -> None:
    assert (await choice(seeded_db)).offered == []


async def test_the_previous_round_is_the_one_before_the_shown_one(seeded_db: Database) -> None:
    ids = await with_closed_rounds(seeded_db, 3)
    previous = (await choice(seeded_db, ids[2])).previous
    assert previous is not None and previous.id == ids[1]


async def test_an_unscored_round_takes_the_scores_of_the_latest_scored_before_it(seeded_db: Database) -> None:
    ids = await with_closed_rounds(seeded_db, 3)
    async with seeded_db.transaction() as repo:
        await repo.conn.execute("UPDATE rounds SET scored_at = opens_at WHERE id IN (?, ?)", (ids[0], ids[1]))
    scored = (await choice(seeded_db)).scored
    assert scored is not None and scored.id == ids[1]


async def test_a_round_that_never_opened_is_no_choice(seeded_db: Database) -> None:
    async with seeded_db.transaction() as repo:
        planned = await repo.rounds.create(title="Later", questionnaire_version=1, opens_at=TEST_NOW + timedelta(days=60),
                                           closes_at=TEST_NOW + timedelta(days=90), state="scheduled")
    async with seeded_db.read() as repo:
        assert await choose_round(repo, planned.id) is None
