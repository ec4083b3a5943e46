"""Reading an estate's firm list (CSV or .xlsx) for onboarding, and the pieces of the invitation
pack: mobiles as people write them, line-numbered problems, the import's limits, the QR code."""

from __future__ import annotations

import io
import zipfile

import pytest
import segno
from openpyxl import Workbook
from PIL import Image

from bot.services.onboarding import (
    NotReadable,
    OnboardingFunnel,
    canonical_mobile,
    parse_firm_list,
    read_firm_list,
)
from bot.services.onboarding_sheets import QR_BORDER, QR_SCALE, SheetCard, build_pack, qr_png
from bot.services.places_import import TooManyRows, WrongColumns
from storage.models import Estate
from storage.repositories.onboarding import FunnelRow
from tests.support.journeys import OTHER_VALID_NATIONAL_IDS, VALID_NATIONAL_ID

LINK = "https://ble.ir/khoosheBot?start=f_" + "0123456789abcdef" * 2 + "01234567"


@pytest.mark.parametrize("typed", ["09121234567", "۰۹۱۲ ۱۲۳ ۴۵۶۷", "+98 912 123 4567", "00989121234567", "9121234567",
                                   "0912-123-4567"])
def test_a_mobile_written_any_usual_way_is_one_number(typed: str) -> None:
    assert canonical_mobile(typed) == "+989121234567"


@pytest.mark.parametrize("typed", ["02188776655", "12345", "0912123456", "0912abc4567"])
def test_what_is_not_an_iranian_mobile_is_refused(typed: str) -> None:
    assert canonical_mobile(typed) is None


def test_the_header_may_be_capitalised_and_spell_national_id_with_a_space() -> None:
    parsed = parse_firm_list(f"Name,National ID,Mobile\nصنایع دشت,{VALID_NATIONAL_ID},09121234567\n")
    assert [(r.line, r.name, r.national_id, r.mobile) for r in parsed.rows] == [
        (2, "صنایع دشت", VALID_NATIONAL_ID, "+989121234567")]


def test_each_bad_line_is_named_with_its_number_and_the_good_ones_are_kept() -> None:
    text = ("name,national_id,mobile\n"
            f"صنایع دشت,{VALID_NATIONAL_ID},\n"
            "بی‌شناسه,10380284791,\n"
            f"تکراری,{VALID_NATIONAL_ID},\n"
            f"بی‌همراه,{OTHER_VALID_NATIONAL_IDS[0]},021\n"
            f"x,{OTHER_VALID_NATIONAL_IDS[1]},\n"
            "a,b\n")
    parsed = parse_firm_list(text)
    assert [r.line for r in parsed.rows] == [2]
    assert [(line, p.code) for line, p in parsed.rejected] == [
        (3, "national_id"), (4, "duplicate"), (5, "mobile"), (6, "name"), (7, "columns")]
    assert parsed.rejected[1][1].found == 2


CODE, OTHER_CODE = "0499370899", "0084575948"  # owners' national codes with valid check digits


def test_a_sole_proprietorship_is_listed_by_the_owners_national_code_and_its_licence() -> None:
    parsed = parse_firm_list("name,national_id,mobile,Licence No\n"
                             f"صنایع دشت,{VALID_NATIONAL_ID},,\n"
                             f"کارگاه مهر,{CODE},,۱۲۳۴۵/۶۷۸\n")
    assert [(r.national_id, r.licence_no) for r in parsed.rows] == [(VALID_NATIONAL_ID, None), (CODE, "12345/678")]
    assert parsed.rejected == []


def test_a_national_code_without_a_licence_number_is_named_as_such() -> None:
    parsed = parse_firm_list(f"name,national_id,mobile\nکارگاه مهر,{CODE},\n")
    assert [(line, p.code, p.value) for line, p in parsed.rejected] == [(2, "licence", "")]


def test_a_licence_number_listed_twice_is_refused_on_its_second_line() -> None:
    parsed = parse_firm_list("name,national_id,mobile,licence_no\n"
                             f"کارگاه مهر,{CODE},,12345/678\n"
                             f"کارگاه ماه,{OTHER_CODE},,12345/678\n")
    assert [r.line for r in parsed.rows] == [2]
    assert [(line, p.code, p.column, p.found) for line, p in parsed.rejected] == [(3, "duplicate", "licence", 2)]


def test_a_file_without_the_header_is_refused_whole() -> None:
    with pytest.raises(WrongColumns):
        parse_firm_list(f"صنایع دشت,{VALID_NATIONAL_ID},09121234567\n")


def test_the_row_cap_of_the_imports_refuses_a_longer_list_whole() -> None:
    rows = "".join(f"بنگاه {n},{nid},\n" for n, nid in enumerate([VALID_NATIONAL_ID, *OTHER_VALID_NATIONAL_IDS[:2]]))
    with pytest.raises(TooManyRows):
        parse_firm_list("name,national_id,mobile\n" + rows, max_rows=2)


def workbook(rows: list[list[object]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_an_xlsx_list_with_ids_and_mobiles_typed_as_numbers_is_read_row_by_row() -> None:
    data = workbook([["name", "national_id", "mobile"], ["صنایع دشت", int(VALID_NATIONAL_ID), 9121234567],
                     ["بی‌شناسه", 10380284791, None]])
    parsed = read_firm_list(data, "firms.xlsx", 100)
    assert [(r.line, r.national_id, r.mobile) for r in parsed.rows] == [(2, VALID_NATIONAL_ID, "+989121234567")]
    assert [(line, p.code) for line, p in parsed.rejected] == [(3, "national_id")]


def test_an_xlsx_list_past_the_row_cap_is_refused_whole() -> None:
    data = workbook([["name", "national_id", "mobile"]] + [[f"بنگاه {n}", nid, None] for n, nid in
                                                          enumerate([VALID_NATIONAL_ID, *OTHER_VALID_NATIONAL_IDS[:2]])])
    with pytest.raises(TooManyRows):
        read_firm_list(data, "firms.xlsx", 2)


@pytest.mark.parametrize(("data", "name", "kind"), [(b"\xff\xfe n\x00a\x00", "firms.csv", "text"),
                                                    (b"PK\x03\x04 not really a zip", "firms.xlsx", "xlsx")])
def test_a_file_that_is_neither_utf8_csv_nor_a_workbook_is_refused(data: bytes, name: str, kind: str) -> None:
    with pytest.raises(NotReadable) as refused:
        read_firm_list(data, name, 100)
    assert refused.value.kind == kind


def test_the_qr_png_holds_the_modules_of_the_link() -> None:
    expected = [[int(bool(v)) for v in row] for row in segno.make_qr(LINK, error="m", boost_error=False).matrix]
    image = Image.open(io.BytesIO(qr_png(LINK))).convert("L")
    half = QR_SCALE // 2
    found = [[int(image.getpixel(((x + QR_BORDER) * QR_SCALE + half, (y + QR_BORDER) * QR_SCALE + half)) < 128)
              for x in range(len(expected))] for y in range(len(expected))]
    assert found == expected


def test_the_pack_has_a_sheet_a_code_and_a_csv_line_per_firm() -> None:
    cards = [SheetCard(n, f"{LINK}{n}", f"sms {n}", f"بنگاه {n}", VALID_NATIONAL_ID, "", ("عنوان",), ("راهنما",))
             for n in (1, 2)]
    with zipfile.ZipFile(io.BytesIO(build_pack(cards, ("name", "id", "mobile", "link", "sms")))) as pack:
        names = sorted(pack.namelist())
        table = pack.read("invitations.csv").decode("utf-8-sig").splitlines()
    assert names == ["invitations.csv", "qr/001.png", "qr/002.png", "sheets/001.png", "sheets/002.png"]
    assert table[1].split(",")[-2:] == [f"{LINK}1", "sms 1"]


def test_a_firm_registered_with_another_mobile_than_the_lists_is_flagged() -> None:
    estate = Estate(id=1, province_id=1, name="e", kind="estate")
    same = FunnelRow(id=1, name="a", national_id=VALID_NATIONAL_ID, mobile="+989121234567", opened=True, firm_id=1,
                     firm_phone="+989121234567", submitted=False)
    other = same.model_copy(update={"firm_phone": "+989351112233"})
    view = OnboardingFunnel(estate, None, [same, other])
    assert [view.phone_differs(r) for r in view.rows] == [False, True]


def test_blank_rows_of_a_spreadsheet_are_no_lines_to_fix() -> None:
    data = workbook([["name", "national_id", "mobile"], [None, None, None], ["صنایع دشت", int(VALID_NATIONAL_ID), None],
                     [None, None, None]])
    parsed = read_firm_list(data, "firms.xlsx", 100)
    assert ([r.line for r in parsed.rows], parsed.rejected) == ([3], [])
    assert parse_firm_list(f"name,national_id,mobile\n,,\nصنایع دشت,{VALID_NATIONAL_ID},\n").rejected == []
