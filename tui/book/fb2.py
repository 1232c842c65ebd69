"""FictionBook 2 (``.fb2``): plain XML read directly with the hardened parser, no calibre needed.

The main ``<body>`` holds ``<section>`` elements, each with an optional
``<title>``; a section that holds sections is a part, and its sections are the
chapters (its own text before them, if any, is a chapter too). An untitled
section is named from its first heading-like line (a ``<subtitle>``, a
paragraph that is all ``<strong>``, or a short line). Other bodies (``notes``,
``comments``) are footnotes and only read with ``include_all``; footnote links
(``<a type="note">``), images and page numbers are never spoken. A ``<title>``
that holds a whole section (as some converters write it) gives its first
heading-like line as the title and the rest as text. Title pages, contents and
the like carry no markup in FB2, so they are recognised by title and position
(:mod:`matter`).
"""

from __future__ import annotations

import base64
import binascii
import re
from pathlib import Path
from typing import Iterator, Optional

from lxml import etree

from .epub import DraftChapter, chapters_from_blocks
from .limits import MAX_COVER_BYTES
from .matter import drop_unmarked_matter, generic_title
from .model import Book, BookError, BookMeta
from .textfiles import is_chapter_number, read_limited
from .xhtml import Block, clean_text
from .xmlsafe import XmlError, children, element_text, first_child, localname, parse_xml

__all__ = ["load_fb2"]

_XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
_PAGE_NUMBER = re.compile(r"^\[?\d{1,4}\]?$")
_BLOCKS = frozenset({"p", "v", "subtitle", "text-author"})
_CONTAINERS = frozenset({"poem", "stanza", "cite", "epigraph", "annotation", "table", "tr"})
_SKIPPED = frozenset({"image", "binary"})
_HEADING_WORDS = 12
_SMALL_WORDS = frozenset("a an and as at but by for from in into nor of on or the to upon with".split())
_SENTENCE_END = ".,;:!?…"


def _inline_text(el: etree._Element) -> str:
    """Text of a paragraph, without footnote links (``<a type="note">``) and images."""
    parts: list[str] = []

    def add(node: etree._Element) -> None:
        if not isinstance(node.tag, str):
            return
        tag = localname(node)
        if tag in _SKIPPED or (tag == "a" and (node.get("type") or "").lower() == "note"):
            return
        if node.text:
            parts.append(node.text)
        for child in node:
            add(child)
            if child.tail:
                parts.append(child.tail)

    add(el)
    return clean_text("".join(parts))


def _is_strong_only(el: etree._Element) -> bool:
    """``<p><strong>Heading</strong></p>``: all of its text is inside one strong element."""
    kids = [c for c in el if isinstance(c.tag, str)]
    if len(kids) != 1 or localname(kids[0]) != "strong":
        return False
    return not (el.text or "").strip() and not (kids[0].tail or "").strip()


def _blocks(el: etree._Element) -> Iterator[Block]:
    """Paragraph blocks of a section's own content (sub-sections excluded), in order."""
    for child in el:
        if not isinstance(child.tag, str):
            continue
        tag = localname(child)
        if tag in ("section", "title") or tag in _SKIPPED:
            continue
        if tag in _BLOCKS or tag in ("td", "th"):
            text = _inline_text(child)
            if text and not _PAGE_NUMBER.match(text):
                heading = tag == "subtitle" or (tag == "p" and _is_strong_only(child))
                yield Block(text, heading)
        elif tag in _CONTAINERS:
            yield from _blocks(child)


def _heading_like(blocks: list[Block]) -> Optional[int]:
    """Index of the first heading-like block among the first few, or None."""
    for i, block in enumerate(blocks[:4]):
        if block.heading:
            return i
    for i, block in enumerate(blocks[:2]):
        if len(block.text.split()) <= _HEADING_WORDS and block.text[-1:] not in ".!?;,:":
            return i
    return None


def _is_name(text: str) -> bool:
    """A short line in title case, without sentence punctuation: ``The Harbour Light``."""
    words = [w for w in text.split() if any(c.isalpha() for c in w)]
    if not words or len(words) > _HEADING_WORDS or text[-1:] in _SENTENCE_END or is_chapter_number(text):
        return False
    initials = [next(c for c in w if c.isalpha()) for w in words]
    return initials[0].isupper() and all(
        c.isupper() or w.lower() in _SMALL_WORDS for c, w in zip(initials, words)
    )


def _title_and_extra(section: etree._Element) -> tuple[str, list[Block]]:
    """The section's title and any text its ``<title>`` holds beyond a heading."""
    title_el = first_child(section, "title")
    if title_el is None:
        return "", []
    lines = [b for b in _blocks(title_el)]
    if not lines:
        text = clean_text(element_text(title_el))
        return (text, []) if not _PAGE_NUMBER.match(text) else ("", [])
    words = sum(len(b.text.split()) for b in lines)
    if len(lines) <= 3 and words <= 3 * _HEADING_WORDS:
        return clean_text(" ".join(b.text for b in lines)), []
    at = _heading_like(lines)
    if at is None:
        return "", lines
    return lines[at].text, lines[:at] + lines[at + 1:]


def _drafts(section: etree._Element, source: str, out: list[DraftChapter], depth: int = 0) -> None:
    if depth > 64:
        raise BookError(f"{source}: sections nested more than 64 deep")
    title, extra = _title_and_extra(section)
    own = extra + list(_blocks(section))
    subsections = children(section, "section")
    at = 0
    if not title and own:
        found = _heading_like(own)
        if found is not None:
            at = found
            title = own[at].text
            own = own[:at] + own[at + 1:]
    if is_chapter_number(title) and at < len(own) and _is_name(own[at].text):
        # a number, then the chapter's name on a line of its own (calibre's FB2 of a heading group)
        title = f"{title.rstrip('.')}: {own[at].text}"
        own = own[:at] + own[at + 1:]
    if own:
        out.append(DraftChapter(title, own, source))
    for n, sub in enumerate(subsections, start=1):
        _drafts(sub, f"{source}.{n}", out, depth + 1)


def _author(el: etree._Element) -> str:
    parts = [clean_text(element_text(c)) for c in el if localname(c) in ("first-name", "middle-name", "last-name")]
    name = " ".join(p for p in parts if p)
    nickname = first_child(el, "nickname")
    if not name and nickname is not None:
        name = clean_text(element_text(nickname))
    return name


def _meta(root: etree._Element, path: Path) -> BookMeta:
    info = first_child(first_child(root, "description"), "title-info")
    meta = BookMeta(title=path.stem)
    if info is None:
        return meta
    title = clean_text(element_text(first_child(info, "book-title"))) if first_child(info, "book-title") is not None else ""
    meta.title = title or path.stem
    meta.authors = [a for a in (_author(el) for el in children(info, "author")) if a]
    lang = first_child(info, "lang")
    meta.language = clean_text(element_text(lang)) if lang is not None else "en"
    meta.language = meta.language or "en"
    annotation = first_child(info, "annotation")
    meta.description = clean_text(element_text(annotation)) if annotation is not None else ""
    date = first_child(info, "date")
    meta.date = (date.get("value") or clean_text(element_text(date))) if date is not None else ""
    publish = first_child(first_child(root, "description"), "publish-info")
    if publish is not None and first_child(publish, "publisher") is not None:
        meta.publisher = clean_text(element_text(first_child(publish, "publisher")))
    if not meta.date and publish is not None and first_child(publish, "year") is not None:
        meta.date = clean_text(element_text(first_child(publish, "year")))
    cover = first_child(info, "coverpage")
    image = first_child(cover, "image") if cover is not None else None
    href = (image.get(_XLINK_HREF) or image.get("href") or "") if image is not None else ""
    if href.startswith("#"):
        for binary in children(root, "binary"):
            if binary.get("id") == href[1:] and (binary.get("content-type") or "").startswith("image/"):
                data = "".join((binary.text or "").split())
                if len(data) * 3 // 4 <= MAX_COVER_BYTES:
                    try:
                        meta.cover = base64.b64decode(data, validate=True)
                        meta.cover_mime = binary.get("content-type") or ""
                    except (binascii.Error, ValueError):
                        pass
                break
    return meta


def load_fb2(path: Path, *, include_all: bool = False) -> Book:
    """Read a FictionBook 2 file; BookError with a one-line message for anything unusable."""
    path = Path(path)
    data = read_limited(path)
    if not data.strip():
        raise BookError(f"{path.name} is empty: no readable text")
    warnings: list[str] = []
    try:
        root, warning = parse_xml(data, name=path.name)
    except XmlError as exc:
        raise BookError(str(exc)) from None
    if warning:
        warnings.append(warning)
    if localname(root) != "fictionbook":
        raise BookError(f"{path.name} is not a FictionBook 2 file (its root element is <{localname(root) or '?'}>)")
    meta = _meta(root, path)
    drafts: list[DraftChapter] = []
    bodies = children(root, "body")
    for n, body in enumerate(bodies):
        if n > 0 and body.get("name") and not include_all:
            continue  # notes and comments bodies: footnotes, not the flow of the text
        source = f"{path.name}#body{n + 1}"
        before = list(_blocks(body))  # text straight in the body (rare; some converters do it)
        if before:
            drafts.append(DraftChapter("", before, source))
        for m, section in enumerate(children(body, "section"), start=1):
            _drafts(section, f"{source}.{m}", drafts)
    for i, draft in enumerate(drafts):
        if not draft.title:
            draft.title = generic_title(i + 1)
    book = Book(meta=meta, chapters=chapters_from_blocks(drafts), source_path=path, warnings=warnings)
    if not book.chapters:
        raise BookError(f"{path.name} is empty: no readable text in any chapter")
    if not include_all:
        drop_unmarked_matter(book)
    return book
