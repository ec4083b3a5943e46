"""/funnel: where firms give up in the open round — drafts by the question they stopped at, the
median time per question and the announced firms that never started; admins see every estate,
managers only theirs, owners are refused, and a scope of fewer than five firms shows no counts."""

from __future__ import annotations

from datetime import timedelta

from bot.delivery.keys import round_key
from bot.domain.formatting import RLM
from tests.support.factories import add_firm
from tests.support.journeys import fa_digits
from tests.support.khooshe import ADMIN_ID, Khooshe

MANAGER = 7301
SMALL_MANAGER = 7302
OWNER = 7401
#: (owner, answers given one minute apart, the question on screen); None: never started.
DRAFTS: list[tuple[int, list[str], str]] = [
    (7401, ["T1", "T2"], "T3"),
    (7402, ["T1"], "T2"),
    (7403, ["T1", "T2"], "T3"),
    (7404, ["T1"], "review"),
    (7405, ["T1"], "T2"),
]
#: Announced (delivered) and never started.
SILENT = (7406, 7407)
#: Announcement still pending (not delivered), never started.
UNREACHED = 7408


async def prepare(khooshe: Khooshe) -> int:
    """Estate 1: five drafts stopped at T2 (2), T3 (2) and the review (1), each answer a minute
    after the previous one; seven firms got the announcement, two of them never started; estate
    2: three firms, one of them a draft."""
    clock = khooshe.services.clock
    async with khooshe.db.transaction() as repo:
        current = await repo.rounds.open_round()
        await repo.access.add_manager(user_id=MANAGER, estate_id=1, by=ADMIN_ID)
        await repo.access.add_manager(user_id=SMALL_MANAGER, estate_id=2, by=ADMIN_ID)
    assert current is not None
    firms: dict[int, int] = {}
    for owner in [d[0] for d in DRAFTS] + [*SILENT, UNREACHED]:
        firms[owner] = await add_firm(khooshe.db, owner)
    for owner in (7501, 7502, 7503):
        firms[owner] = await add_firm(khooshe.db, owner, estate_id=2)
    async with khooshe.db.transaction() as repo:
        for owner, firm_id in firms.items():
            key = round_key(current.id, firm_id, "announcement")
            await repo.outbox.add(kind="announcement", dedupe_key=key, chat_id=owner, payload={"text": "x"},
                                  not_before=clock.now())
            row = await repo.outbox.by_key(key)
            assert row is not None
            if owner != UNREACHED:
                await repo.outbox.mark_sent(row.id, message_id=1, at=clock.now())
    for owner, answered, cursor in [*DRAFTS, (7501, ["T1"], "T2")]:
        async with khooshe.db.transaction() as repo:
            submission = await repo.submissions.start(round_id=current.id, firm_id=firms[owner], cursor="T1")
        for qid in answered:
            clock.advance(timedelta(minutes=1))
            async with khooshe.db.transaction() as repo:
                await repo.answers.put(submission_id=submission.id, qid=qid, value="yes")
        async with khooshe.db.transaction() as repo:
            await repo.submissions.move(submission_id=submission.id, cursor=cursor, active=False)
    return current.id


async def funnel_text(khooshe: Khooshe, user_id: int, command: str = "/funnel") -> str:
    user = khooshe.user(user_id)
    await user.settle()
    await user.send(command)
    first = await user.wait_for(lambda e: e.is_message)
    text = "\n".join(e.text for e in [first, *await user.settle()] if e.is_message)
    # Lines that start with a question id carry a right-to-left mark (checked by the fake for
    # every test); the sections are read without it.
    return text.replace(RLM, "")


def section(text: str, title: str) -> list[str]:
    """The section whose first line starts with ``title``, up to the next blank line."""
    lines = text.split("\n")
    start = next(i for i, line in enumerate(lines) if line.startswith(title))
    end = next((i for i in range(start, len(lines)) if not lines[i].strip()), len(lines))
    return lines[start:end]


def line_of(text: str, start: str) -> str:
    return next(line for line in text.split("\n") if line.startswith(start))


async def test_manager_sees_where_drafts_stopped_in_questionnaire_order(khooshe: Khooshe) -> None:
    await prepare(khooshe)
    text = await funnel_text(khooshe, MANAGER)
    assert f"بنگاه‌های این محدوده: {fa_digits(8)}" in text
    header, *stops = section(text, "پیش‌نویس‌ها کجا ماندند")
    assert header.endswith(f"({fa_digits(5)} پیش‌نویس)")
    assert [line.split(" ·")[0].split(":")[0] for line in stops] == ["T2", "T3", "صفحه‌ی مرور"]
    assert [line.rsplit(": ", 1)[1] for line in stops] == [fa_digits(2), fa_digits(2), fa_digits(1)]
    assert "وب‌سایت" in section(text, "میانه‌ی زمان")[1]  # T1's short text beside its id


async def test_funnel_gives_median_time_per_question(khooshe: Khooshe) -> None:
    await prepare(khooshe)
    text = await funnel_text(khooshe, MANAGER)
    _, t1, t2 = section(text, "میانه‌ی زمان")
    assert t1.startswith("T1 ·") and t1.endswith(f": {fa_digits(60)} ثانیه")
    # Only two firms answered T2: too few for a median.
    assert t2.startswith("T2 ·") and t2.endswith(f": کمتر از {fa_digits(5)} پاسخ")


async def test_funnel_counts_announced_firms_that_never_started(khooshe: Khooshe) -> None:
    await prepare(khooshe)
    text = await funnel_text(khooshe, MANAGER)
    # Seven got it (the eighth is still queued); two of them never started: 29%.
    assert f"اطلاعیه را گرفتند: {fa_digits(7)}؛ هرگز شروع نکردند: {fa_digits(2)} ({fa_digits(29)}٪)" in text


async def test_admin_funnel_covers_every_estate(khooshe: Khooshe) -> None:
    await prepare(khooshe)
    text = await funnel_text(khooshe, ADMIN_ID)
    assert f"بنگاه‌های این محدوده: {fa_digits(11)}" in text
    assert f"({fa_digits(6)} پیش‌نویس)" in text
    assert line_of(text, "T2 ·").endswith(f": {fa_digits(3)}")
    assert f"اطلاعیه را گرفتند: {fa_digits(10)}؛ هرگز شروع نکردند: {fa_digits(4)}" in text


async def test_funnel_is_refused_to_a_firm_owner(khooshe: Khooshe) -> None:
    await prepare(khooshe)
    text = await funnel_text(khooshe, OWNER)
    assert "اجازه" in text and "پیش‌نویس" not in text
    async with khooshe.db.read() as repo:
        entries = await repo.access.audit_entries(user_id=OWNER)
    assert [(e.action, e.outcome) for e in entries] == [("funnel_command", "refused")]


async def test_manager_cannot_open_another_estates_funnel(khooshe: Khooshe) -> None:
    await prepare(khooshe)
    text = await funnel_text(khooshe, MANAGER, "/funnel 2")
    assert "اجازه" in text and "پیش‌نویس" not in text
    async with khooshe.db.read() as repo:
        entries = await repo.access.audit_entries(user_id=MANAGER)
    assert [(e.action, e.target, e.outcome) for e in entries] == [("funnel", "estate:2", "refused")]


async def test_funnel_of_fewer_than_five_firms_says_so_without_counts(khooshe: Khooshe) -> None:
    await prepare(khooshe)
    text = await funnel_text(khooshe, SMALL_MANAGER)
    assert f"بنگاه‌های این محدوده: {fa_digits(3)}" in text
    assert f"کمتر از {fa_digits(5)} بنگاه" in text
    assert "پیش‌نویس" not in text and "٪" not in text and "T2" not in text


async def test_help_lists_funnel_for_a_manager_only(khooshe: Khooshe) -> None:
    await prepare(khooshe)
    manager, owner = khooshe.user(MANAGER), khooshe.user(OWNER)
    await manager.send("/help")
    shown = await manager.wait_for("/funnel")
    assert "بنگاه‌ها کجای دوره دست می‌کشند" in shown.text
    await owner.send("/help")
    assert "/funnel" not in (await owner.wait_for("/assess")).text
