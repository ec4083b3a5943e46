"""Data rights from the settings screen: "my data" sends a JSON file of everything stored about
the user and their firm; "delete my data" removes the firm's personal data after confirmation,
keeps the published aggregates as they were, and lets the user register again."""

from __future__ import annotations

import json

from tests.support.factories import national_id
from tests.support.journeys import register
from tests.support.khooshe import ADMIN_ID, Khooshe
from tests.support.scenarios import NOTE, OWNERS

OWNER = OWNERS[2]  # consenting, the strongest firm, wrote a note


async def open_settings(khooshe: Khooshe, user_id: int):  # type: ignore[no-untyped-def]
    user = khooshe.user(user_id)
    await user.settle()
    await user.send("/settings")
    await user.wait_for("یادآوری")
    return user


async def test_my_data_is_a_json_file_of_everything(published: tuple[Khooshe, int]) -> None:
    khooshe, round_id = published
    user = await open_settings(khooshe, OWNER)
    await user.press("📦 داده‌های من")
    doc = await user.wait_for(lambda e: e.is_message and e.kind == "document")
    assert doc.file_name == "khooshe-my-data.json" and doc.data is not None
    data = json.loads(doc.data.decode("utf-8"))
    assert data["user"]["id"] == OWNER
    assert data["firm"]["name"] == f"بنگاه شماره {OWNER}"
    assert data["firm"]["national_id"] == national_id(OWNER)
    assert data["firm"]["phone"]
    [submission] = data["submissions"]
    assert submission["round_id"] == round_id and submission["status"] == "submitted"
    assert submission["answers"]["P3"] == NOTE and submission["answers"]["T4"] == "erp"
    [score] = data["scores"]
    assert score["rank_estate"] == 1 and set(score["dimensions"]) == {"tech", "quality", "export", "innovation"}
    assert sorted(m["kind"] for m in data["messages"]) == ["chart", "summary"]
    assert all("chat_id" not in m for m in data["messages"])
    async with khooshe.db.read() as repo:
        entries = await repo.access.audit_entries(user_id=OWNER)
    assert [e.action for e in entries] == ["my_data"]


async def test_delete_my_data_keeps_published_aggregates(published: tuple[Khooshe, int]) -> None:
    khooshe, round_id = published
    async with khooshe.db.read() as repo:
        firm = await repo.firms.by_owner(OWNER)
        assert firm is not None
        before_peers = await repo.scores.peers_for(round_id, "estate", 1)
        before_nation = await repo.scores.peers_for(round_id, "nation", 0)
        before_score = await repo.scores.for_firm(round_id, firm.id)
        before_count = await repo.scores.count(round_id)
    user = await open_settings(khooshe, OWNER)
    await user.press("🗑 حذف داده‌های من")
    await user.wait_for("برگشت‌پذیر نیست")
    await user.press("✖️ داده‌هایم بماند")
    await user.wait_for("چیزی حذف نشد")
    async with khooshe.db.read() as repo:
        assert await repo.firms.by_owner(OWNER) is not None
    # A forged confirmation is refused.
    await user.press_data("priv:del:forged")
    await user.wait_for(lambda e: e.event == "answer" and "فعال" in e.text)
    async with khooshe.db.read() as repo:
        assert await repo.firms.by_owner(OWNER) is not None

    await user.settle()
    await user.send("/settings")
    await user.wait_for("یادآوری")
    await user.press("🗑 حذف داده‌های من")
    await user.wait_for("برگشت‌پذیر نیست")
    await user.press("🗑 بله، حذف شود")
    await user.wait_for("پاک شد")

    async with khooshe.db.read() as repo:
        assert await repo.firms.by_owner(OWNER) is None
        assert await repo.firms.by_national_id(national_id(OWNER)) is None
        tomb = await repo.firms.by_id(firm.id)
        assert tomb is not None and tomb.name == "" and tomb.phone == "" and not tomb.consent_public
        assert tomb.owner_id < 0
        # Published aggregates read back unchanged.
        assert await repo.scores.count(round_id) == before_count
        assert await repo.scores.peers_for(round_id, "estate", 1) == before_peers
        assert await repo.scores.peers_for(round_id, "nation", 0) == before_nation
        assert await repo.scores.for_firm(round_id, firm.id) == before_score
        sub = await repo.submissions.for_firm(round_id=round_id, firm_id=firm.id)
        assert sub is not None
        answers = await repo.answers.all(sub.id)
        assert "P3" not in answers and answers["T4"] == "erp"
        entries, _ = await repo.scores.top(round_id)
        mine = next(e for e in entries if e.firm_id == firm.id)
        assert mine.name is None
        owners = dict(await repo.scores.owners(round_id))
        assert firm.id not in owners
        audit = await repo.access.audit_entries(user_id=OWNER)
        assert audit[0].action == "delete_my_data" and audit[0].target == "firm:erased"
        assert await repo.firms.count() == 7
    # The dashboard no longer lists the firm, nor its note.
    async with khooshe.db.transaction() as repo:
        await repo.access.add_manager(user_id=7009, estate_id=1, by=ADMIN_ID)
    manager = khooshe.user(7009)
    await manager.send("/dashboard")
    reply = await manager.wait_for("داشبورد")
    assert f"بنگاه شماره {OWNER}" not in reply.text and NOTE not in reply.text

    # My data now holds no firm.
    await user.settle()
    await user.send("/settings")
    await user.wait_for("یادآوری")
    await user.press("📦 داده‌های من")
    doc = await user.wait_for(lambda e: e.is_message and e.kind == "document")
    assert doc.data is not None
    data = json.loads(doc.data.decode("utf-8"))
    assert data["firm"] is None and data["submissions"] == [] and data["user"]["first_name"] is None

    # And the user can register again, even with the same national ID.
    await user.settle()
    await register(user, national_id=national_id(OWNER))
    async with khooshe.db.read() as repo:
        again = await repo.firms.by_owner(OWNER)
    assert again is not None and again.id != firm.id and again.national_id == national_id(OWNER)
