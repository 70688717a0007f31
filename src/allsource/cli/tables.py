"""Listing tables that stay readable in an 80-column terminal.

Rich fits a table to the terminal by shrinking every column and ending cells with "…": at 80
columns a ten-column listing becomes a grid of ``TLP:CL…`` and ``2026-12…`` and may squeeze
its one column of prose (a title, a name) to nothing. A listing here declares its columns
instead (:class:`Column`): the ones a person needs to recognise a row and act on it (``keep``)
and the ones that can wait; below :data:`WIDE` columns the others are left out and a caption
names them and how to get them (``--wide``, ``--json``, or the command's ``show``). Exactly
one ``flex`` column (the prose) takes the remaining width and wraps at word boundaries; the
other columns never wrap. ``--wide`` lays the table out for :data:`WIDE_LAYOUT` columns
whatever the terminal (for ``less -S`` or a file).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from allsource.cli.common import console

#: terminal width from which every column is shown
WIDE = 120
#: the layout width of ``--wide``
WIDE_LAYOUT = 160


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    #: shown below :data:`WIDE` columns
    keep: bool = True
    #: takes the remaining width and wraps (one per table: the prose)
    flex: bool = False
    justify: str = "left"


def every_column(wide: bool) -> bool:
    return wide or console.width >= WIDE


def fitted(columns: Sequence[Column], rows: Iterable[Mapping[str, str]], *,
           title: str | None = None, wide: bool = False, more: str = "--wide") -> Table:
    """A table of ``rows`` (cells by column name, markup already escaped) with the columns
    this terminal has room for; ``more`` says where the left-out ones are."""
    every = every_column(wide)
    shown = [c for c in columns if every or c.keep]
    left_out = [c.name for c in columns if c not in shown]
    table = Table(title=title, caption=(f"{', '.join(left_out)} left out at this width: "
                                        f"{more}" if left_out else None))
    for c in shown:
        if c.flex:
            table.add_column(c.name, ratio=1, min_width=16, overflow="fold",
                             justify=c.justify)  # type: ignore[arg-type]
        else:
            table.add_column(c.name, no_wrap=True, justify=c.justify)  # type: ignore[arg-type]
    for row in rows:
        table.add_row(*(row.get(c.name, "") for c in shown))
    return table


def print_table(table: Table, wide: bool = False) -> None:
    """Print ``table``; with ``wide``, laid out for :data:`WIDE_LAYOUT` columns."""
    (Console(width=max(console.width, WIDE_LAYOUT)) if wide else console).print(table)


WideOpt = Annotated[bool, typer.Option(
    "--wide", help=f"Every column, also on a terminal narrower than {WIDE} columns.")]
