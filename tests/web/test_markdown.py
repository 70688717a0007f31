"""Markdown in stored descriptions: rendered, with raw HTML escaped and only http(s) links
(opened without opener or referrer); images become links, never loaded."""

from __future__ import annotations

import pytest

from allsource.web.markdown import is_markdown, render

HOSTILE = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[data](data:text/html;base64,PHNjcmlwdD4=)",
    "[rel](//evil.example/x)",
    "![img](javascript:alert(1))",
    '<a href="javascript:alert(1)">x</a>',
    "[x](https://ok.example \"title\"><script>alert(1)</script>)",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_markdown_stays_inert(text: str) -> None:
    html = str(render(text))
    assert "<script" not in html and "<img" not in html and "onerror=" not in html.replace(
        "onerror=alert", "")  # escaped text may keep the word, never an attribute
    assert 'href="javascript' not in html.lower() and 'href="data:' not in html
    assert 'href="//' not in html


def test_markdown_is_rendered_and_links_are_safe() -> None:
    html = str(render("[APT28](https://attack.mitre.org/groups/G0007) is **bold**.\n\n* a\n* b"))
    assert ('<a href="https://attack.mitre.org/groups/G0007" '
            'rel="noopener noreferrer nofollow">APT28</a>') in html
    assert "<strong>bold</strong>" in html and "<li>a</li>" in html
    image = str(render("![map](https://img.example/m.png)"))
    assert "<img" not in image and 'href="https://img.example/m.png"' in image


def test_which_documents_hold_markdown() -> None:
    assert is_markdown("attack-pattern") and is_markdown("misp-event")
    assert is_markdown("x-mitre-data-source")
    assert not is_markdown("article") and not is_markdown("gdelt-mention")
    assert not is_markdown(None)
