"""Finding a place by what people type (``search_key``, ``key_matches``) and listing places in
Persian alphabetical order (``persian_sort_key``)."""

from __future__ import annotations

import pytest

from bot.domain.text import key_matches, persian_sort_key, search_key

ZWNJ = "\u200c"
ABBAS_ABAD = f"شهرک صنعتی عباس{ZWNJ}آباد"


def finds(query: str, name: str) -> bool:
    return key_matches(search_key(query), search_key(name))


# --- search_key --------------------------------------------------------------------------------


def test_arabic_yeh_and_kaf_fold_to_persian() -> None:
    assert search_key("شهرك صنعتي كلات") == search_key("شهرک صنعتی کلات")


def test_alef_maksura_folds_to_persian_yeh() -> None:
    assert search_key("موسى") == search_key("موسی")


@pytest.mark.parametrize("alef", ["آ", "أ", "إ", "ٱ"])
def test_alef_forms_fold_to_plain_alef(alef: str) -> None:
    assert search_key(f"{alef}باد") == search_key("اباد")


@pytest.mark.parametrize("heh", ["ة", "ۀ"])
def test_teh_marbuta_and_heh_with_yeh_fold_to_heh(heh: str) -> None:
    assert search_key(f"قلع{heh}") == search_key("قلعه")


def test_harakat_are_ignored() -> None:
    assert search_key("عَبّاسِ") == search_key("عباس")


def test_tatweel_is_ignored() -> None:
    assert search_key("عبـــاس") == search_key("عباس")


def test_zwnj_separates_words_like_a_space() -> None:
    assert search_key(f"عباس{ZWNJ}آباد") == search_key("عباس آباد")


@pytest.mark.parametrize("number", ["۲", "٢", "2"])
def test_digits_of_every_script_are_the_same(number: str) -> None:
    assert search_key(f"شماره {number} اهواز") == "شماره 2 اهواز"


@pytest.mark.parametrize("generic", ["شهرک", "ناحیه", "صنعتی", "شهرك صنعتي"])
def test_the_generic_words_are_dropped(generic: str) -> None:
    assert search_key(f"{generic} دالکی") == search_key("دالکی")


def test_latin_letters_lose_their_case() -> None:
    assert search_key("Parand") == search_key("parand")


def test_punctuation_separates_words() -> None:
    assert search_key("ابن-سینا (جدید)") == "ابن سینا جدید"


def test_only_generic_words_give_an_empty_key() -> None:
    assert search_key("شهرک صنعتی") == ""


# --- key_matches -------------------------------------------------------------------------------


def test_arabic_letters_and_the_generic_words_find_the_estate() -> None:
    assert finds("شهرك صنعتي عباس آباد", ABBAS_ABAD)


def test_a_name_typed_without_zwnj_or_space_finds_the_estate() -> None:
    assert finds("عباسآباد", ABBAS_ABAD)


def test_a_name_typed_with_a_space_finds_one_written_solid() -> None:
    assert finds("نصیر آباد", "شهرک صنعتی نصیرآباد")


def test_part_of_a_name_finds_it() -> None:
    assert finds("خوارز", "شهرک صنعتی خوارزمی")


def test_words_in_another_order_find_the_estate() -> None:
    assert finds("اهواز ۲", "شهرک صنعتی شماره ۲ اهواز")


def test_a_word_the_name_lacks_finds_nothing() -> None:
    assert not finds("عباس کرج", ABBAS_ABAD)


def test_another_number_finds_nothing() -> None:
    assert not finds("اهواز ۱", "شهرک صنعتی شماره ۲ اهواز")


# --- persian_sort_key --------------------------------------------------------------------------


def order(*names: str) -> list[str]:
    return sorted(names, key=persian_sort_key)


def test_peh_sorts_between_beh_and_teh() -> None:
    assert order("تبریز", "پرند", "بم") == ["بم", "پرند", "تبریز"]


def test_cheh_sorts_between_jeem_and_heh() -> None:
    assert order("حسن", "چرمشهر", "جی") == ["جی", "چرمشهر", "حسن"]


def test_zheh_sorts_between_zeh_and_seen() -> None:
    assert order("سیمین", "ژاله", "زرقان") == ["زرقان", "ژاله", "سیمین"]


def test_gaf_sorts_between_kaf_and_lam() -> None:
    assert order("لار", "گرمسار", "کلات") == ["کلات", "گرمسار", "لار"]


def test_vav_sorts_before_heh_and_yeh_last() -> None:
    assert order("یزد", "همدان", "ورامین") == ["ورامین", "همدان", "یزد"]


def test_alef_with_madda_sorts_with_alef() -> None:
    assert order("آهن", "اراک") == ["اراک", "آهن"]


def test_plain_alef_breaks_a_tie_before_alef_with_madda() -> None:
    assert order("آب", "اب") == ["اب", "آب"]


def test_arabic_kaf_sorts_with_persian_kaf() -> None:
    assert order("كلات", "کرج") == ["کرج", "كلات"]


def test_arabic_yeh_sorts_with_persian_yeh() -> None:
    assert order("يزد", "یاسوج") == ["یاسوج", "يزد"]


def test_zwnj_is_ignored_in_the_order() -> None:
    assert order(f"شمس{ZWNJ}آباد", "شمسا") == ["شمسا", f"شمس{ZWNJ}آباد"]


def test_a_space_sorts_before_any_letter() -> None:
    assert order("ابنا", "ابن سینا") == ["ابن سینا", "ابنا"]


def test_numbers_sort_by_value_in_any_script() -> None:
    assert order("شماره ۱۰", "شماره 2", "شماره ١") == ["شماره ١", "شماره 2", "شماره ۱۰"]


def test_a_shorter_name_sorts_before_a_longer_one_it_begins() -> None:
    assert order("بمبئی", "بم") == ["بم", "بمبئی"]


def test_persian_names_sort_before_latin_ones() -> None:
    assert order("Parand", "یزد") == ["یزد", "Parand"]
