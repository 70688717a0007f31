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
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
    database_url: Annotated[str | None, typer.Option(
        "--database-url", envvar="ALLSOURCE_DATABASE_URL",
        help="Store URL (default sqlite:///allsource.db in the working directory).")] = None,
) -> None:
    state.debug = debug
    if database_url:
        state.overrides["database_url"] = database_url


def _register() -> None:
    from allsource.cli import collecting, demo, inspecting, sources

    sources.register(app)
    collecting.register(app)
    inspecting.register(app)
    demo.register(app)


_register()


def main() -> None:
    """Entry point: run the app, turning user errors into one clear line."""
    try:
        app(standalone_mode=False)
    except AllsourceError as exc:
        if state.debug:
            raise
        err_console.print(f"[bold red]error:[/bold red] {escape(str(exc))}")
        sys.exit(2)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        err_console.print("aborted")
        sys.exit(130)
    except Exception as exc:  # click usage errors arrive here in non-standalone mode
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(2)
        raise
    finally:
        if state._store is not None:
            state._store.close()
