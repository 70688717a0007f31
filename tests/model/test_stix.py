from __future__ import annotations

from datetime import UTC, datetime

import orjson
from stix2validator import ValidationOptions, validate_instance

from allsource.model.markings import TLP, Classification, Marking
from allsource.model.records import Document, Source
from allsource.model.stix import document_from_stix, document_to_stix, source_to_stix

OPTIONS = ValidationOptions(version="2.1", strict=False)


def _doc() -> Document:
    return Document.build(
        kind="article", title="Sednit adds two zero-day exploits",
        text="The Sednit group used spearphishing e-mails.", url="https://example.org/a",
        published_at=datetime(2015, 5, 9, 12, 0, tzinfo=UTC), labels=["apt28"],
        meta={"feed": "example"}, blob_sha256="ab" * 32, blob_ref="entry:0",
        marking=Marking(TLP.AMBER, Classification.RESTRICTED, frozenset({"X"}),
                        frozenset({"community"})))


def test_document_round_trips_losslessly() -> None:
    doc = _doc()
    obj = document_to_stix(doc, datetime(2024, 1, 1, tzinfo=UTC))
    back = document_from_stix(orjson.loads(orjson.dumps(obj)))
    assert back == doc


def test_document_and_source_are_valid_stix_21() -> None:
    bundle = {"type": "bundle", "id": "bundle--8f6d6fb4-3b3c-4a4f-9a4b-6f2a7f3f2f11",
              "objects": [document_to_stix(_doc(), datetime(2024, 1, 1, tzinfo=UTC)),
                          source_to_stix(Source("feeds", "rss", "https://example.org/f"))]}
    result = validate_instance(bundle, OPTIONS)
    assert result.is_valid, [str(e) for r in result.object_results for e in r.errors]


def test_grades_travel_as_confidence_and_custom_properties() -> None:
    from allsource.model.admiralty import Grade, Reliability

    obj = document_to_stix(_doc(), datetime(2024, 1, 1, tzinfo=UTC), Grade.parse("B2"))
    assert (obj["confidence"], obj["x_allsource_reliability"],
            obj["x_allsource_credibility"]) == (70, "B", 2)
    source = source_to_stix(Source("feeds", "rss", "https://example.org/f"), Reliability.C)
    assert source["x_allsource_reliability"] == "C"
    bundle = {"type": "bundle", "id": "bundle--8f6d6fb4-3b3c-4a4f-9a4b-6f2a7f3f2f12",
              "objects": [obj, source]}
    result = validate_instance(bundle, OPTIONS)
    assert result.is_valid, [str(e) for r in result.object_results for e in r.errors]
    assert document_from_stix(obj) == _doc()  # grades are derived, not part of the record
