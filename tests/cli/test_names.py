"""``allsource show NAME``: a name or alias shows the one thing it names; a name several
things answer to lists them with their full ids; an unknown name is a one-line error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from allsource.cli import names
from allsource.config import load_settings
from allsource.store import open_store
from tests.cli.conftest import Term

# ATT&CK's id for APT28, so the gazetteer's alias "Fancy Bear" names this stored object
APT28 = "intrusion-set--bef4c620-0787-42a8-a96d-b7eb6e85917c"
AKIRA_MALWARE = "malware--6f6b2353-4b39-40ce-9d6d-d00b7a61e656"
AKIRA_GROUP = "intrusion-set--46bb06cb-f2d9-4b37-8c92-a27e224ad90d"
NOW = "2024-05-01T00:00:00.000Z"


def _bundle(tmp_path: Path) -> Path:
    def sdo(kind: str, ident: str, name: str) -> dict[str, object]:
        return {"type": kind, "spec_version": "2.1", "id": ident, "name": name,
                "created": NOW, "modified": NOW, "is_family": True} if kind == "malware" else {
            "type": kind, "spec_version": "2.1", "id": ident, "name": name,
            "created": NOW, "modified": NOW}

    bundle = {"type": "bundle", "id": "bundle--0f6c8a36-9d0b-4d52-b2a4-0cb3c5f4a001",
              "objects": [sdo("intrusion-set", APT28, "APT28"),
                          sdo("malware", AKIRA_MALWARE, "Akira"),
                          sdo("intrusion-set", AKIRA_GROUP, "Akira"),
                          {"type": "relationship", "spec_version": "2.1",
                           "id": "relationship--5d0b8c1e-3c43-4b5e-9f7e-1a2b3c4d5e6f",
                           "relationship_type": "uses", "source_ref": AKIRA_GROUP,
                           "target_ref": AKIRA_MALWARE, "created": NOW, "modified": NOW}]}
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle), encoding="utf-8")
    return path


@pytest.fixture
def stored(term: Term, tmp_path: Path) -> Term:
    term("ingest", str(_bundle(tmp_path)), check=None)
    return term


def test_show_by_alias_name_and_id(stored: Term) -> None:
    by_alias = stored("show", "Fancy Bear")  # an alias the gazetteer knows
    assert by_alias.out.splitlines()[:2] == ["APT28 (intrusion-set)", f"id {APT28}"]
    assert stored("show", "apt28").out == by_alias.out  # any case
    assert stored("show", APT28).out == by_alias.out


def test_ambiguous_name_lists_the_candidates(stored: Term) -> None:
    shown = stored("show", "akira", check=2)
    assert shown.out == ""
    lines = shown.err.splitlines()
    assert lines[0] == "error: 'akira' names 2 things; give one of these ids:"
    assert sorted(line.split()[-1] for line in lines[1:]) == sorted([AKIRA_MALWARE,
                                                                      AKIRA_GROUP])
    # each id it lists shows that thing, and the relationship names its other end
    group = stored("show", AKIRA_GROUP).out
    assert "uses → Akira (malware)" in group and f"id {AKIRA_MALWARE}" in group


def test_unknown_name_is_one_line(stored: Term) -> None:
    shown = stored("show", "Nothing Of That Name", check=2)
    assert shown.err.splitlines() == [
        "error: nothing stored with the id or name 'Nothing Of That Name'"]


def test_candidates_by_name_in_any_case(tmp_path: Path, stored: Term) -> None:
    store = open_store(load_settings(database_url=f"sqlite:///{tmp_path / 'cli.db'}",
                                     blob_dir=tmp_path / "blobs"))
    try:
        found = names.candidates(store, "AKIRA")
        assert {c.id for c in found} == {AKIRA_MALWARE, AKIRA_GROUP}
        assert names.candidates(store, "  ") == []
        assert names.resolve(store, "no such thing") is None
    finally:
        store.close()
