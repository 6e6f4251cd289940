"""Folding: what search and keyword rules match on."""

from __future__ import annotations

import re
import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from loa.kit.text import fold, fold_words


def _reference_fold(text: str) -> str:
    """The definition: đ→d, canonical decomposition without combining marks, NFC, case folded, one space."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", stripped).casefold()).strip()


def test_vietnamese_folds_to_plain_letters() -> None:
    assert fold("  Bộ Y tế   —  Lịch TIÊM chủng\tĐợt 2 ") == "bo y te — lich tiem chung dot 2"
    assert fold("Đường Nguyễn Trãi ngập nước") == "duong nguyen trai ngap nuoc"
    # Decomposed input (as some keyboards send it) folds like composed input.
    assert fold(unicodedata.normalize("NFD", "Phường Ba Đình")) == "phuong ba dinh"


def test_a_lone_combining_mark_leaves_no_extra_space() -> None:
    assert fold("a \u0301 b") == "a b"


def test_folding_twice_changes_nothing_and_words_drop_punctuation() -> None:
    once = fold("Cấp đổi GPLX, hạng B2?")
    assert fold(once) == once
    assert fold_words("Cấp đổi GPLX, hạng B2?") == ["cap", "doi", "gplx", "hang", "b2"]


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=60))
def test_fold_matches_its_definition(text: str) -> None:
    # Twice: the second call answers from the remembered words.
    assert fold(text) == _reference_fold(text)
    assert fold(text) == _reference_fold(text)
