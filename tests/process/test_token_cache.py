"""The remembering tokenizer gives the model's own tokenizer's ids and embeddings, on the
hand-labelled passages of ``benchmarks/data/topics.jsonl`` and on hostile text; its memory is
bounded and its work on repeated words is counted."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from model2vec import StaticModel
from tokenizers import Tokenizer

from allsource.process.token_cache import MAX_PIECE, PieceCache, fits
from allsource.process.topics import MAX_CHARS, MODEL_DIR, Embedder, document_text

DATA = Path(__file__).resolve().parents[2] / "benchmarks" / "data" / "topics.jsonl"
TEXTS = [document_text(r["title"], r["text"])
         for r in map(json.loads, DATA.read_text().splitlines())]
HOSTILE = [
    "Ça c'est\u00a0déjà vu — naïve café, İstanbul ǅemal ß ﬁ ①",
    "東京では\u3000日本語のテキスト。中文也可以 ไทย ภาษา",
    "a\x1cb\x1fc d\te\r\nf\u2028g\x0bh\x0ci\x85j",  # whitespace to Python, not all to BERT
    "evil\u200d.com x\u200by \ufeffbom \u00adsoft",
    "e\u0301 \u0301e o\u0308\u0323 \u1e0b\u0323 \u0301",  # combining marks at piece edges
    "[UNK] [PAD]x y[PAD] [unk] [PAD][PAD]",
    "ΣΊΣΥΦΟΣ ΟΔΟΣ σίσυφος",
    "x" * 300 + " " + "y" * 120 + " " + "z" * 49,  # WordPiece's 100-character limit
    "", " ", "\n\n", "  two  spaces \n\n newline ",
    "emoji 👍🏽 family 👨\u200d👩\u200d👧 flag 🇫🇷 — “quotes” … ‘x’",
    "word " * 700,  # past the 512-token truncation
    "a.b,c;d:e!f?g(h)i[j]k{l}m<n>o=p+q-r_s*t&u^v%w$x#y@z~`|\\/'\"",
    "x[UNK]y, a[PAD]. ([UNK]) é,\u0301a ,\u20dd1 hxxp://evil[.]com/a_b?c=d (Citation: Foo)",
]


@pytest.fixture(scope="module")
def raw() -> Tokenizer:
    return Tokenizer.from_file(str(MODEL_DIR / "tokenizer.json"))


def test_the_shipped_tokenizer_is_the_kind_the_cache_is_exact_for(raw: Tokenizer) -> None:
    assert fits(raw)
    spec = json.loads(raw.to_str())
    spec["pre_tokenizer"] = {"type": "Whitespace"}
    assert not fits(Tokenizer.from_str(json.dumps(spec)))


def test_ids_are_the_tokenizers_own(raw: Tokenizer) -> None:
    cache = PieceCache(Tokenizer.from_file(str(MODEL_DIR / "tokenizer.json")))
    texts = TEXTS + HOSTILE + [t.upper() for t in HOSTILE]
    for limit in (512, None, 7):
        if limit is None:
            cache.no_truncation()
            raw.no_truncation()
        else:
            cache.enable_truncation(limit)
            raw.enable_truncation(limit)
        got = [e.ids for e in cache.encode_batch_fast(texts, add_special_tokens=False)]
        want = [e.ids for e in raw.encode_batch(texts, add_special_tokens=False)]
        assert got == want
    assert any(len(ids) == 7 for ids in got) and max(map(len, want)) == 7


def test_embeddings_are_the_models_own() -> None:
    plain = StaticModel.from_pretrained(str(MODEL_DIR))
    embedder = Embedder()
    assert isinstance(embedder.model.tokenizer, PieceCache)
    texts = [t[:MAX_CHARS] for t in TEXTS + HOSTILE]
    assert np.array_equal(embedder.model.encode(texts), plain.encode(texts))
    assert np.array_equal(embedder.encode(texts[:40]), embedder.encode(texts[:40]))


def test_each_piece_is_tokenized_once_and_memory_is_bounded() -> None:
    cache = PieceCache(Tokenizer.from_file(str(MODEL_DIR / "tokenizer.json")), max_entries=50)
    cache.encode_batch_fast(["alpha beta gamma", "beta gamma delta"],
                            add_special_tokens=False)
    assert cache.tokenized == 4
    cache.encode_batch_fast(["gamma alpha\ndelta  beta epsilon"], add_special_tokens=False)
    assert cache.tokenized == 5  # only "epsilon" is new
    long = "q" * (MAX_PIECE + 1)
    cache.encode_batch_fast([f"{long} alpha"], add_special_tokens=False)
    assert long not in cache.pieces and "alpha" in cache.pieces
    cache.encode_batch_fast([" ".join(f"w{i}" for i in range(60))],
                            add_special_tokens=False)
    assert len(cache.pieces) <= 60 and "alpha" not in cache.pieces  # started afresh
    with pytest.raises(ValueError, match="special tokens"):
        cache.encode_batch_fast(["x"], add_special_tokens=True)
