"""Search-syntax mistakes the command line explains instead of searching for them: the logic
is shared with the API and the web (:mod:`allsource.analyze.search_hints`); the command line
stops before searching, with exit code 2, and adds :data:`DASH_HINT` to the argument parser's
error for a query that starts with ``-``.
"""

from __future__ import annotations

from allsource.analyze.search_hints import DASH_HINT, operator_mistake

__all__ = ["DASH_HINT", "operator_mistake"]
