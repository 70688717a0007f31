"""``allsource source add`` checks the location at once: one line, exit code 2, nothing
stored."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from tests.cli.conftest import Term


@pytest.mark.parametrize(("kind", "where", "says"), [
    ("files", "{tmp}/no-such-folder", "does not exist: give an existing file or folder"),
    ("rss", "ftp://feeds.example.org/all.xml", "ftp:// is not supported"),
    ("stix", "file:///etc/bundle.json", "file:// is not supported"),
    ("taxii", "{tmp}", "a taxii source needs an http(s) URL"),
    ("files", "https://example.org/reports/", "a files source reads local files, not URLs"),
    ("misp", "{tmp}/missing-events", "or an http(s) URL"),
    ("galaxy", "no-such-galaxy", "no MISP galaxy named 'no-such-galaxy'"),
    ("rss", "   ", "give a location"),
])
def test_bad_locations_fail_at_add(term: Term, tmp_path: Path, kind: str, where: str,
                                   says: str) -> None:
    shown = term("source", "add", "bad", kind, where.format(tmp=tmp_path), check=2)
    [line] = shown.err.splitlines()
    assert line.startswith("error: ") and says in line
    assert orjson.loads(term("source", "list", "--json").out) == []


def test_good_locations_are_stored(term: Term, tmp_path: Path) -> None:
    feed = tmp_path / "feed.xml"
    feed.write_text("<rss version='2.0'><channel><title>t</title></channel></rss>",
                    encoding="utf-8")
    term("source", "add", "folder", "files", str(tmp_path))
    term("source", "add", "feed-file", "rss", str(feed))
    term("source", "add", "feed-url", "rss", "https://feeds.example.org/all.xml")
    term("source", "add", "partner", "taxii", "https://taxii.example.org/taxii2/")
    term("source", "add", "actors", "galaxy", "threat-actor")
    names = [s["name"] for s in orjson.loads(term("source", "list", "--json").out)]
    assert sorted(names) == ["actors", "feed-file", "feed-url", "folder", "partner"]
