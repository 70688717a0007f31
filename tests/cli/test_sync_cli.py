"""``allsource sync`` end to end through the CLI: one line naming the fix when there is no
partner, and ``--once`` against a partner that is down reports it and exits 1 (the loop
itself is tested in tests/share/test_sync_loop.py, the rounds in tests/share/taxii)."""

from __future__ import annotations

import socket

from tests.cli.conftest import Run


def test_sync_without_partner_and_with_one_that_is_down(cli: Run) -> None:
    missing = cli("sync", "--once", check=2)
    assert "no TAXII partner source" in missing.stderr
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    cli("source", "add", "peer", "taxii", f"http://127.0.0.1:{port}/taxii2/",
        "--allow-private")
    down = cli("sync", "--once", "-q", check=1)
    assert "round 1" in down.stdout and "peer: pulled 0 new" in down.stdout
    assert "pull:" in down.stdout
    wrong = cli("sync", "nope", "--once", check=2)
    assert "unknown source 'nope'" in wrong.stderr
