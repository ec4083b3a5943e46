"""The published top list anyone can read with /ranking: only firms that agreed to be named, with
the national rank they hold among every scored firm."""

from __future__ import annotations

from tests.support.khooshe import Khooshe
from tests.support.scenarios import OWNERS

STRANGER = 5901  # not registered: the ranking is public


async def test_the_ranking_names_only_consenting_firms(published: tuple[Khooshe, int]) -> None:
    khooshe, _ = published
    reader = khooshe.user(STRANGER)
    await reader.send("/ranking")
    listing = await reader.wait_for("بنگاه‌های برتر، «Autumn 1405»")
    assert f"بنگاه شماره {OWNERS[1]}" in listing.text
    assert f"بنگاه شماره {OWNERS[0]}" not in listing.text  # did not agree to be named
    assert "بنگاهی در" not in listing.text  # not even as "a firm in ‹estate›"


async def test_the_ranking_says_how_many_firms_the_ranks_are_out_of(published: tuple[Khooshe, int]) -> None:
    khooshe, _ = published
    reader = khooshe.user(STRANGER)
    await reader.send("/ranking")
    note = await reader.wait_for("رتبه‌ها در میان همه")
    assert "همه ۷ بنگاه امتیازدارِ کشور" in note.text
    assert "/myrank" in note.text


async def test_before_anything_is_published_the_ranking_says_when_it_comes(khooshe: Khooshe) -> None:
    reader = khooshe.user(STRANGER)
    await reader.send("/ranking")
    await reader.wait_for("هنوز رتبه‌بندی‌ای منتشر نشده است")
