"""``allsource serve``: the workspace API (and web UI, when installed) with uvicorn."""

from __future__ import annotations

import ipaddress
from typing import Annotated

import typer

from allsource.cli.common import console, state
from allsource.errors import InputError


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
) -> None:
    """Serve the REST API (OpenAPI at /docs) on this machine."""
    import uvicorn

    if not _loopback(host) and not public:
        raise InputError(
            f"refusing to listen on {host}: the API serves stored intelligence and speaks "
            "plain HTTP, so tokens and documents would cross the network unencrypted. Put "
            "it behind a TLS reverse proxy and pass --public if you mean it.")
    settings = state.settings
    console.print(f"serving {settings.database_url} on http://{host}:{port}/api/v1 "
                  f"(docs: http://{host}:{port}/docs)")
    if reload:
        uvicorn.run("allsource.api.app:create_app", factory=True, host=host, port=port,
                    reload=True)
    else:
        from allsource.api import create_app

        uvicorn.run(create_app(settings), host=host, port=port)
