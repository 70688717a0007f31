"""Generated content (hypothesis): whatever a source sent or an extractor proposed — names,
descriptions and observable values with quotes, backslashes, control characters and any
Unicode, any marking — completes to STIX 2.1 the validator accepts with zero errors, gives
only indicator patterns ``stix2-patterns`` accepts, and a MISP event PyMISP loads."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pymisp import MISPEvent  # type: ignore[import-untyped]
from stix2patterns.validator import validate as validate_pattern  # type: ignore[import-untyped]

from allsource.model.markings import TLP, Classification, Marking
from allsource.share import stix_markings as sm
from allsource.share.misp_export import misp_events
from allsource.share.stix_bundle import indicator_pattern
from allsource.share.stix_objects import complete, expressible
from tests.share.conftest import EXPORT_WARNINGS, validate

SDO = ["threat-actor", "intrusion-set", "malware", "tool", "campaign", "attack-pattern",
       "identity", "vulnerability", "infrastructure", "course-of-action"]
VALUED = ["ipv4-addr", "domain-name", "url", "email-addr"]
text = st.text(min_size=1, max_size=80).filter(lambda s: s.strip())
names = st.lists(st.sampled_from(["alpha", "bravo", "nato", "eu", "x-1"]), max_size=3,
                 unique=True).map(frozenset)
markings = st.builds(Marking, tlp=st.sampled_from(list(TLP)),
                     classification=st.sampled_from(list(Classification)),
                     compartments=names, releasability=names)
when = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1))


def _refs(marking: Marking) -> tuple[list[str], list[dict[str, Any]]]:
    ours = sm.marking_definition(marking)
    refs = [next(k for k, v in sm.TLP2_IDS.items() if v == marking.tlp)]
    defs = [sm.TLP2_DEFINITIONS[refs[0]], sm.producer_identity()]
    if ours is not None:
        refs.append(ours["id"])
        defs += [ours, sm.marking_extension_definition()]
    return refs, defs


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from(SDO), name=text, description=st.one_of(st.none(), text),
       created=when, marking=markings)
def test_completed_domain_objects_validate(kind: str, name: str, description: str | None,
                                           created: datetime, marking: Marking) -> None:
    stix: dict[str, Any] = {"type": kind}
    if description is not None:
        stix["description"] = description
    refs, defs = _refs(marking)
    obj = complete(stix, f"{kind}--{uuid.uuid4()}", name, created, marking, present=set(),
                   marking_refs=refs)
    assert expressible(obj)
    validate({"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": [*defs, obj]},
             (*EXPORT_WARNINGS, "{303}", "{302}"))
    back = sm.marking_from_refs(obj["object_marking_refs"], {d["id"]: d for d in defs},
                                Marking())
    assert back == marking


@settings(max_examples=60, deadline=None)
@given(kind=st.sampled_from(VALUED), value=text)
def test_indicator_patterns_are_valid_or_absent(kind: str, value: str) -> None:
    pattern = indicator_pattern({"type": kind, "value": value})
    if pattern is not None:
        assert validate_pattern(pattern, stix_version="2.1", print_errs=False)
        assert pattern.startswith(f"[{kind}:value = '")


@settings(max_examples=25, deadline=None)
@given(values=st.lists(st.tuples(st.sampled_from(VALUED), text), min_size=1, max_size=5),
       title=text, marking=markings)
def test_misp_events_of_generated_bundles_load(values: list[tuple[str, str]], title: str,
                                               marking: Marking) -> None:
    refs, defs = _refs(marking)
    observables = [{"type": k, "spec_version": "2.1", "id": f"{k}--{uuid.uuid4()}",
                    "value": v, "object_marking_refs": refs} for k, v in values]
    report = {"type": "report", "spec_version": "2.1", "id": f"report--{uuid.uuid4()}",
              "name": title, "created": "2026-01-01T00:00:00.000Z",
              "modified": "2026-01-01T00:00:00.000Z", "published": "2026-01-01T00:00:00.000Z",
              "object_refs": [o["id"] for o in observables], "object_marking_refs": refs}
    bundle = {"type": "bundle", "id": f"bundle--{uuid.uuid4()}",
              "objects": [*defs, report, *observables]}
    for data in misp_events(bundle, label=title) + misp_events(bundle, label=title,
                                                               per_report=True):
        event = MISPEvent()
        event.load(data)
        assert {a.value for a in event.attributes} == {v for _, v in values}
        assert marking.tlp.label.lower() in {t.name for t in event.tags}


def test_completion_drops_empty_lists_and_spells_out_registry_hives() -> None:
    # both seen on the demo store: galaxy entries with no aliases, ATT&CK-style HKLM keys
    actor = complete({"type": "intrusion-set", "aliases": []},
                     f"intrusion-set--{uuid.uuid4()}", "APT-X", None, Marking())
    key = complete({"type": "windows-registry-key", "key": "HKLM\\SYSTEM\\Services"},
                   f"windows-registry-key--{uuid.uuid4()}", "", None, Marking())
    assert "aliases" not in actor
    assert key["key"] == "HKEY_LOCAL_MACHINE\\SYSTEM\\Services"
    validate({"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": [actor, key]},
             (*EXPORT_WARNINGS, "{303}"))
