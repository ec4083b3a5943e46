"""A broadcast names its sender to the firms: the management of the estates it goes to, or the
programme for an admin's."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from bot.domain.quiet_hours import QuietHours
from bot.i18n import translator
from bot.services.access import Access
from bot.services.broadcasts import BroadcastService, Sender, TooLong
from storage.database import Database
from tests.support.clock import TEHRAN, TestClock
from tests.support.khooshe import seed


async def sender_of(db: Database, estates: tuple[int, ...], *, admin: bool = False, lang: str = "fa") -> Sender:
    await seed(db, open_round=False)
    service = BroadcastService(db, TestClock(), QuietHours("23:00-07:00", (4,), ZoneInfo("Asia/Tehran")), TEHRAN)
    access = Access(user_id=1, configured_admin=admin, promoted_admin=False, estates=() if admin else estates)
    return await service.sender(access, {"estates": list(estates)}, translator(lang), lang)


async def estate_names(db: Database, ids: range) -> list[str]:
    async with db.read() as repo:
        estates = [await repo.estates.get(i) for i in ids]
    return [e.name for e in estates if e is not None]


async def test_a_managers_notice_comes_from_its_estates_management(db: Database) -> None:
    line = await sender_of(db, (1, 2))
    first, second = await estate_names(db, range(1, 3))
    assert line.plain == f"📢 از طرف مدیریت {first} و {second}"
    assert line.html == f"<b>{line.plain}</b>"


async def test_beyond_three_estates_the_rest_are_counted(db: Database) -> None:
    line = await sender_of(db, (1, 2, 3, 4, 5))
    names = await estate_names(db, range(1, 4))
    assert line.plain == f"📢 از طرف مدیریت {names[0]}، {names[1]}، {names[2]} و ۲ شهرک دیگر"


async def test_an_admins_notice_comes_from_the_programme(db: Database) -> None:
    line = await sender_of(db, (), admin=True, lang="en")
    assert line.plain == "📢 From the Khooshe programme team"


def test_the_sender_line_counts_in_the_length_limit() -> None:
    sender = Sender(plain="📢 From X", html="<b>📢 From X</b>")  # 8 characters, and a blank line
    fits = BroadcastService.notice("photo", "x" * 1014, "x" * 1014, "file", sender=sender)
    assert fits == {"kind": "photo", "file_id": "file", "text": "<b>📢 From X</b>\n\n" + "x" * 1014}
    assert BroadcastService.notice("photo", "x" * 1015, "x" * 1015, "file", sender=sender) == TooLong(1014)
