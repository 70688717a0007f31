"""``allsource serve``: the workspace API (and web UI, when installed) with uvicorn.

With ``--workers N`` uvicorn starts N processes, each opening the store itself: everything a
request may need from an earlier one lives in the store (web sessions, login throttles,
the audit chain's head, the embeddings' version), so any worker can answer any request.
The store is opened and migrated once here, before the workers start, so they never race
to migrate a fresh store; they rebuild the settings from the same global options, passed
to them in :data:`allsource.api.app.OVERRIDES_ENV` (the environment of a child process,
readable by this user only).
"""

from __future__ import annotations

import ipaddress
import json
import os
from typing import Annotated

import typer

from allsource.cli.common import console, state
from allsource.errors import InputError

#: seconds an idle keep-alive connection stays open. uvicorn's default (5 s) equals httpx's
#: and many clients' own idle expiry, so a client could send on a connection the server was
#: closing at that moment: one ``ReadError`` in ~1,800 requests under 50 clients
#: (benchmarks/api.py). Clients (and a reverse proxy's upstream pool) then close first.
KEEP_ALIVE_SECONDS = 75


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port.")] = 8000,
    reload: Annotated[bool, typer.Option(help="Restart on code changes (development).")
                      ] = False,
    public: Annotated[bool, typer.Option(
        "--public", help="Allow listening on a non-loopback address.")] = False,
    workers: Annotated[int, typer.Option(
        min=1, max=64, help="Worker processes (each opens the store; see the module doc).")
    ] = 1,
    access_log: Annotated[bool, typer.Option(
        help="Log every request line (the audit trail records reads and writes anyway).")
    ] = True,
) -> None:
    """Serve the REST API (OpenAPI at /docs) on this machine."""
    import uvicorn

    if not _loopback(host) and not public:
        raise InputError(
            f"refusing to listen on {host}: the API serves stored intelligence and speaks "
            "plain HTTP, so tokens and documents would cross the network unencrypted. Put "
            "it behind a TLS reverse proxy and pass --public if you mean it.")
    if reload and workers > 1:
        raise InputError("--reload runs one worker: drop --workers or --reload")
    settings = state.settings
    store = state.store  # opened and migrated once here, before any worker starts
    plural = "s" if workers > 1 else ""
    console.print(f"serving {store.safe_url} on http://{host}:{port}/api/v1 "
                  f"({workers} worker{plural}; docs: http://{host}:{port}/docs)")
    if reload or workers > 1:
        store.close()
        from allsource.api.app import OVERRIDES_ENV

        os.environ[OVERRIDES_ENV] = json.dumps(state.overrides, default=str)
        uvicorn.run("allsource.api.app:create_app_from_env", factory=True, host=host,
                    port=port, reload=reload, workers=None if reload else workers,
                    access_log=access_log, timeout_keep_alive=KEEP_ALIVE_SECONDS)
    else:
        from allsource.api import create_app
        from allsource.api.app import warm_in_background

        warm_in_background()
        uvicorn.run(create_app(settings, store=store), host=host, port=port,
                    access_log=access_log, timeout_keep_alive=KEEP_ALIVE_SECONDS)

