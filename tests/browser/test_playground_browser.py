"""The playground in a real browser (Debian's chromium driven by Playwright), on a 390-pixel phone
screen: each persona does what a person trying Khooshe would do, by clicking and typing.

Screenshots of each persona's chat go to tmp/artefacts/ (not committed) for a person to look at."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, async_playwright, expect

from bot.playground import demo
from bot.playground.runner import Playground
from bot.playground.web import bound_port, serve_web
from tests.support.clock import TestClock

ROOT = Path(__file__).resolve().parents[2]
ARTEFACTS = ROOT / "tmp" / "artefacts"
CHROMIUM = "/usr/bin/chromium"
PHONE = {"width": 390, "height": 844}
WAIT = 10_000  # ms: a reply that takes longer than this is a failure

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def site(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    playground = Playground(tmp_path_factory.mktemp("playground") / "playground.db", clock=TestClock())
    await playground.start()
    runner = await serve_web(playground, 0)
    yield f"http://127.0.0.1:{bound_port(runner)}"
    await runner.cleanup()
    await playground.stop()


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as driver:
        launched = await driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        await launched.close()


@pytest_asyncio.fixture(loop_scope="module")
async def page(browser: Browser, site: str) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport=PHONE, locale="fa-IR", accept_downloads=True)
    opened = await context.new_page()
    await opened.goto(site)
    await expect(opened.locator("#persona")).to_be_visible()
    yield opened
    await context.close()


async def persona(page: Page, user_id: int) -> None:
    await page.select_option("#persona", str(user_id))
    await expect(page.locator("#persona")).to_have_value(str(user_id))


async def say(page: Page, text: str) -> None:
    await page.fill("#text", text)
    await page.press("#text", "Enter")


async def reply(page: Page, text: str) -> None:
    """Waits for the bot's latest message to contain ``text``."""
    await expect(page.locator(".msg.bot").last).to_contain_text(text, timeout=WAIT)


async def press(page: Page, label: str) -> None:
    """Presses the inline button with this label on the bot's latest message that has one."""
    await page.locator(".msg.bot:has(.buttons)").last.locator(".buttons button", has_text=label).first.click()


async def shot(page: Page, name: str) -> None:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTEFACTS / f"{name}.png"))


def fits_the_phone(boxes: list[dict[str, float] | None]) -> bool:
    return all(b is not None and b["x"] >= 0 and b["x"] + b["width"] <= PHONE["width"] for b in boxes)


async def test_the_page_opens_on_the_owner_whose_result_was_published(page: Page) -> None:
    await expect(page.locator("#persona")).to_have_value(str(demo.RESULT_OWNER))
    await expect(page.locator(".msg.bot img")).to_have_count(1, timeout=WAIT)
    await shot(page, "0-first-look")
    assert "نتایج شما" in await page.locator(".msg.bot").first.inner_text()


async def test_a_new_owner_registers_and_answers_the_first_questions(page: Page) -> None:
    await page.click("#new-owner")
    await expect(page.locator("#persona option:checked")).to_contain_text("مالک تازه")
    await expect(page.locator(".msg")).to_have_count(0)
    await say(page, "/start")
    await reply(page, "بنگاه خود را ثبت کنید")
    await press(page, "ثبت‌نام بنگاه")
    await reply(page, "نام ثبتی")
    await say(page, "صنایع غذایی نمونه")
    await reply(page, "شناسه ملی")
    await say(page, "10380284790")
    await reply(page, "کدام استان")
    await press(page, "بوشهر")
    await reply(page, "کدام شهرک")
    await press(page, "شهرک صنعتی برازجان")
    await reply(page, "خوشه کسب‌وکار")
    await press(page, "خوشه فرآوری خرمای دشتستان")
    await reply(page, "کدام بخش")
    await press(page, "صنعت و تولید")
    await reply(page, "چند نفر")
    await say(page, "۴۵")
    await reply(page, "سال شمسی")
    await say(page, "1388")
    await reply(page, "شماره همراه")
    await page.locator("#keyboard button", has_text="ارسال شماره من").click()
    await reply(page, "بررسی کنید")
    await press(page, "تأیید، نام ما نمایش داده شود")
    await expect(page.locator("#chat")).to_contain_text("ثبت شد", timeout=WAIT)
    await say(page, "/assess")
    await expect(page.locator(".msg.bot").last.locator(".buttons button").first).to_be_visible(timeout=WAIT)
    first = await page.locator(".msg.bot").last.inner_text()
    await press(page, "بله")
    await expect(page.locator(".msg.bot").last).not_to_have_text(first, timeout=WAIT)
    # The second question must be on screen before its «بله» is pressed: a press that reaches
    # the first question's buttons is a double tap, and stays on the second question.
    await reply(page, "سؤال ۲ از")
    await press(page, "بله")
    await expect(page.locator(".msg.bot").last).to_contain_text("سؤال ۳ از", timeout=WAIT)
    buttons = await page.locator(".buttons button").all()
    boxes = [await b.bounding_box() for b in buttons]
    await shot(page, "1-new-owner")
    assert fits_the_phone(boxes)


async def test_the_owner_with_a_result_sees_the_chart_on_myrank(page: Page) -> None:
    await persona(page, demo.RESULT_OWNER)
    # The publication already put a chart in this chat: only one after the command counts.
    await expect(page.locator(".msg.bot img")).to_have_count(1, timeout=WAIT)
    await say(page, "/myrank")
    chart = page.locator(".msg.user:has-text('/myrank') ~ .msg.bot img").last
    await expect(chart).to_be_visible(timeout=WAIT)
    await page.wait_for_function("() => [...document.querySelectorAll('.msg.bot img')].every(i => i.complete)")
    await chart.scroll_into_view_if_needed()
    width = await chart.evaluate("img => img.naturalWidth")
    await shot(page, "2-owner-myrank")
    assert width > 300


async def test_the_manager_downloads_an_export(page: Page) -> None:
    await persona(page, demo.MANAGER)
    await say(page, "/export")
    await press(page, "")  # a manager of two estates picks one
    link = page.locator(".msg.bot a.doc").last
    await expect(link).to_be_visible(timeout=WAIT)
    async with page.expect_download() as waiting:
        await link.click()
    download = await waiting.value
    data = Path(await download.path()).read_bytes()
    await shot(page, "3-manager-export")
    assert (Path(download.suggested_filename).suffix, data[:2]) == (".xlsx", b"PK")


async def test_the_admin_opens_stats(page: Page) -> None:
    await persona(page, demo.ADMIN)
    await say(page, "/stats")
    # Not the latest message: the publication's delivery report may come to the admin meanwhile.
    stats = page.locator(".msg.user:has-text('/stats') ~ .msg.bot", has_text="آمار کشوری")
    await expect(stats).to_have_count(1, timeout=WAIT)
    await shot(page, "4-admin-stats")
    text = await stats.inner_text()
    assert "تهران" in text


async def test_the_admin_imports_estates_from_a_csv_file(page: Page) -> None:
    await persona(page, demo.ADMIN)
    await page.fill("#text", "/import estates")  # what is typed goes with the file as its caption
    csv = "province,name,kind\nتهران,شهرک صنعتی نمونه بازی,estate\n".encode()
    await page.set_input_files("#file", files=[{"name": "estates.csv", "mimeType": "text/csv", "buffer": csv}])
    await expect(page.locator(".msg.user a.doc").last).to_contain_text("estates.csv", timeout=WAIT)
    await expect(page.locator(".msg.bot", has_text="۱ افزوده شد")).to_have_count(1, timeout=WAIT)
    await shot(page, "5-admin-import")


async def test_a_week_on_the_clock_brings_the_reminder(page: Page) -> None:
    await persona(page, demo.OWNERS[1])  # a demo firm that has not answered the open round
    before = await page.locator("#clock").inner_text()
    await page.click("button.step[data-step='week']")
    await expect(page.locator("#clock")).not_to_have_text(before, timeout=WAIT)
    await reply(page, "روز به پایان خودارزیابی")
    await shot(page, "6-firm-reminder")


async def test_on_bale_the_bots_markdown_is_drawn_not_shown(page: Page) -> None:
    # Last in the module: the switch restarts the bot on the Bale profile.
    await persona(page, demo.ADMIN)
    await page.click("[data-platform='bale']")
    await expect(page.locator("[data-platform='bale']")).to_have_class("on", timeout=WAIT)
    await expect(page.locator(".msg")).to_have_count(0)
    await say(page, "/stats")
    stats = page.locator(".msg.bot", has_text="آمار کشوری")
    await expect(stats).to_have_count(1, timeout=WAIT)
    heading = await stats.locator("b").first.inner_text()
    text = await stats.inner_text()
    await shot(page, "7-admin-stats-bale")
    assert (heading, "*" in text) == ("آمار کشوری", False)
