"""/estates and /clusters find places by province as well as by name."""

from __future__ import annotations

import csv
from pathlib import Path

from tests.support.khooshe import ADMIN_ID, Khooshe

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"


def sample_estates_in(province: str) -> list[str]:
    with (SAMPLE / "estates.csv").open(encoding="utf-8") as f:
        return [row[1] for row in csv.reader(f) if row and row[0] == province]


async def test_estates_of_a_province_are_found_by_its_persian_name(khooshe: Khooshe) -> None:
    admin = khooshe.user(ADMIN_ID, "Admin")
    await admin.send("/estates تهران")
    listing = await admin.wait_for("#")
    names = sample_estates_in("تهران")
    assert names
    assert all(name in listing.text for name in names)


async def test_estates_of_a_province_are_found_by_its_english_name(khooshe: Khooshe) -> None:
    admin = khooshe.user(ADMIN_ID, "Admin")
    await admin.send("/estates tehran")
    listing = await admin.wait_for("#")
    assert all(name in listing.text for name in sample_estates_in("تهران"))
