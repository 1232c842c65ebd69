"""XHTML/HTML → paragraphs of speakable text.

Paragraph boundaries follow block elements (and ``<br>``); scripts, styles,
embedded media, footnote references, page-break markers and hidden elements
are dropped. A document can be cut into segments at given elements (the
targets of table-of-contents links), so one file that holds several chapters
yields one segment per chapter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Collection, Mapping, Optional

from lxml import etree

from .semantics import NEVER_SPOKEN, NEVER_SPOKEN_ASIDES, is_skipped_matter, semantic_types
from .xmlsafe import element_text, localname

__all__ = ["Block", "Segment", "extract_segments", "clean_text", "element_index", "HEADING_TAGS"]

HEADING_TAGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_BLOCK_TAGS = frozenset(
    {
        "address", "article", "aside", "blockquote", "body", "caption", "center", "dd", "details", "dialog",
        "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "header", "hgroup", "hr",
        "html", "legend", "li", "main", "nav", "ol", "p", "pre", "section", "summary", "table", "tbody", "td",
        "tfoot", "th", "thead", "tr", "ul",
    }
) | HEADING_TAGS
_DROPPED_TAGS = frozenset(
    {
        "area", "audio", "button", "canvas", "embed", "head", "iframe", "img", "input", "link", "map", "math",
        "meta", "object", "option", "rp", "rt", "script", "select", "source", "style", "svg", "template",
        "textarea", "title", "track", "video",
    }
)
_NOTE_MARKER = re.compile(r"^[\[(]?\s*(?:\d{1,4}|[*†‡§¶#]{1,3}|[ivxlc]{1,6}|[a-zA-Z])\s*[\])]?\.?$")
_NOTE_HINT = re.compile(r"(?:note|fn|foot|endnote|ref)", re.IGNORECASE)
_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff"), None)
# Presentational page and line numbers (Project Gutenberg's ``pagenum``, poetry's ``lnum``)
_NUMBER_CLASSES = frozenset(
    {"pagenum", "page-num", "pagenumber", "page-number", "pageno", "lnum", "linenum", "linenumber", "line-number"}
)
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)


@dataclass
class Block:
    text: str
    heading: bool = False


@dataclass
class Segment:
    """Text between two cut points; ``key`` names the cut that opened it (None: document start)."""

    key: Optional[str]
    blocks: list[Block] = field(default_factory=list)


def clean_text(text: str) -> str:
    """Collapse whitespace and drop invisible characters (soft hyphens, zero-width spaces)."""
    return " ".join(text.translate(_INVISIBLE).split())


def element_index(root: etree._Element) -> dict[str, etree._Element]:
    """``id`` (and legacy ``<a name>``) → element, first occurrence wins."""
    index: dict[str, etree._Element] = {}
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        for key in (el.get("id"), el.get("{http://www.w3.org/XML/1998/namespace}id"),
                    el.get("name") if localname(el) == "a" else None):
            if key and key not in index:
                index[key] = el
    return index


def _own_text(el: etree._Element) -> str:
    return element_text(el).strip()


def _is_note_reference(el: etree._Element, tag: str) -> bool:
    """EPUB 2 style footnote references: ``<a href="#fn1"><sup>1</sup></a>``, ``<sup><a>[2]</a></sup>``."""
    if tag == "a":
        if not el.get("href"):
            return False
        if not _NOTE_MARKER.match(_own_text(el)):
            return False
        parent = el.getparent()
        if parent is not None and localname(parent) in ("sup", "sub"):
            return True
        if any(localname(c) == "sup" for c in el):
            return True
        hints = " ".join(filter(None, (el.get("class"), el.get("id"), el.get("href"))))
        return bool(_NOTE_HINT.search(hints))
    if tag == "sup":
        return any(localname(c) == "a" and c.get("href") for c in el.iter()) and bool(
            _NOTE_MARKER.match(_own_text(el))
        )
    return False


class _Extractor:
    def __init__(
        self,
        cuts: Mapping[etree._Element, str],
        skipped: Collection[etree._Element],
        include_all: bool,
    ) -> None:
        self.cuts = cuts
        self.skipped = skipped
        self.include_all = include_all
        self.segments: list[Segment] = [Segment(None)]
        self.buf: list[str] = []
        self.heading_depth = 0
        self.buf_heading = False

    def flush(self) -> None:
        if self.buf:
            text = clean_text("".join(self.buf))
            if text:
                self.segments[-1].blocks.append(Block(text, self.buf_heading))
            self.buf = []
        self.buf_heading = False

    def add(self, text: Optional[str]) -> None:
        if text:
            self.buf.append(text)
            if self.heading_depth and text.strip():
                self.buf_heading = True

    def dropped(self, el: etree._Element, tag: str) -> bool:
        if tag in _DROPPED_TAGS:
            return True
        if el.get("hidden") is not None or el.get("aria-hidden") == "true":
            return True
        style = el.get("style")
        if style and _HIDDEN_STYLE.search(style):
            return True
        classes = el.get("class")
        if classes and not _NUMBER_CLASSES.isdisjoint(classes.lower().split()):
            return True
        types = semantic_types(el)
        if types:
            if types & NEVER_SPOKEN:
                return True
            if tag == "aside" and types & NEVER_SPOKEN_ASIDES:
                return True
            if not self.include_all and is_skipped_matter(types):
                return True
        if not self.include_all and el in self.skipped:
            return True
        return tag in ("a", "sup") and _is_note_reference(el, tag)

    def walk(self, el: etree._Element) -> None:
        if not isinstance(el.tag, str):  # unresolved entity reference, comment, PI: never spoken
            return
        tag = localname(el)
        if self.dropped(el, tag):
            return
        key = self.cuts.get(el)
        if key is not None:
            self.flush()
            self.segments.append(Segment(key))
        if tag == "br":
            self.flush()
            return
        block = tag in _BLOCK_TAGS
        if block:
            self.flush()
        heading = tag in HEADING_TAGS or tag == "hgroup"  # a heading group's subtitle lines are headings too
        if heading:
            self.heading_depth += 1
        self.add(el.text)
        for child in el:
            self.walk(child)
            self.add(child.tail)
        if heading:
            self.heading_depth -= 1
        if block:
            self.flush()


def extract_segments(
    root: etree._Element,
    *,
    cuts: Optional[Mapping[etree._Element, str]] = None,
    skipped: Collection[etree._Element] = (),
    include_all: bool = False,
) -> list[Segment]:
    """Paragraph blocks of ``root``'s body, cut before each element in ``cuts``.

    The first segment (key None) holds what comes before the first cut; it may
    be empty. ``skipped`` elements (front/back matter found through landmarks)
    are left out unless ``include_all``.
    """
    body = next((el for el in root.iter() if isinstance(el.tag, str) and localname(el) == "body"), root)
    extractor = _Extractor(cuts or {}, set(skipped), include_all)
    extractor.walk(body)
    extractor.flush()
    return extractor.segments
