"""``allsource export --as USER``: the export a named user would get from the API — their
access decides what the file holds (an AMBER desk stays out of a GREEN reader's bundle),
through the API's checks (an unknown or disabled user gets a one-line error), and the audit
event names the user it was made for."""

from __future__ import annotations

from pathlib import Path

import orjson

from tests.cli.conftest import Run
from tests.share.conftest import SHARE


def _reports(path: Path) -> set[str]:
    return {o["name"] for o in orjson.loads(path.read_bytes())["objects"]
            if o["type"] == "report"}


def test_export_as_a_user_holds_only_what_they_read(cli: Run, tmp_path: Path) -> None:
    lines = (SHARE / "reports.jsonl").read_bytes().splitlines()
    (tmp_path / "open.jsonl").write_bytes(lines[0] + b"\n")
    (tmp_path / "amber.jsonl").write_bytes(lines[1] + b"\n")
    cli("source", "add", "open-desk", "files", str(tmp_path / "open.jsonl"))
    cli("source", "add", "amber-desk", "files", str(tmp_path / "amber.jsonl"), "--tlp", "amber")
    cli("collect")
    cli("user", "add", "gina", "--role", "reader", "--tlp", "green")
    out = tmp_path / "bundle.json"
    cli("export", "-o", str(out))
    everything = _reports(out)
    assert len(everything) == 2
    shown = cli("export", "--as", "gina", "-o", str(out))
    assert "wrote" in shown.stdout
    assert _reports(out) == {n for n in everything if "lookalike" in n}
    assert "no user 'nobody'" in cli("export", "--as", "nobody", "-o", str(out),
                                     check=2).stderr
    cli("user", "disable", "gina")
    assert "disabled" in cli("export", "--as", "gina", "-o", str(out), check=2).stderr
    audit = cli("audit", "log", "--json").stdout
    assert '"as_user":"gina"' in audit.replace(" ", "")
