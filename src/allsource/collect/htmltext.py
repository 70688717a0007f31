"""HTML to plain text, one implementation for every collector.

Documents keep only text, never markup, so nothing a browser could run survives ingestion.
The text comes from a real HTML parser (lxml, the parser trafilatura uses) with comments and
processing instructions removed; ``script``/``style``/embedded content is dropped whole, and
block elements end a line. A regex or a lenient sanitizer is not enough here: feedparser's
sanitizer, for one, leaks script bodies from malformed tags (see the "crazy" sanitisation
samples in the shared feed data).
"""

from __future__ import annotations

import re

from lxml import etree, html

#: elements whose content is never readable text
_DROP = ("script", "style", "noscript", "template", "iframe", "frame", "frameset", "object",
         "embed", "applet", "head", "svg", "math")
#: elements that end a line of text
_BLOCKS = ("p", "div", "br", "li", "ul", "ol", "dl", "dt", "dd", "tr", "table", "blockquote",
           "pre", "h1", "h2", "h3", "h4", "h5", "h6", "section", "article", "header", "footer",
           "hr", "figure", "figcaption", "address", "title")
_PARSER = html.HTMLParser(remove_comments=True, remove_pis=True, no_network=True)
_DOCUMENT = re.compile(r"<\s*(?:!doctype|html|head|body)\b", re.IGNORECASE)
_TAG = re.compile(r"<(?:[a-zA-Z][a-zA-Z0-9]*\b[^>]*|/[a-zA-Z][a-zA-Z0-9]*\s*|!DOCTYPE[^>]*)>")


def looks_like_html(text: str) -> bool:
    """True when ``text`` contains at least one HTML tag."""
    return _TAG.search(text) is not None


def normalize_space(text: str) -> str:
    """Collapse runs of spaces inside lines and drop blank lines."""
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def _parse(markup: str) -> html.HtmlElement | None:
    try:
        if _DOCUMENT.search(markup[:4096]):
            return html.document_fromstring(markup, parser=_PARSER)
        return html.fragment_fromstring(markup, create_parent="div", parser=_PARSER)
    except (etree.ParserError, ValueError):
        return None


def html_title(markup: str) -> str:
    """The ``<title>`` of an HTML page, whitespace-normalized ('' if none)."""
    root = _parse(markup)
    if root is None:
        return ""
    found = root.find(".//title")
    return " ".join(found.text_content().split()) if found is not None else ""


def html_to_text(markup: str) -> str:
    """Readable text of an HTML fragment or page: no scripts, styles, comments or head."""
    if not markup.strip():
        return ""
    root = _parse(markup)
    if root is None:
        return normalize_space(markup)
    for el in list(root.iter(*_DROP)):
        el.drop_tree()
    for el in root.iter(*_BLOCKS):
        el.tail = "\n" + (el.tail or "")
    return normalize_space(root.text_content())
