"""Search-syntax mistakes the command line explains instead of searching for them.

The search syntax (:mod:`allsource.store.query`) has one operator word, upper-case ``OR``;
words are ANDed and ``-word`` excludes. People coming from other tools type ``apt28 or
sofacy``, ``apt28 AND ukraine`` or ``apt28 NOT ukraine``: the store would take ``or``,
``AND`` and ``NOT`` as words to find (PostgreSQL even drops them as stop words), so the search
silently answers another question. The CLI stops before searching and names the query meant,
with exit code 2. The words can still be searched for: quoted (``"or"``) they are left alone,
and only bare words *between* two terms (or ``not`` before one) are questioned.

A query that starts with ``-`` (``-ukraine apt28``) looks like an option to the argument
parser; the hint for that case, :data:`DASH_HINT`, is added to the parser's error message.
"""

from __future__ import annotations

import re

# a quoted phrase (with its optional exclusion dash) or a bare word, as store.query reads them
_TOKEN = re.compile(r'(-?"[^"]*")|(\S+)')

DASH_HINT = ("a query that starts with '-' must come after '--', e.g. "
             "allsource search -- '-ukraine apt28'")


def operator_mistake(text: str) -> str | None:
    """One sentence explaining the first operator-like word in ``text``, or ``None``."""
    tokens = [(m.group(2) if m.group(2) is not None else None, m.group(0))
              for m in _TOKEN.finditer(text)]
    for i, (bare, _) in enumerate(tokens):
        if bare is None:
            continue
        before = tokens[i - 1][1] if i > 0 else None
        after = tokens[i + 1][1] if i + 1 < len(tokens) else None
        if bare == "or" and before and after:
            return (f"'or' is searched as a word here: did you mean OR? "
                    f"(`{before} OR {after}` finds either; quote \"or\" to search the word)")
        if bare in ("and", "AND") and before and after:
            return (f"'{bare}' is searched as a word here, and words are already ANDed: "
                    f"drop it (`{before} {after}`), or quote a phrase "
                    f"(`\"{before} {bare} {after}\"`)")
        if bare in ("not", "NOT") and after and not after.startswith("-"):
            return (f"'{bare}' is searched as a word here: did you mean -{after.lstrip('-')}? "
                    f"(a leading '-' excludes; quote \"{bare}\" to search the word)")
    return None
