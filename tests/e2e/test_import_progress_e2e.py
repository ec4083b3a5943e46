"""A long CSV import shows how far it is, in one message edited as it goes, and ends complete."""

from __future__ import annotations

from bot.services.places_import import CHUNK_ROWS
from tests.support.journeys import fa_digits
from tests.support.khooshe import ADMIN_ID, Khooshe


def estates_csv(n: int) -> bytes:
    lines = ["province,name,kind", *(f"تهران,Progress Estate {i},estate" for i in range(1, n + 1))]
    return ("\n".join(lines) + "\n").encode()


async def test_a_long_import_shows_its_progress_and_ends_complete(khooshe: Khooshe) -> None:
    admin = khooshe.user(ADMIN_ID, "Admin")
    rows = 2 * CHUNK_ROWS + 200
    await admin.send_document("estates.csv", estates_csv(rows), caption="/import estates")
    await admin.wait_for("⏳", timeout=30)
    await admin.wait_for("افزوده", timeout=60)  # the report
    progress = [m for m in admin.messages() if m.text.startswith("⏳")]
    total = fa_digits(f"{rows:,}").replace(",", "٬")
    assert len(progress) == 1 and f"{total} از {total}" in progress[0].text


async def test_a_short_import_shows_no_progress(khooshe: Khooshe) -> None:
    admin = khooshe.user(ADMIN_ID, "Admin")
    await admin.send_document("estates.csv", estates_csv(20), caption="/import estates")
    await admin.wait_for("افزوده", timeout=30)
    assert not [m for m in admin.messages() if m.text.startswith("⏳")]
