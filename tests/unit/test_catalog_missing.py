"""A missing catalog stops start-up with one line instead of showing every text in English."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import cli, i18n


@pytest.fixture
def no_catalogs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setattr(i18n, "LOCALES_DIR", tmp_path)
    i18n.translations.cache_clear()
    yield tmp_path
    i18n.translations.cache_clear()


def test_loading_the_catalogs_names_the_missing_one(no_catalogs: Path) -> None:
    with pytest.raises(i18n.CatalogMissing, match="the fa catalog is missing"):
        i18n.load_catalogs()


def test_the_command_line_stops_with_one_line(no_catalogs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = cli.main(["round", "close"])
    expected = f"error: the fa catalog is missing: no {no_catalogs}/fa/LC_MESSAGES/messages.po"
    assert (status, capsys.readouterr().err.splitlines()) == (1, [expected])


def test_the_catalogs_ship_inside_the_package() -> None:
    assert (Path(i18n.__file__).parent / "locales" / "fa" / "LC_MESSAGES" / "messages.po").is_file()
