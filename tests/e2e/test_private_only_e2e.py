"""Khooshe answers in private chats only: in a group nothing privileged or personal is ever
posted, one short note points to the private chat."""

from __future__ import annotations

import uuid

from bot.emulator import FakeBotApi
from tests.support.factories import add_firm
from tests.support.khooshe import ADMIN_ID, Khooshe

GROUP = -100200300


async def group_texts(api: FakeBotApi) -> list[str]:
    return [m.text for m in api.messages(GROUP)]


async def test_a_button_pressed_in_a_group_is_answered_with_the_note(khooshe: Khooshe, api: FakeBotApi) -> None:
    owner = khooshe.user(3502)
    api.group(GROUP)
    await api.say_in_group(GROUP, owner, "/start")
    await owner.settle(0.5)
    [note] = api.messages(GROUP)
    press_id = f"group-{uuid.uuid4().hex}"
    api.callback_queries[press_id] = {"id": press_id, "user_id": owner.id, "answered": False,
                                           "data": "m:profile", "message_id": note.message_id}
    await api.push_update({"callback_query": {"id": press_id, "from": owner.user_json(),
                                              "message": api.message_json(note), "chat_instance": "g",
                                              "data": "m:profile"}})
    answer = await owner.wait_for(lambda e: e.event == "answer")
    assert "گفت‌وگوی خصوصی" in answer.text and answer.show_alert
    assert len(api.messages(GROUP)) == 1


async def test_profile_in_a_group_posts_only_the_note(khooshe: Khooshe, api: FakeBotApi) -> None:
    await add_firm(khooshe.db, 3501, name="Group Firm")
    owner = khooshe.user(3501)
    api.group(GROUP)
    await api.say_in_group(GROUP, owner, "/profile")
    await api.say_in_group(GROUP, owner, "/export")
    await owner.settle(0.5)
    async with khooshe.db.read() as repo:
        firm = await repo.firms.by_owner(3501)
    assert firm is not None
    texts = await group_texts(api)
    assert len(texts) == 1  # one note for the group, not one per command
    assert "/khooshe_test_bot" in texts[0]
    assert firm.national_id not in texts[0] and firm.phone not in texts[0] and "Group Firm" not in texts[0]
    assert [m for m in api.messages(GROUP) if m.kind == "document"] == []


async def test_an_admins_invite_in_a_group_posts_no_token(khooshe: Khooshe, api: FakeBotApi) -> None:
    admin = khooshe.user(ADMIN_ID)
    api.group(GROUP)
    await api.say_in_group(GROUP, admin, "/invite 1")
    await admin.settle(0.5)
    texts = await group_texts(api)
    assert len(texts) == 1 and "start=" not in texts[0]
    async with khooshe.db.read() as repo:
        assert await repo.access.open_invitations(khooshe.services.clock.now()) == []
