"""Folded text: the same length as the original, and remembered per document within a bound."""

from __future__ import annotations

from allsource.model.names import FOLD_MEMO_CHARS, _fold_memo, fold, fold_document

# Headlines adapted from GDELT sample rows and ATT&CK descriptions; non-ASCII on purpose.
TEXTS = ["APT28 — “Fancy Bear” targets Kyiv’s ministries",
         "İstanbul: Sofacy-linked phishing, 12 hit",
         "Plain ASCII: Turla uses Snake (Uroburos)."]


def test_fold_keeps_the_length_and_maps_non_word_characters_to_spaces() -> None:
    for text in TEXTS:
        folded = fold(text)
        assert len(folded) == len(text)
    assert fold(TEXTS[0]).startswith("apt28    fancy bear  targets kyiv s")
    assert fold(TEXTS[1])[0] == "İ"  # lowercases to two characters: kept as it is


def test_fold_document_is_fold_and_its_memory_is_bounded() -> None:
    _fold_memo.cache_clear()
    for text in TEXTS:
        assert fold_document(text) == fold(text)
        assert fold_document(text) == fold(text)  # the second time from memory
    assert _fold_memo.cache_info().hits == len(TEXTS)
    for i in range(300):
        fold_document(f"{TEXTS[0]} {i}")
    assert _fold_memo.cache_info().currsize == 256
    long = "Ω " * (FOLD_MEMO_CHARS // 2 + 1)
    misses = _fold_memo.cache_info().misses
    assert fold_document(long) == fold(long)
    assert _fold_memo.cache_info().misses == misses  # too long to keep: never stored
