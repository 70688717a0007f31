"""The ``allsource`` command line.

Exit codes: 0 success; 1 the command ran but some items were quarantined or a source failed;
2 a usage or user error (printed as one line; ``--debug`` shows the traceback).
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.markup import escape

from allsource.cli.common import err_console, state
from allsource.errors import AllsourceError

app = typer.Typer(
    name="allsource",
    help="All-source intelligence: collect, store and search sources on one laptop.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def _global(
    ctx: typer.Context,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
    database_url: Annotated[str | None, typer.Option(
        "--database-url", envvar="ALLSOURCE_DATABASE_URL",
        help="Store URL (default sqlite:///allsource.db in the working directory).")] = None,
) -> None:
    state.debug = debug
    if database_url:
        state.overrides["database_url"] = database_url
    from allsource.cli.audit import cli_scope

    cli_scope(ctx)


def _register() -> None:
    from allsource.cli import collecting, demo, inspecting, processing, sources

    sources.register(app)
    collecting.register(app)
    processing.register(app)
    inspecting.register(app)
    demo.register(app)

    from allsource.cli import labels

    labels.register(app)

    from allsource.cli import verify

    verify.register(app)

    from allsource.cli import aliases

    aliases.register(app)

    from allsource.cli import mentions

    mentions.register(app)

    from allsource.cli import alerts

    alerts.register(app)

    from allsource.cli import watchlists

    watchlists.register(app)

    from allsource.cli import warnings

    warnings.register(app)

    from allsource.cli import risk

    risk.register(app)

    from allsource.cli import users

    users.register(app)

    from allsource.cli import serve

    serve.register(app)

    from allsource.cli import cases

    cases.register(app)

    from allsource.cli import insider

    insider.register(app)

    from allsource.cli import keys

    keys.register(app)

    from allsource.cli import audit

    audit.register(app)

    from allsource.cli import export

    export.register(app)

    from allsource.cli import sync

    sync.register(app)


_register()


def _usage_errors() -> tuple[type[Exception], ...]:
    """Click's usage-error classes: typer >= 0.29 vendors its own click."""
    import click

    found: list[type[Exception]] = [click.ClickException]
    vendored = getattr(typer, "TyperException", None)
    if isinstance(vendored, type) and issubclass(vendored, Exception):
        found.append(vendored)
    return tuple(found)


_USAGE_ERRORS = _usage_errors()


def main() -> None:
    """Entry point: run the app, turning user errors into one clear line."""
    try:
        # In non-standalone mode click returns the exit code of typer.Exit instead of exiting.
        code = app(standalone_mode=False)
        if isinstance(code, int) and code:
            sys.exit(code)
    except AllsourceError as exc:
        if state.debug:
            raise
        # soft_wrap: one line however long (the terminal wraps it), never cut or re-flowed
        err_console.print(f"[bold red]error:[/bold red] {escape(str(exc))}", soft_wrap=True)
        sys.exit(2)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        err_console.print("aborted")
        sys.exit(130)
    except _USAGE_ERRORS as exc:  # usage errors arrive here in non-standalone mode
        exc.show()  # type: ignore[attr-defined]
        sys.exit(getattr(exc, "exit_code", 2))
    finally:
        if state._store is not None:
            state._store.close()
