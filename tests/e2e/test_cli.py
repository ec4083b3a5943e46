"""``python -m bot`` as the operator runs it: config errors, imports, opening and closing rounds."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from persiantools.jdatetime import JalaliDate

from tests.support.clock import TEST_NOW, offset_env

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_ESTATES = "data/sample/estates.csv"
TEHRAN = ZoneInfo("Asia/Tehran")
TOKEN = "123456:CliSecretKey"
# One offset for the whole module: each command runs a little later than the one before, as it
# would at a real operator's shell, starting from the test clock's moment.
CLOCK = offset_env(TEST_NOW)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "cli" / "khooshe.db"


def run(db_path: Path, *args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KHOOSHE_")}
    env["KHOOSHE_DB"] = str(db_path)
    env.update(CLOCK)
    env.update(extra_env)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], cwd=ROOT, env=env, capture_output=True,
        text=True, encoding="utf-8", timeout=60,
    )


def stderr_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.strip()]


def error_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    """The operator-facing lines (logging lines from start-up aside)."""
    return [line for line in stderr_lines(result) if " INFO " not in line]


def jalali(day: date) -> str:
    return JalaliDate(day).strftime("%Y/%m/%d")


def tehran_today() -> date:
    return TEST_NOW.astimezone(TEHRAN).date()


def rounds(db_path: Path) -> list[tuple]:
    with sqlite3.connect(db_path) as conn:
        return conn.execute("SELECT id, title, state, closes_at FROM rounds ORDER BY id").fetchall()


# --- configuration -----------------------------------------------------------------------------


def test_missing_token_is_one_line_naming_it(db_path: Path) -> None:
    result = run(db_path)
    assert result.returncode != 0
    lines = stderr_lines(result)
    assert len(lines) == 1, result.stderr
    assert "KHOOSHE_TOKEN" in lines[0]
    assert "Traceback" not in result.stderr


def test_bad_admins_is_one_line_naming_it(db_path: Path) -> None:
    # Should validation ever let this through, the unreachable API keeps the bot from going online.
    result = run(db_path, KHOOSHE_TOKEN=TOKEN, KHOOSHE_ADMINS="abc",
                 KHOOSHE_API_URL="http://127.0.0.1:9/bot")
    assert result.returncode != 0
    lines = stderr_lines(result)
    assert len(lines) == 1, result.stderr
    assert "KHOOSHE_ADMINS" in lines[0]
    assert "Traceback" not in result.stderr
    assert "CliSecretKey" not in result.stderr + result.stdout


def test_malformed_token_does_not_echo_it(db_path: Path) -> None:
    result = run(db_path, KHOOSHE_TOKEN="notatoken-secretvalue")
    assert result.returncode != 0
    lines = stderr_lines(result)
    assert len(lines) == 1 and "KHOOSHE_TOKEN" in lines[0]
    assert "secretvalue" not in result.stderr


def test_bad_time_zone_for_operator_commands(db_path: Path) -> None:
    result = run(db_path, "round", "close", KHOOSHE_TZ="Mars/Base")
    assert result.returncode != 0
    assert "KHOOSHE_TZ" in result.stderr
    assert "Traceback" not in result.stderr


# --- imports -----------------------------------------------------------------------------------


def sample_rows() -> int:
    text = (ROOT / SAMPLE_ESTATES).read_text(encoding="utf-8-sig")
    return sum(1 for line in text.splitlines()[1:] if line.strip())


def test_import_estates_twice(db_path: Path) -> None:
    first = run(db_path, "import-estates", SAMPLE_ESTATES)
    assert first.returncode == 0, first.stderr
    n = sample_rows()
    assert first.stdout.splitlines()[0] == f"added {n}, skipped 0 (already there), rejected 0"

    second = run(db_path, "import-estates", SAMPLE_ESTATES)
    assert second.returncode == 0, second.stderr
    assert second.stdout.splitlines()[0] == f"added 0, skipped {n} (already there), rejected 0"
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM estates").fetchone() == (n,)


def test_import_clusters(db_path: Path) -> None:
    result = run(db_path, "import-clusters", "data/sample/clusters.csv")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("added ")
    assert "rejected 0" in result.stdout


def test_import_reports_rejected_lines(db_path: Path, tmp_path: Path) -> None:
    csv_file = tmp_path / "bad.csv"
    csv_file.write_text("province,name,kind\nتهران,شهرک الف,estate\nAtlantis,x,estate\n",
                        encoding="utf-8")
    result = run(db_path, "import-estates", str(csv_file))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "added 1, skipped 0 (already there), rejected 1"
    assert "line 3:" in result.stdout


def test_import_missing_file_is_an_error_line(db_path: Path) -> None:
    result = run(db_path, "import-estates", "no/such/file.csv")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    errors = error_lines(result)
    assert len(errors) == 1
    assert "no/such/file.csv" in errors[0]


def test_import_directory_is_an_error_line(db_path: Path, tmp_path: Path) -> None:
    result = run(db_path, "import-estates", str(tmp_path))
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr
    errors = error_lines(result)
    assert len(errors) == 1, result.stderr


def test_import_non_utf8_file_is_an_error_line(db_path: Path, tmp_path: Path) -> None:
    """Excel on Persian Windows saves CSV as Windows-1256; that must be an error line, not a crash."""
    csv_file = tmp_path / "excel.csv"
    csv_file.write_bytes("province,name,kind\nتهران,شهرک الف,estate\n".encode("cp1256"))
    result = run(db_path, "import-estates", str(csv_file))
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr
    errors = error_lines(result)
    assert len(errors) == 1, result.stderr



def test_import_with_a_line_the_csv_reader_cannot_read_is_an_error_line(db_path: Path, tmp_path: Path) -> None:
    """A field past the csv module's own limit (128 KiB) stops the reader: the line is named."""
    csv_file = tmp_path / "huge.csv"
    csv_file.write_text("province,name,kind\nتهران,شهرک الف,estate\nتهران," + "x" * 200_000 + ",estate\n",
                        encoding="utf-8")
    result = run(db_path, "import-estates", str(csv_file))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr, result.stderr
    assert error_lines(result) == [f"error: {csv_file}: line 3 cannot be read as CSV; nothing was imported"]

# --- rounds ------------------------------------------------------------------------------------


def test_round_open_then_refuse_a_second_then_close(db_path: Path) -> None:
    closing_day = tehran_today() + timedelta(days=30)
    closes = JalaliDate(closing_day).strftime("%Y/%m/%d")
    persian = closes.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))

    opened = run(db_path, "round", "open", "--title", "پاییز", "--closes", persian)
    assert opened.returncode == 0, opened.stderr
    assert "opened round 1" in opened.stdout
    assert closes in opened.stdout
    [(round_id, title, state, closes_at)] = rounds(db_path)
    assert (round_id, title, state) == (1, "پاییز", "open")
    expected = datetime.combine(closing_day, time(23, 59, 59), tzinfo=TEHRAN)
    assert datetime.fromisoformat(closes_at) == expected
    assert datetime.fromisoformat(closes_at).tzinfo is not None

    again = run(db_path, "round", "open", "--title", "T2", "--closes", closes)
    assert again.returncode != 0
    assert "already open" in again.stderr
    assert "Traceback" not in again.stderr
    assert len(rounds(db_path)) == 1

    closed = run(db_path, "round", "close")
    assert closed.returncode == 0, closed.stderr
    assert "closed round 1" in closed.stdout
    assert rounds(db_path)[0][2] == "closed"

    nothing = run(db_path, "round", "close")
    assert nothing.returncode != 0
    assert "no round is open" in nothing.stderr

    reopened = run(db_path, "round", "open", "--title", "T3", "--closes", closes)
    assert reopened.returncode == 0, reopened.stderr
    assert [r[2] for r in rounds(db_path)] == ["closed", "open"]


def test_round_open_refuses_a_past_date(db_path: Path) -> None:
    past = jalali(tehran_today() - timedelta(days=30))
    result = run(db_path, "round", "open", "--title", "T", "--closes", past)
    assert result.returncode != 0
    assert "future" in result.stderr
    assert "Traceback" not in result.stderr
    assert rounds(db_path) == []


@pytest.mark.parametrize("closes", ["1405/13/40", "tomorrow", "2026-12-20x", "1404/12/30"])
def test_round_open_refuses_a_malformed_date(db_path: Path, closes: str) -> None:
    result = run(db_path, "round", "open", "--title", "T", "--closes", closes)
    assert result.returncode != 0
    assert "--closes" in result.stderr and closes in result.stderr
    assert "Traceback" not in result.stderr
    assert rounds(db_path) == []


def test_round_open_refuses_an_empty_title(db_path: Path) -> None:
    result = run(db_path, "round", "open", "--title", "   ",
                 "--closes", jalali(tehran_today() + timedelta(days=30)))
    assert result.returncode != 0
    assert "--title" in result.stderr
    assert rounds(db_path) == []


def test_round_open_refuses_an_unknown_questionnaire_version(db_path: Path) -> None:
    result = run(db_path, "round", "open", "--title", "T", "--version", "99",
                 "--closes", jalali(tehran_today() + timedelta(days=30)))
    assert result.returncode != 0
    assert "99" in result.stderr
    assert "Traceback" not in result.stderr
    assert rounds(db_path) == []


def test_utc_offset_of_stored_closing_time(db_path: Path) -> None:
    """The closing moment is stored in UTC (Tehran's 23:59:59 is 20:29:59 UTC)."""
    closing_day = tehran_today() + timedelta(days=20)
    result = run(db_path, "round", "open", "--title", "T", "--closes", jalali(closing_day))
    assert result.returncode == 0, result.stderr
    closes_at = datetime.fromisoformat(rounds(db_path)[0][3])
    assert closes_at.utcoffset() == timedelta(0)
    assert closes_at.astimezone(UTC).time() == time(20, 29, 59)
