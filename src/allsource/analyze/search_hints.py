"""Search-syntax mistakes explained, for every surface that takes a query (CLI, API, web).

The search syntax (:mod:`allsource.store.query`) has one operator word, upper-case ``OR``;
words are ANDed and ``-word`` excludes. People coming from other tools type ``apt28 or
sofacy``, ``apt28 AND ukraine`` or ``apt28 NOT ukraine``: the store would take ``or``,
``AND`` and ``NOT`` as words to find (PostgreSQL even drops them as stop words), so the search
silently answers another question. :func:`operator_mistake` names the first such word and the
query meant; :func:`suggestion` rewrites the whole query the way it was meant. The words can
still be searched for: quoted (``"or"``) they are left alone, and only bare words *between*
two terms (or ``not`` before one) are questioned.

The command line stops before searching (exit code 2); the API and the web search as asked
and return the hint with the results (the API's ``hints``, the web's "did you mean" link), so
a person sees both what was searched and what was probably meant. A hint depends on the
query text alone, never on what is stored, so it tells nobody anything about the store.

A query that starts with ``-`` (``-ukraine apt28``) looks like an option to the command line's
argument parser; :data:`DASH_HINT` is added to that parser's error. Over HTTP a leading ``-``
is an ordinary exclusion, so the API and the web need no such hint.
"""

from __future__ import annotations

import re

__all__ = ["DASH_HINT", "hints", "operator_mistake", "suggestion"]

# a quoted phrase (with its optional exclusion dash) or a bare word, as store.query reads them
_TOKEN = re.compile(r'(-?"[^"]*")|(\S+)')

DASH_HINT = ("a query that starts with '-' must come after '--', e.g. "
             "allsource search -- '-ukraine apt28'")
ONLY_EXCLUSIONS = ("a query needs a word to find: '-word' only excludes "
                   "(e.g. `apt28 -ukraine`)")


def _tokens(text: str) -> list[tuple[str | None, str]]:
    """``(bare word or None for a quoted phrase, token as typed)`` in order."""
    return [(m.group(2) if m.group(2) is not None else None, m.group(0))
            for m in _TOKEN.finditer(text)]


def _mistake_at(tokens: list[tuple[str | None, str]], i: int) -> str | None:
    """Which mistake the token at ``i`` is (``"or"``, ``"and"``, ``"not"``), or ``None``."""
    bare = tokens[i][0]
    if bare is None:
        return None
    before = tokens[i - 1][1] if i > 0 else None
    after = tokens[i + 1][1] if i + 1 < len(tokens) else None
    if bare == "or" and before and after:
        return "or"
    if bare in ("and", "AND") and before and after:
        return "and"
    if bare in ("not", "NOT") and after and not after.startswith("-"):
        return "not"
    return None


def operator_mistake(text: str) -> str | None:
    """One sentence explaining the first operator-like word in ``text``, or ``None``."""
    tokens = _tokens(text)
    for i, (bare, _) in enumerate(tokens):
        kind = _mistake_at(tokens, i)
        if kind is None:
            continue
        before = tokens[i - 1][1] if i > 0 else ""
        after = tokens[i + 1][1] if i + 1 < len(tokens) else ""
        if kind == "or":
            return (f"'or' is searched as a word here: did you mean OR? "
                    f"(`{before} OR {after}` finds either; quote \"or\" to search the word)")
        if kind == "and":
            return (f"'{bare}' is searched as a word here, and words are already ANDed: "
                    f"drop it (`{before} {after}`), or quote a phrase "
                    f"(`\"{before} {bare} {after}\"`)")
        return (f"'{bare}' is searched as a word here: did you mean -{after.lstrip('-')}? "
                f"(a leading '-' excludes; quote \"{bare}\" to search the word)")
    return None


def suggestion(text: str) -> str | None:
    """``text`` with every operator-like word rewritten as meant (``or`` → ``OR``, ``and``
    dropped, ``not x`` → ``-x``), or ``None`` when there is nothing to rewrite."""
    tokens = _tokens(text)
    out: list[str] = []
    changed = False
    negate_next = False
    for i, (_, typed) in enumerate(tokens):
        if negate_next:
            out.append("-" + typed)
            negate_next = False
            continue
        kind = _mistake_at(tokens, i)
        if kind is None:
            out.append(typed)
            continue
        changed = True
        if kind == "or":
            out.append("OR")
        elif kind == "not":
            negate_next = True
    return " ".join(out) if changed else None


def hints(text: str) -> list[str]:
    """The hints for ``text`` as searched over HTTP (no ``--`` needed there): an
    operator-like word, or a query of exclusions only."""
    found = []
    if (mistake := operator_mistake(text)) is not None:
        found.append(mistake)
    tokens = _tokens(text)
    if tokens and all(typed.startswith("-") and len(typed) > 1 for _, typed in tokens):
        found.append(ONLY_EXCLUSIONS)
    return found
