"""Shared CLI plumbing: settings and store from the global options, output helpers."""

from __future__ import annotations

import getpass
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.markup import escape

from allsource.collect.base import CollectContext
from allsource.config import Settings, load_settings
from allsource.errors import InputError, SourceError
from allsource.model.records import Source
from allsource.store import open_store
from allsource.store.sql import HL_END, HL_START, SqlStore

console = Console()
err_console = Console(stderr=True)


@dataclass
class State:
    debug: bool = False
    overrides: dict[str, Any] = field(default_factory=dict)
    _settings: Settings | None = None
    _store: SqlStore | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(**self.overrides)
        return self._settings

    @property
    def store(self) -> SqlStore:
        if self._store is None:
            self._store = open_store(self.settings)
        return self._store

    def source(self, name: str) -> Source:
        """The configured source ``name`` (or id), or a one-line error naming the fix."""
        found = self.store.get_source(name)
        if found is None:
            raise SourceError(f"unknown source {name!r} (see `allsource source list`)")
        return found

    def context(self) -> CollectContext:
        return CollectContext(settings=self.settings, blobs=self.store.blobs)


state = State()


def analyst_name(name: str | None, fallback: str = "analyst") -> str:
    """Who is acting: ``name`` when given (``--analyst``), else the login name, else
    ``fallback`` where the environment has none (containers without a passwd entry)."""
    if name:
        return name
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return fallback


def print_json(value: Any) -> None:
    sys.stdout.write(orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS,
                                  default=str).decode() + "\n")


def snippet_markup(snippet: str) -> str:
    """Rich markup with highlighted terms; ingested text is escaped first."""
    text = re.sub(r"\s+", " ", snippet)
    return escape(text).replace(HL_START, "[bold yellow]").replace(HL_END, "[/bold yellow]")


_REL = re.compile(r"^(\d+)([hdwmy])$")


def parse_when(text: str | None) -> datetime | None:
    """Parse ``2024-05-01``, an ISO timestamp, or a relative age such as ``7d`` / ``12h``."""
    if not text:
        return None
    m = _REL.match(text.strip())
    if m:
        n, unit = int(m.group(1)), m.group(2)
        days = {"h": n / 24, "d": n, "w": 7 * n, "m": 30 * n, "y": 365 * n}[unit]
        return datetime.now(UTC) - timedelta(days=days)
    try:
        if len(text) == 10:
            d = date.fromisoformat(text)
            return datetime(d.year, d.month, d.day, tzinfo=UTC)
        dt = datetime.fromisoformat(text)
    except ValueError:
        raise InputError(f"cannot read date {text!r}: use YYYY-MM-DD, an ISO time or 7d/12h") \
            from None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


_DUR = re.compile(r"^(\d+)\s*([smhd]?)$")


def parse_duration(text: str) -> int:
    m = _DUR.match(text.strip().lower())
    if not m:
        raise InputError(f"cannot read interval {text!r}: use e.g. 900, 15m, 1h or 1d")
    return int(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]


IdsOpt = Annotated[bool, typer.Option(
    "--ids", help="Print only the full ids, one per line (for scripts and copying).")]


def print_ids(ids: Iterable[str]) -> None:
    """Full ids one per line, no markup or wrapping (``--ids``)."""
    sys.stdout.write("".join(f"{i}\n" for i in ids))


def narrow() -> bool:
    """Whether the terminal is too narrow for every column of a wide table (< 120)."""
    return console.width < 120


def say(markup: str) -> None:
    """One line of output that runs on rather than being folded or cut by Rich (the terminal
    wraps it), so ids, hashes and URLs stay whole and copyable at any width."""
    console.print(markup, soft_wrap=True, highlight=False)
