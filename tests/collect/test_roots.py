"""Local sources stay inside the file roots and never read allsource's own files."""

from __future__ import annotations

from pathlib import Path

import pytest

from allsource.collect.base import CollectContext
from allsource.collect.files import FilesCollector
from allsource.collect.roots import check_location, file_roots
from allsource.collect.runner import run_source
from allsource.config import Settings
from allsource.errors import SourceError
from allsource.model.records import Collected, Source
from allsource.store.blobs import BlobStore
from allsource.store.sql import SqlStore


def _confined(settings: Settings, *roots: Path) -> Settings:
    return settings.model_copy(update={"file_roots": list(roots)})


def test_default_roots_are_home_working_directory_and_temp(settings: Settings) -> None:
    roots = file_roots(settings.model_copy(update={"samples_dir": None}))
    assert Path.home().resolve() in roots and Path.cwd().resolve() in roots
    assert Path("/etc") not in roots and Path("/") not in roots


@pytest.mark.parametrize("location", ["/etc", "/etc/passwd", "/proc/self/environ", "/"])
def test_system_paths_are_refused(settings: Settings, tmp_path: Path, location: str) -> None:
    with pytest.raises(SourceError, match="outside the folders local sources may read"):
        check_location(_confined(settings, tmp_path), location)


def test_inside_a_root_is_allowed_urls_are_left_to_the_address_guard(
        settings: Settings, tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "report.txt").write_text("A report.", encoding="utf-8")
    (tmp_path / "elsewhere").mkdir()
    confined = _confined(settings, tmp_path / "in")
    check_location(confined, str(tmp_path / "in" / "report.txt"))
    check_location(confined, "https://example.org/feed.xml")
    check_location(confined, "threat-actor")  # a name (a galaxy), no path here
    with pytest.raises(SourceError):
        check_location(confined, str(tmp_path / "in" / ".." / "elsewhere"))


def test_a_symlink_out_of_a_root_is_refused(settings: Settings, tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "etc").symlink_to("/etc")
    with pytest.raises(SourceError, match="outside"):
        check_location(_confined(settings, tmp_path / "in"), str(tmp_path / "in" / "etc"))


def test_the_store_files_are_never_a_source(settings: Settings, tmp_path: Path) -> None:
    confined = _confined(settings, tmp_path)  # the test store lives in tmp_path
    settings.blob_dir.mkdir(parents=True, exist_ok=True)
    for own in (tmp_path / "test.db", tmp_path / "test.db-wal", settings.blob_dir / "ab"):
        own.touch()
        with pytest.raises(SourceError, match="allsource's own files"):
            check_location(confined, str(own))


def test_the_keys_are_never_a_source(settings: Settings, tmp_path: Path) -> None:
    confined = _confined(settings, tmp_path).model_copy(update={
        "encryption_key_file": tmp_path / "allsource.key",
        "audit_key_file": tmp_path / "allsource-audit.key"})
    for key in ("allsource.key", "allsource.key.retired-20261206", "allsource-audit.key"):
        (tmp_path / key).write_text("secret", encoding="utf-8")
        with pytest.raises(SourceError, match="allsource's own files"):
            check_location(confined, str(tmp_path / key))
    check_location(confined, str(tmp_path / "allsource.keynote"))  # only the keys themselves


def test_a_folder_walk_skips_the_store(store: SqlStore, settings: Settings,
                                       tmp_path: Path) -> None:
    (tmp_path / "note.txt").write_text("A note about phishing.", encoding="utf-8")
    store.blobs.put(b"a kept blob")
    ctx = CollectContext(settings=_confined(settings, tmp_path),
                         blobs=BlobStore(settings.blob_dir))
    collector = FilesCollector(Source("here", "files", str(tmp_path)), ctx)
    docs = [i.document for i in collector.collect({}) if isinstance(i, Collected)]
    assert [d.title for d in docs] == ["A note about phishing."]


def test_a_run_refuses_a_source_added_before_the_roots_narrowed(
        store: SqlStore, settings: Settings, tmp_path: Path) -> None:
    source = Source("etc", "files", "/etc")
    store.add_source(source)  # e.g. added by an older version
    ctx = CollectContext(settings=_confined(settings, tmp_path), blobs=store.blobs)
    result = run_source(store, source, ctx)
    assert result.status == "failed" and "outside the folders" in result.errors[0]
    assert store.count("documents") == 0


@pytest.mark.parametrize("raw", ["{a}", "{a}:{b}", '["{a}", "{b}"]'])
def test_the_environment_names_roots_as_folders_or_a_json_list(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, raw: str) -> None:
    from allsource.config import load_settings

    a, b = tmp_path / "a", tmp_path / "b"
    monkeypatch.setenv("ALLSOURCE_FILE_ROOTS", raw.format(a=a, b=b))
    roots = load_settings().file_roots
    assert roots == ([a] if raw == "{a}" else [a, b])
