"""Encryption at rest on both backends: sealed rows, the blind search index, wrong and missing
keys, rotation, sealing an existing plaintext store (store/keys.py, sealed.py, blind.py,
encrypt_existing.py)."""

from __future__ import annotations

import base64
import os
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from pydantic import SecretStr

from allsource.assess.alerts import (
    AlertDraft,
    Severity,
    alert_events,
    get_alert,
    raise_alerts,
)
from allsource.config import Settings
from allsource.errors import ConfigError, InputError, StoreError
from allsource.model.markings import Audience, Marking
from allsource.model.records import Collected, Document, Source
from allsource.store import cases, open_store
from allsource.store import schema as t
from allsource.store.encrypt_existing import encrypt_existing, plain_rows
from allsource.store.keys import LocalKek, create_key_file
from allsource.store.query import SearchQuery
from allsource.store.sql import HL_END, HL_START, SqlStore

OWNER = Audience.owner()
# Sentences from MITRE ATT&CK technique descriptions (as in test_store.py).
TEXTS = [
    ("Phishing: Spearphishing Attachment",
     "Adversaries may send spearphishing emails with a malicious attachment in an attempt to "
     "gain access to victim systems."),
    ("OS Credential Dumping",
     "Adversaries may attempt to dump credentials to obtain account login and credential "
     "material, normally in the form of a hash or a clear text password."),
    ("Data Encrypted for Impact",
     "Adversaries may encrypt data on target systems or on large numbers of systems in a "
     "network to interrupt availability to system and network resources."),
]


def _key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def _open(settings: Settings, key: str | None) -> SqlStore:
    return open_store(settings.model_copy(update={
        "encryption_key": None if key is None else SecretStr(key)}))


def _fill(store: SqlStore) -> Source:
    src = Source(name="src", kind="files", location="/tmp/x")
    store.add_source(src)
    store.write_batch(src, [Collected(Document.build(kind="attack-pattern", title=ti, text=x))
                            for ti, x in TEXTS], [], None)
    return src


def test_sealed_rows_hold_no_plain_text_and_read_back(backend: Settings) -> None:
    store = _open(backend, _key())
    _fill(store)
    with store.engine.connect() as conn:
        raw = conn.execute(sa.text("SELECT title, text, index_title, index_text "
                                   "FROM documents")).all()
    for title, text, index_title, index_text in raw:
        assert title.startswith("as1.") and text.startswith("as1.")
        # the blind tokens are in the full-text index only (test_blind_storage.py)
        assert index_title == index_text == ""
    doc_id = store.document_ids()[0]
    view = store.get(doc_id, OWNER)
    assert view is not None and view["text"] in {x for _, x in TEXTS}
    assert view["title"] in {ti for ti, _ in TEXTS}
    store.close()


def test_blind_search_words_phrases_or_not_and_snippets(backend: Settings) -> None:
    store = _open(backend, _key())
    _fill(store)
    res = store.search(SearchQuery("credentials"), OWNER)
    assert [h.title for h in res.hits] == ["OS Credential Dumping"]
    assert HL_START + "credentials" + HL_END in res.hits[0].snippet
    # stemming: "attempting" and "attempt" share a stem; phrases need order
    assert store.search(SearchQuery("attempting"), OWNER).total == 2
    assert store.search(SearchQuery('"malicious attachment"'), OWNER).total == 1
    assert store.search(SearchQuery('"attachment malicious"'), OWNER).total == 0
    assert store.search(SearchQuery("encrypt OR spearphishing"), OWNER).total == 2
    assert store.search(SearchQuery("adversaries -encrypt"), OWNER).total == 2
    assert store.search(SearchQuery("dumping"), OWNER).hits[0].title == "OS Credential Dumping"
    # filtered path (not the ranked-first one) cuts snippets from decrypted text too
    filtered = store.search(SearchQuery("network", kinds=["attack-pattern"]), OWNER)
    assert [h.title for h in filtered.hits] == ["Data Encrypted for Impact"]
    assert HL_START + "network" + HL_END in filtered.hits[0].snippet
    with pytest.raises(InputError, match="prefix search"):
        store.search(SearchQuery("spearph*"), OWNER)
    store.close()


def test_swapped_ciphertext_fails_instead_of_reading_another_row(backend: Settings) -> None:
    store = _open(backend, _key())
    _fill(store)
    with store.engine.begin() as conn:
        rows = conn.execute(sa.text("SELECT id, text FROM documents ORDER BY id")).all()
        conn.execute(sa.text("UPDATE documents SET text = :x WHERE id = :i"),
                     {"x": rows[0].text, "i": rows[1].id})
    with pytest.raises(StoreError, match="does not decrypt"):
        store.get(rows[1].id, OWNER)
    assert store.get(rows[0].id, OWNER) is not None
    store.close()


def test_wrong_and_missing_keys_are_one_line_errors(backend: Settings) -> None:
    store = _open(backend, _key())
    _fill(store)
    doc_id = store.document_ids()[0]
    store.close()
    with pytest.raises(StoreError, match="wrong key") as wrong:
        _open(backend, _key())
    assert "\n" not in str(wrong.value)
    locked = _open(backend, None)  # opens: sources and counts need no key
    assert locked.count("documents") == 3
    for read in (lambda: locked.get(doc_id, OWNER),
                 lambda: locked.search(SearchQuery("credentials"), OWNER)):
        with pytest.raises(StoreError, match=r"no key is configured|no configured key") as err:
            read()
        assert "\n" not in str(err.value)
    with pytest.raises(StoreError, match="no key is configured"):
        locked.write_batch(locked.list_sources()[0], [Collected(Document.build(
            kind="article", title="x", text="never stored in plain text"))], [], None)
    locked.close()


def test_rotation_rewraps_keys_and_leaves_content_alone(backend: Settings,
                                                        tmp_path: Path) -> None:
    old = _key()
    store = _open(backend, old)
    _fill(store)
    with store.engine.connect() as conn:
        before = conn.execute(sa.text("SELECT id, text FROM documents ORDER BY id")).all()
        keys_before = conn.execute(sa.select(t.data_keys.c.id, t.data_keys.c.wrapped)).all()
    new = create_key_file(tmp_path / "new.key")
    assert (tmp_path / "new.key").stat().st_mode & 0o777 == 0o600
    assert store.keys.rotate(new) == len(keys_before)
    with store.engine.connect() as conn:
        after = conn.execute(sa.text("SELECT id, text FROM documents ORDER BY id")).all()
        keys_after = dict(conn.execute(sa.select(t.data_keys.c.id, t.data_keys.c.wrapped)).all())
    assert after == before  # content untouched
    assert all(keys_after[i] != w for i, w in keys_before)  # every key re-wrapped
    store.close()
    with pytest.raises(StoreError, match="wrong key"):
        _open(backend, old)
    reopened = open_store(backend.model_copy(update={"encryption_key_file":
                                                     tmp_path / "new.key"}))
    assert reopened.search(SearchQuery("credentials"), OWNER).total == 1
    assert reopened.keys.status().wrapped_by == {new.id: len(keys_before)}
    reopened.close()


def test_plaintext_store_keeps_working_then_is_sealed_in_place(backend: Settings) -> None:
    plain = _open(backend, None)
    src = _fill(plain)
    assert not plain.keys.encrypted
    assert plain.search(SearchQuery("spearph*"), OWNER).total == 1  # prefix: plain store
    blob = plain.blobs.put(b"raw input about credential dumping")
    plain.close()

    key = _key()
    store = _open(backend, key)  # encrypted from now on; old rows still plain
    store.write_batch(src, [Collected(Document.build(
        kind="article", title="Credential theft wave", text="Attackers dumped credentials."))],
        [], None)
    assert store.keys.status().plaintext_documents == 3
    assert store.search(SearchQuery("credentials"), OWNER).total == 2  # plain + sealed rows
    done = encrypt_existing(store)
    assert (done.documents, done.blobs) == (3, 1)
    assert store.keys.status().plaintext_documents == 0
    assert store.blobs.is_sealed(blob)
    assert store.blobs.get(blob) == b"raw input about credential dumping"
    assert store.search(SearchQuery("credentials"), OWNER).total == 2
    assert store.search(SearchQuery('"malicious attachment"'), OWNER).total == 1
    assert encrypt_existing(store).documents == 0  # resumable: nothing left
    with store.engine.connect() as conn:
        texts = conn.execute(sa.text("SELECT text FROM documents")).scalars().all()
    assert all(x.startswith("as1.") for x in texts)
    if store.dialect_name == "sqlite":  # no old copy in free pages or FTS5 segments
        db = Path(sa.engine.make_url(store.url).database or "")
        for f in (db, db.with_name(db.name + "-wal")):
            assert b"spearphishing" not in (f.read_bytes().lower() if f.exists() else b"")
    store.close()


def test_sealed_blob_moved_to_another_name_does_not_open(settings: Settings) -> None:
    store = _open(settings, _key())
    a, b = store.blobs.put(b"first raw input"), store.blobs.put(b"second raw input")
    assert b"first" not in store.blobs.path(a).read_bytes()
    store.blobs.path(b).write_bytes(store.blobs.path(a).read_bytes())
    with pytest.raises(StoreError, match="does not decrypt"):
        store.blobs.get(b)
    store.close()


def test_store_files_are_private(settings: Settings, tmp_path: Path) -> None:
    store = _open(settings, _key())
    _fill(store)
    store.blobs.put(b"raw input")
    db = tmp_path / "test.db"
    files = [p for p in tmp_path.glob("test.db*")]
    assert {p.name for p in files} >= {"test.db", "test.db-wal", "test.db-shm"}
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in files), \
        {p.name: oct(p.stat().st_mode) for p in files}
    blobs = list(store.blobs.root.rglob("*"))
    assert blobs and all(p.stat().st_mode & 0o777 == (0o700 if p.is_dir() else 0o600)
                         for p in [store.blobs.root, *blobs])
    store.close()
    db.chmod(0o644)  # a store created by an older version is narrowed when opened
    open_store(settings).close()
    assert db.stat().st_mode & 0o777 == 0o600


def test_key_file_readable_by_others_is_refused(settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "k" / "allsource.key"
    kek = create_key_file(path)
    assert path.stat().st_mode & 0o777 == 0o600
    with pytest.raises(ConfigError, match="already exists"):
        create_key_file(path)
    path.chmod(0o644)
    with pytest.raises(ConfigError, match="readable by others"):
        open_store(settings.model_copy(update={"encryption_key_file": path}))
    path.chmod(0o600)
    store = open_store(settings.model_copy(update={"encryption_key_file": path}))
    assert store.keys.kek is not None and store.keys.kek.id == kek.id
    store.close()
    with pytest.raises(ConfigError, match="does not exist"):
        open_store(settings.model_copy(update={"encryption_key_file": tmp_path / "nope.key"}))
    with pytest.raises(ConfigError, match="32"):
        LocalKek(b"short", "test")


def test_claims_and_their_grades_are_sealed_other_annotations_stay_queryable(
        backend: Settings) -> None:
    from datetime import UTC, datetime

    from allsource.process.base import Work
    from allsource.store.processing import write_results

    store = _open(backend, _key())
    _fill(store)
    doc_id = store.document_ids()[0]
    claim = {"claims": [{"kind": "attribution", "text": "Officials said the dump was done"}]}
    work = Work(id=doc_id, title="t", text="x",
                annotations={"claims": claim, "topics": {"labels": ["cyber"]}})
    write_results(store, [work], {"claims": "1", "topics": "1"})
    row = {"key": "attr:x", "value": "y", "event": 0, "kind": "attribution",
           "text": "Officials said the dump was done", "credibility": 3, "independent": 1,
           "reports": 1, "contradicted": False, "explanation": {"claim": "the dump was done"},
           "computed_at": datetime.now(UTC).replace(tzinfo=None),
           **Marking().to_columns()}  # a stored grade carries its reports' marking (0021)
    with store.engine.begin() as conn:
        store._bulk_insert(conn, t.claim_grades, [row])
    with store.engine.connect() as conn:
        raw = dict(conn.execute(sa.text("SELECT stage, CAST(data AS TEXT) FROM annotations "
                                        "WHERE document_id = :d"), {"d": doc_id}).all())
        graded = conn.execute(sa.text("SELECT text, CAST(explanation AS TEXT) "
                                      "FROM claim_grades")).one()
        back = conn.execute(sa.select(t.claim_grades.c.text, t.claim_grades.c.explanation)
                            ).one()
    assert "Officials" not in raw["claims"] and "as1." in raw["claims"]
    assert "cyber" in raw["topics"]  # other stages stay plain JSON, queryable in SQL
    assert "dump" not in graded[0] + graded[1]
    assert tuple(back) == (row["text"], row["explanation"])
    view = store.get(doc_id, OWNER)
    assert view is not None and view["annotations"]["claims"]["claims"] == claim["claims"]
    assert view["annotations"]["topics"]["labels"] == ["cyber"]
    store.close()


class _InProcessKms:
    """A key provider plugin as a KMS client would be one: it wraps and unwraps, the store
    never sees its key."""

    name = "test-kms"
    calls: list[str] = []

    def __init__(self, settings: Settings) -> None:
        self.id, self.origin = "kms-key-1", "KMS test-kms"
        self._kek = LocalKek(b"k" * 32, "kms")

    def wrap(self, key_id: str, key: bytes, purpose: str) -> bytes:
        self.calls.append("wrap")
        return self._kek.wrap(key_id, key, purpose)

    def unwrap(self, key_id: str, wrapped: bytes, purpose: str) -> bytes | None:
        self.calls.append("unwrap")
        return self._kek.unwrap(key_id, wrapped, purpose)


class _KmsPlugin:
    from allsource.hookspecs import hookimpl

    @hookimpl
    def register_key_providers(self) -> list[type[_InProcessKms]]:
        return [_InProcessKms]


def test_a_kms_plugin_wraps_the_data_keys(settings: Settings) -> None:
    from allsource.plugins import plugin_manager

    pm, plugin = plugin_manager(), _KmsPlugin()
    pm.register(plugin)
    try:
        kms = settings.model_copy(update={"encryption_kms": "test-kms"})
        store = open_store(kms)
        _fill(store)
        assert store.keys.status().wrapped_by == {"kms-key-1": 2}  # index + data key
        assert _InProcessKms.calls.count("wrap") == 2
        store.close()
        again = open_store(kms)
        assert again.search(SearchQuery("credentials"), OWNER).total == 1
        assert "unwrap" in _InProcessKms.calls
        again.close()
        with pytest.raises(ConfigError, match="no key provider named 'nope'"):
            open_store(settings.model_copy(update={"encryption_kms": "nope"}))
    finally:
        pm.unregister(plugin)


def _docs() -> list[Document]:
    """The documents :func:`_fill` stores (IDs are deterministic)."""
    return [Document.build(kind="attack-pattern", title=ti, text=x) for ti, x in TEXTS]


def _derived(store: SqlStore, doc: Document) -> tuple[str, str]:
    """An alert, a watchlist hit, a risk score and a case citing ``doc``: what quotes it."""
    [alert_id] = raise_alerts(store, [AlertDraft(
        kind="watchlist", severity=Severity.HIGH, title=f"wl: dump in “{doc.title}”",
        group_key="watchlist:w", document_id=doc.id, details={"hits": [{"matched": "dump"}]})])
    with store.engine.begin() as conn:
        store._bulk_insert(conn, t.watchlist_hits, [{
            "term_id": 1, "document_id": doc.id, "watchlist_id": "w", "matched": "Dumped",
            "span_start": 0, "span_end": 6, "evidence": "text", "occurrences": 1,
            "via": "process", "created_at": datetime(2024, 5, 1), **Marking().to_columns()}])
        store._bulk_insert(conn, t.risk_scores, [{
            "subject_type": "indicator", "subject_id": "indicator--1", "name": "1.2.3.4",
            "kind": "ipv4", "score": 0.5, "likelihood": 0.5, "impact": 0.5,
            "components": {"credibility": f"best-graded: {doc.id} ({doc.title})"},
            "last_seen": None, "expires_at": None, "computed_at": datetime(2024, 5, 1),
            **Marking().to_columns()}])
    case = cases.create_case(store, "Dumps", owner="ana")
    evidence = cases.add_evidence(store, case.id, actor="ana", document_id=doc.id)
    cases.update_evidence(store, case.id, evidence.id, actor="ana",
                          description=f"{doc.title}, second look")
    return alert_id, case.id


def test_encrypt_existing_seals_what_quotes_documents(backend: Settings) -> None:
    plain = _open(backend, None)
    _fill(plain)
    doc = _docs()[1]
    alert_id, case_id = _derived(plain, doc)
    plain.close()

    store = _open(backend, _key())
    before = plain_rows(store)
    assert before == {"alerts": 1, "alert_hits": 1, "alert_events": 1, "case_evidence": 1,
                      "case_events": 1, "risk_scores": 1, "watchlist_hits": 1}
    done = encrypt_existing(store)
    assert done.rows == before and plain_rows(store) == {}
    assert encrypt_existing(store).rows == {}  # resumable: nothing left
    with store.engine.connect() as conn:
        for sql in ("SELECT title FROM alerts", "SELECT comment FROM alert_events",
                    "SELECT matched FROM watchlist_hits",
                    "SELECT CAST(components AS TEXT) FROM risk_scores",
                    "SELECT description FROM case_evidence",
                    "SELECT CAST(details AS TEXT) FROM case_events "
                    "WHERE action = 'evidence-updated'"):
            values = conn.execute(sa.text(sql)).scalars().all()
            assert values and all("Dump" not in v and "as1." in v for v in values), sql
    # read back as written, through the usual functions
    alert = get_alert(store, alert_id)
    assert alert is not None and alert.title == f"wl: dump in “{doc.title}”"
    assert [e.comment for e in alert_events(store, alert_id)] == [alert.title]
    [evidence] = cases.list_evidence(store, case_id)
    assert evidence.description == f"{doc.title}, second look"
    updated = [e for e in cases.case_events(store, case_id) if e.action == "evidence-updated"]
    assert updated[0].details["description"] == evidence.description
    with store.engine.connect() as conn:
        hit = conn.execute(sa.select(t.watchlist_hits.c.matched)).scalar_one()
        components = conn.execute(sa.select(t.risk_scores.c.components)).scalar_one()
    assert hit == "Dumped" and doc.title in components["credibility"]
    store.close()


def test_derived_rows_are_sealed_when_written_and_bound_to_their_row(
        backend: Settings) -> None:
    store = _open(backend, _key())
    _fill(store)
    docs = _docs()
    _derived(store, docs[0])
    second, _ = _derived(store, docs[1])
    assert plain_rows(store) == {}
    with store.engine.begin() as conn:  # a thief with write access swaps two ciphertexts
        conn.execute(sa.text("UPDATE case_evidence SET description = (SELECT min(description)"
                             " FROM case_evidence)"))
    with pytest.raises(StoreError):
        for case in cases.list_cases(store)[0]:
            cases.list_evidence(store, case.id)
    assert get_alert(store, second) is not None
    store.close()
