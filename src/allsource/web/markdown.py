"""Markdown in stored descriptions (ATT&CK's, MISP galaxies', partners' STIX), rendered
safely for the workspace with markdown-it-py.

Ingested text is hostile until proven otherwise, so the renderer trusts nothing in it:

* raw HTML is off (``html=False``): a ``<script>`` or ``<img onerror>`` in the source is
  text and comes out escaped — markdown-it escapes every text token;
* links and images: only ``http``/``https`` (and no other scheme, no relative or
  protocol-relative URL) become links; anything else stays as its escaped source text.
  Images are never loaded (they would fetch from another host, which the CSP forbids
  anyway): an image is shown as a link to it. Links open with
  ``rel="noopener noreferrer nofollow"``;
* ATT&CK's ``(Citation: …)`` markers are left as text.

Only the commonmark block and inline rules run (no tables, no linkify); the output is a
:class:`~markupsafe.Markup` for the autoescaping templates. Size is capped before rendering
(:data:`MAX_CHARS`), and markdown-it's parser is linear in practice on hostile input (it has
nesting limits).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token
from markupsafe import Markup, escape

MAX_CHARS = 20_000
#: document kinds whose text is written in Markdown: STIX domain objects (ATT&CK, MISP
#: galaxies, partners' bundles) and MISP events (galaxy descriptions, comments)
MARKDOWN_KINDS = frozenset({
    "attack-pattern", "campaign", "course-of-action", "grouping", "identity", "incident",
    "infrastructure", "intrusion-set", "location", "malware", "malware-analysis", "note",
    "opinion", "report", "threat-actor", "tool", "vulnerability", "misp-event"})


def is_markdown(kind: str | None) -> bool:
    """Whether a document of ``kind`` holds Markdown (custom STIX types ``x-…`` too)."""
    return bool(kind) and (kind in MARKDOWN_KINDS or str(kind).startswith("x-"))


def _web_link(url: str) -> bool:
    low = url.strip().lower()
    return low.startswith(("http://", "https://"))


def _link_open(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    token = tokens[idx]
    token.attrSet("rel", "noopener noreferrer nofollow")
    return str(self.renderToken(tokens, idx, options, env))


def _image(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    token = tokens[idx]
    src = str(token.attrGet("src") or "")
    alt = "".join(c.content for c in token.children or []) or src
    return (f'<a href="{escape(src)}" rel="noopener noreferrer nofollow">'
            f"image: {escape(alt)}</a>")


@cache
def _renderer() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.validateLink = _web_link  # type: ignore[method-assign]
    md.add_render_rule("link_open", _link_open)
    md.add_render_rule("image", _image)
    return md


def render(text: str | None) -> Markup:
    """``text`` as safe HTML (see the module docstring); empty for no text."""
    if not text:
        return Markup("")
    source = text[:MAX_CHARS]
    return Markup(_renderer().render(source))


def render_inline(text: str | None) -> Markup:
    """One line of Markdown without the paragraph around it."""
    if not text:
        return Markup("")
    return Markup(_renderer().renderInline(text[:MAX_CHARS]))
