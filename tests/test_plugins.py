"""Contract test: every registered collector goes through the run lifecycle and the marking
checks the same way, and a third-party plugin registers through the same hook."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from allsource.collect.base import CollectContext, Collector
from allsource.collect.runner import run_source
from allsource.hookspecs import hookimpl
from allsource.model.markings import TLP, Audience, Marking
from allsource.model.records import Checkpoint, Collected, Document, Item, Source
from allsource.plugins import collectors, plugin_manager
from allsource.store.sql import SqlStore

BUILT_IN = {"rss", "stix", "taxii", "misp", "files", "gdelt", "galaxy"}


def test_built_in_collectors_register_through_entry_points() -> None:
    assert set(collectors()) >= BUILT_IN


@pytest.mark.parametrize("name", sorted(BUILT_IN))
def test_collector_declares_its_contract(name: str) -> None:
    cls = collectors()[name]
    assert cls.name == name
    assert cls.description, f"{name} has no description"
    assert isinstance(cls.max_tlp, TLP)
    assert cls.time_limit > 0 and cls.default_schedule > 0
    assert 0 <= cls.detect("/nonexistent/input", b"") <= 100


@pytest.mark.parametrize("name", sorted(BUILT_IN))
def test_collector_on_missing_input_leaves_a_run_record_and_no_documents(
        name: str, store: SqlStore, ctx: CollectContext, tmp_path: Path) -> None:
    location = "http://127.0.0.1:9/nothing" if name == "taxii" else str(tmp_path / "missing")
    source = Source(name=f"contract-{name}", kind=name, location=location,
                    marking=Marking(tlp=TLP.AMBER))
    store.add_source(source)
    result = run_source(store, source, ctx)
    assert result.status in {"ok", "failed"}
    assert result.counts.new == 0
    assert result.errors or result.counts.quarantined, "a missing input must be reported"
    status = store.source_status(source.id)
    assert status["last_run"]["status"] == result.status


class _Echo(Collector):
    """A third-party collector: one document per line of its location string."""

    name = "echo-test"
    description = "test plugin"

    def collect(self, checkpoint: dict[str, Any]) -> Iterator[Item]:
        for i, line in enumerate(self.source.location.split("|")):
            yield Collected(Document.build(kind="note", title=line, text=line,
                                           marking=self.marking))
            yield Checkpoint({"line": i})


class _ThirdParty:
    @hookimpl
    def register_collectors(self) -> list[type[Collector]]:
        return [_Echo]


def test_third_party_plugin_uses_the_same_hook(store: SqlStore, ctx: CollectContext) -> None:
    pm = plugin_manager()
    plugin = _ThirdParty()
    pm.register(plugin)
    try:
        assert collectors()["echo-test"] is _Echo
        source = Source(name="echo", kind="echo-test", location="alpha|beta",
                        marking=Marking(tlp=TLP.RED))
        store.add_source(source)
        result = run_source(store, source, ctx)
        assert (result.status, result.counts.new) == ("ok", 2)
        assert store.get_checkpoint(source.id) == {"line": 1}
        assert store.stats(Audience.owner())["documents_by_tlp"] == {
            "TLP:RED": 2}
    finally:
        pm.unregister(plugin)
    assert "echo-test" not in collectors()


def test_public_api_is_pinned() -> None:
    import allsource

    assert sorted(allsource.__all__) == sorted([
        "TLP", "Audience", "Classification", "Document", "Marking", "Relationship", "Source",
        "StixObject", "__version__", "can_release"])
