"""Every action code the code base writes to the audit log has a Persian (and English) name, and
/audit's filters read what an admin types."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from bot.domain.audit_log import (
    ACTION_NAMES,
    ROLE_REFUSAL,
    UNKNOWN,
    VIEWS,
    AuditFilter,
    BadFilter,
    action_name,
    parse_filter,
)
from bot.i18n import translator
from handlers.manager.dashboard import ACTIONS as DASHBOARD_REFUSALS

ROOT = Path(__file__).resolve().parents[2]
#: ``audit(…, action="code"`` and ``audit(…, action=f"template"``.
AUDIT_CALL = re.compile(r"\baudit\([^)]*?\baction=(f?)\"([^\"]+)\"", re.S)
#: ``refuse(context, update, "code"``.
REFUSE_CALL = re.compile(r"\brefuse\(\s*context,\s*update,\s*\"([^\"]+)\"")
#: The f-string templates of bot/services/places.py, expanded for estates and clusters.
TEMPLATES = {
    "list_{what}": ["list_estates", "list_clusters"],
    "add_{what[:-1]}": ["add_estate", "add_cluster"],
    "rename_{what[:-1]}": ["rename_estate", "rename_cluster"],
    "{'reactivate' if active else 'deactivate'}_{what[:-1]}": [
        "reactivate_estate", "reactivate_cluster", "deactivate_estate", "deactivate_cluster"],
    "import_{what}": ["import_estates", "import_clusters"],
}


def written_codes() -> set[str]:
    codes: set[str] = set(DASHBOARD_REFUSALS)
    for path in [*(ROOT / "bot").rglob("*.py"), *(ROOT / "handlers").rglob("*.py")]:
        text = path.read_text(encoding="utf-8")
        for is_template, value in AUDIT_CALL.findall(text):
            if is_template:
                assert value in TEMPLATES, f"{path}: expand the audit action template {value!r} in this test"
                codes.update(TEMPLATES[value])
            else:
                codes.add(value)
        codes.update(REFUSE_CALL.findall(text))
    return codes


def test_the_source_scan_finds_the_audit_call_sites() -> None:
    codes = written_codes()
    assert {"round_open", "block", "dashboard", "funnel", "list_estates", "broadcast_filter", "dash"} <= codes


def test_every_written_action_code_has_a_name() -> None:
    assert sorted(written_codes() - set(ACTION_NAMES)) == []


def test_every_action_name_has_a_persian_translation() -> None:
    t = translator("fa")
    assert [code for code, msgid in ACTION_NAMES.items() if t(msgid) == msgid] == []


def test_action_names_read_in_persian() -> None:
    t = translator("fa")
    assert t(action_name("round_open", None)) == "دوره‌ای را باز کرد"
    assert t(action_name("block", None)) == "کاربری را مسدود کرد"


def test_a_role_guard_refusal_is_named_as_such() -> None:
    assert action_name("funnel_command", "requires manager") == ROLE_REFUSAL


def test_an_unknown_code_is_named_with_the_code() -> None:
    assert translator("fa")(action_name("legacy_thing", None), code="legacy_thing") == "کار دیگر (legacy_thing)"
    assert action_name("legacy_thing", None) == UNKNOWN


def test_every_view_has_a_name() -> None:
    assert sorted(VIEWS - set(ACTION_NAMES)) == []


def test_filter_reads_a_persian_date_after_az() -> None:
    assert parse_filter(["از", "۱۴۰۵/۰۹/۰۱"]) == AuditFilter(since=date(2026, 11, 22))


def test_filter_reads_user_action_range_and_views() -> None:
    assert parse_filter(["7001", "round", "from", "1405/09/01", "تا", "1405/09/30", "همه"]) == AuditFilter(
        user_id=7001, action="round", since=date(2026, 11, 22), until=date(2026, 12, 21), include_views=True)


def test_filter_reads_an_action_copied_with_bales_underscore_look_alike() -> None:
    assert parse_filter(["round\u02cdopen"]) == AuditFilter(action="round_open")


def test_filter_reads_persian_digits_of_a_user_id() -> None:
    assert parse_filter(["۷۰۰۱"]) == AuditFilter(user_id=7001)


@pytest.mark.parametrize("words", [["از"], ["1405/13/01"], ["روزانه"], ["7001", "7002"], ["@someone"]])
def test_filter_refuses_what_it_cannot_read(words: list[str]) -> None:
    with pytest.raises(BadFilter):
        parse_filter(words)


def test_the_widest_audit_page_button_fits_64_bytes_and_reads_back() -> None:
    from handlers.admin.audit import from_data, page_data

    widest = AuditFilter(user_id=999_999_999_999, action="deactivate_cluster_x", since=date(2026, 11, 22),
                         until=date(2026, 12, 21), include_views=True)
    data = page_data(widest, 99_999)
    assert len(data.encode()) <= 64
    assert from_data(data) == (widest, 99_999)
