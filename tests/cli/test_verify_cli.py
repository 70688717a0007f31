"""``allsource verify``, ``allsource grade`` and the source reliability override, end to end.

Texts: MITRE ATT&CK v15 (see tests/verify/test_verify_store.py)."""

from __future__ import annotations

from pathlib import Path

from stix2validator import ValidationOptions, validate_instance

from tests.cli.conftest import Run, as_json
from tests.verify.test_verify_store import COPIES, INDEPENDENT, ORIGINAL


def test_verify_grade_and_override(cli: Run, tmp_path: Path) -> None:
    texts = {"wire-a": ORIGINAL, "wire-b": COPIES[0], "lab-c": INDEPENDENT[0],
             "lab-d": INDEPENDENT[1]}
    for name, text in texts.items():
        folder = tmp_path / name
        folder.mkdir()
        (folder / "report.txt").write_text(text)
        cli("source", "add", name, "files", str(folder))
    cli("collect")
    cli("process")
    out = as_json(cli("verify", "--json"))
    assert isinstance(out, dict)
    assert out["claims"] > 0 and set(out["sources"]) == set(texts)
    assert all(s["reliability"] == "F" for s in out["sources"].values())  # all new
    hit = as_json(cli("search", "CHOPSTICK", "--source", "wire-b", "--json"))["hits"][0]  # type: ignore[index]
    grade = as_json(cli("grade", hit["id"], "--json"))
    assert isinstance(grade, dict)
    uses = [c for c in grade["explanation"]["claims"] if c["key"].startswith("rel:uses:")]
    assert uses and uses[0]["independent_origins"] == 3 and uses[0]["credibility"] == 1
    text = cli("grade", hit["id"]).stdout
    assert "independent origin" in text and "copies: same story" in text
    assert 'admiralty-scale:information-credibility="1"' in text
    stix = as_json(cli("grade", hit["id"], "--stix"))
    assert isinstance(stix, dict)
    assert (stix["confidence"], stix["x_allsource_credibility"]) == (90, 1)
    result = validate_instance({"type": "bundle", "id": "bundle--" + stix["id"][-36:],
                                "objects": [stix]}, ValidationOptions(version="2.1"))
    assert result.is_valid, [str(e) for r in result.object_results for e in r.errors]

    # at 80 columns: the source, its grade and score, and why; the counts named for --wide
    narrow = cli("verify", columns=80).stdout
    table = narrow.split("source reliability")[1]
    assert all(len(line) <= 80 for line in table.splitlines()) and "…" not in table
    header = next(line for line in table.splitlines() if "grade" in line)
    assert [c.strip() for c in header.strip("┃").split("┃")] == [
        "source", "grade", "score", "why"]
    assert "confirmed, refuted, track (days) left out" in " ".join(table.split())
    assert all(name in table for name in texts)
    shown_narrow = cli("source", "show", "wire-a", columns=80).stdout
    assert all(len(line) <= 80 for line in shown_narrow.splitlines())
    # the folder is whole, folded onto the lines below when it is long
    assert "…" not in shown_narrow
    assert str(tmp_path / "wire-a") in "".join(shown_narrow.split())

    proc = cli("source", "grade", "lab-c", "B", check=2)
    assert "--reason" in proc.stderr
    cli("source", "grade", "lab-c", "B", "--reason", "vetted partner", "--analyst", "ana")
    cli("verify")
    shown = as_json(cli("source", "show", "lab-c", "--json"))
    assert isinstance(shown, dict)
    assert shown["reliability"] == "B"
    assert shown["overrides"][0]["analyst"] == "ana"
    assert "analyst override" in cli("source", "show", "lab-c").stdout
    cli("source", "grade", "lab-c", "--clear", "--reason", "review ended")
    cli("verify")
    assert as_json(cli("source", "show", "lab-c", "--json"))["reliability"] == "F"  # type: ignore[index]
    assert "no grade" in cli("grade", "doc--nope", check=2).stderr
