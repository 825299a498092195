"""HTML to clean text (paragraphs kept as blank-line-separated blocks), with page metadata.

Built on the standard library's ``html.parser``: scripts, styles and navigation chrome are
dropped, block elements become paragraph breaks, entities are decoded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

_BLOCK = {
    "p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote",
    "section", "article", "header", "footer", "tr", "table", "pre", "figure", "figcaption",
    "hr", "dd", "dt", "dl", "main", "aside",
}
_SKIP = {"script", "style", "noscript", "template", "svg", "nav", "iframe", "object", "head"}


@dataclass
class HtmlDoc:
    text: str
    title: str | None = None
    h1: str | None = None
    meta: dict[str, str] = field(default_factory=dict)
    canonical: str | None = None
    feed_links: list[tuple[str, str]] = field(default_factory=list)  # (href, type)


class _Extractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip_depth = 0
        self.in_title = False
        self.in_h1 = False
        self.title: list[str] = []
        self.h1: list[str] = []
        self.meta: dict[str, str] = {}
        self.canonical: str | None = None
        self.feed_links: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k.lower(): (v or "") for k, v in attrs}
        if tag == "meta":
            key = (a.get("property") or a.get("name") or a.get("itemprop") or "").lower()
            if key and a.get("content"):
                self.meta.setdefault(key, a["content"].strip())
            return
        if tag == "link":
            rel = a.get("rel", "").lower().split()
            if "canonical" in rel and a.get("href"):
                self.canonical = a["href"]
            if "alternate" in rel and a.get("href"):
                kind = a.get("type", "").lower()
                if any(t in kind for t in ("rss", "atom", "rdf", "xml")):
                    self.feed_links.append((a["href"], kind))
            return
        if tag == "title":
            self.in_title = True
        if tag in _SKIP and tag != "head":
            self.skip_depth += 1
        if tag == "h1":
            self.in_h1 = True
        if tag in _BLOCK:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self.in_title = False
        if tag in _SKIP and tag != "head" and self.skip_depth:
            self.skip_depth -= 1
        if tag == "h1":
            self.in_h1 = False
        if tag in _BLOCK:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if self.in_title:
            self.title.append(data)
            return
        if self.skip_depth:
            return
        if self.in_h1:
            self.h1.append(data)
        self.parts.append(data)


def _clean(text: str) -> str:
    paragraphs = []
    for block in re.split(r"\n\s*\n", text):
        line = " ".join(block.split())
        if line:
            paragraphs.append(line)
    return "\n\n".join(paragraphs)


def html_to_doc(html: str) -> HtmlDoc:
    parser = _Extractor()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # html.parser is lenient; a pathological input still yields what it read
        pass
    title = " ".join("".join(parser.title).split()) or None
    h1 = " ".join("".join(parser.h1).split()) or None
    return HtmlDoc(
        text=_clean("".join(parser.parts)),
        title=title,
        h1=h1,
        meta=parser.meta,
        canonical=parser.canonical,
        feed_links=parser.feed_links,
    )


def html_to_text(html: str) -> str:
    """Clean text of an HTML fragment or page."""
    if "<" not in html and "&" not in html:
        return _clean(html)
    return html_to_doc(html).text
