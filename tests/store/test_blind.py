"""The blind index's words → tokens and the snippets cut from decrypted text."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from allsource.errors import InputError
from allsource.store.blind import (
    SNIPPET_WORDS,
    BlindIndex,
    Highlighter,
    query_prefixes,
    query_stems,
    snippet,
    stem,
    words,
)
from allsource.store.query import parse


def test_tokens_follow_normalisation_and_depend_on_the_key() -> None:
    a, b = BlindIndex(b"a" * 32), BlindIndex(b"b" * 32)
    assert a.token("Attacks") == a.token("attacked") == a.token("ATTACK")
    assert a.token("Café") == a.token("cafe")
    assert a.token("attack") != b.token("attack")
    assert a.token("attack") != a.token("defence")
    tok = a.token("attack")
    assert len(tok) == 11 and tok[0] == "k" and tok[-1].isdigit() and tok.isalnum()
    assert a.index("Spear-phishing attacks, again") == " ".join(
        a.token(w) for w in ("Spear", "phishing", "attacks", "again"))


def test_query_terms_become_token_phrases_and_prefixes_are_refused() -> None:
    idx = BlindIndex(b"k" * 32)
    q = idx.query(parse('"malicious attachments" OR dumping -encrypt'))
    assert q.all_of[0][0].text == f"{idx.token('malicious')} {idx.token('attachment')}"
    assert q.all_of[0][1].text == idx.token("dump")
    assert q.none_of[0].text == idx.token("encrypting")
    with pytest.raises(InputError, match="prefix search"):
        idx.query(parse("spear*"))


def test_snippet_marks_words_of_the_query_stems() -> None:
    text = ("Officials met on Monday. " * 30 + "The attackers dumped credentials from the "
            "domain controller before they encrypted the file servers. " + "Later. " * 40)
    out = snippet("Breach report", text, query_stems(parse("credential dumping")), "[", "]")
    assert "[dumped] [credentials]" in out
    assert out.startswith("…") and out.endswith("…")
    assert len(out.split()) <= 26
    # a stem whose first letters change (an accent) is still found by the word-by-word scan
    assert "[Éclair]" in snippet("", "un Éclair ici", {stem("eclair")}, "[", "]")
    # nothing matched: the start of the text, unmarked
    assert snippet("T", "alpha beta", {"zzz"}, "[", "]").startswith("T — alpha")


def test_tokens_keep_the_format_existing_stores_were_indexed_with() -> None:
    """The token of a word is ``k`` + bits 47…3 of HMAC-SHA256(key, stem) in 5-bit groups
    (alphabet 0-9a-v) + the last 3 bits as a digit: recomputed here bit by bit, so a faster
    encoder can never silently re-key the index of a store written before it."""
    import hashlib
    import hmac

    key = bytes(range(32))
    idx = BlindIndex(key)
    for word in ("attack", "Attacks", "Café", "ransomware", "x", "2024"):
        n = int.from_bytes(hmac.new(key, stem(word).encode(), hashlib.sha256).digest()[:6],
                           "big")
        alphabet = "0123456789abcdefghijklmnopqrstuv"
        expected = ("k" + "".join(alphabet[(n >> s) & 31] for s in range(43, 2, -5))
                    + str(n & 7))
        assert idx.token(word) == expected


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=0x7F), max_size=200)
       | st.text(max_size=200))
def test_words_are_what_the_word_pattern_finds(text: str) -> None:
    """The ASCII route (translate + split) and the pattern agree on any text."""
    assert words(text) == re.findall(r"\w+", text)


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=1, max_size=80), st.text(min_size=1, max_size=30))
def test_tokens_are_hmac_sha256_of_the_stem_for_any_key_and_word(key: bytes, word: str) -> None:
    """The prepared pad states give what ``hmac`` gives, keys longer than a block included."""
    import base64
    import hashlib
    import hmac

    digest = hmac.new(key, stem(word).encode("utf-8", "surrogatepass"), hashlib.sha256).digest()
    expected = ("k" + base64.b32hexencode(digest[:6])[:9].decode().lower()
                + str(digest[5] & 7))
    assert BlindIndex(key).token(word) == expected


def test_one_highlighter_cuts_every_hit_of_a_query_like_single_snippets() -> None:
    stems = query_stems(parse('"domain controller" OR dying'))
    texts = [("Report", "Nothing here. " * 50 + "The Domain controllers were hit."),
             ("", "They were dying to know. Later the domain was restored."),
             ("Straße", "un Éclair ici, no match at all"),
             ("", ""),
             ("T", "word " * 300 + "controller " + "tail " * 300)]
    hl = Highlighter(stems, "[", "]")
    for title, text in texts:
        assert hl.cut(title, text) == snippet(title, text, stems, "[", "]")
    assert "[Domain] [controllers]" in hl.cut(*texts[0])
    assert "[dying]" in hl.cut(*texts[1])  # stemmed to "die": found by the word scan
    assert hl.cut(*texts[3]) == ""
    cut = hl.cut(*texts[4])
    assert cut.startswith("…word") and "[controller]" in cut and cut.endswith("…")
    assert len(cut.split()) == SNIPPET_WORDS


def test_prefix_terms_mark_their_continuations_after_few_words_stemmed(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A prefix query's hit is excerpted around its first word that starts with the prefix
    (as the engines match it: the stem of ``commu`` is a prefix of ``communic``), found by
    stemming a few words — not every word of a long text, as before prefixes were known."""
    import allsource.store.blind as blind_module

    stemmed: list[str] = []
    real = blind_module.stem
    monkeypatch.setattr(blind_module, "stem", lambda w: stemmed.append(w) or real(w))
    parsed = parse("commu* credentials")
    text = "Adversaries may communicate over web protocols. " + "Traffic was blended. " * 800
    hl = Highlighter(query_stems(parsed), "[", "]", prefixes=query_prefixes(parsed))
    out = hl.cut("Report", text)
    assert "[communicate]" in out and "[credentials]" not in out
    assert len(stemmed) < 20
    # without the prefixes nothing is marked, and every word was stemmed looking for one
    stemmed.clear()
    plain = Highlighter(query_stems(parsed), "[", "]").cut("Report", text)
    assert "[" not in plain and len(set(stemmed)) >= 6
