"""Plain text, Markdown and single-file HTML books.

Plain text: paragraphs are separated by blank lines (hard-wrapped lines are
joined), chapters start at lines such as ``CHAPTER XIV`` or ``Part Two``, and
Project Gutenberg's licence header and footer are left out. Markdown is rendered
with markdown-it and read as HTML. HTML is cut into chapters at the highest
heading level that occurs more than once.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path
from typing import Optional

from lxml import etree

from .epub import DraftChapter, chapters_from_blocks
from .limits import MAX_TEXT_BYTES
from .model import Book, BookError, BookMeta
from .normalize import NUMBERED_HEADINGS
from .xhtml import HEADING_TAGS, Block, clean_text, element_index, extract_segments
from .xmlsafe import XmlError, localname, parse_html, parse_xml

__all__ = ["load_text", "load_markdown", "load_html", "decode_text", "read_limited", "is_chapter_number"]

_NUMBER_WORDS = (
    "one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|"
    "seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|"
    "first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|last|final"
)
_TITLE_TAIL = r"\.?(?:\s*[:.\-–—]\s*.+)?$"
_HEADING_WORDS = "|".join(sorted({w for words in NUMBERED_HEADINGS.values() for w in words.split("|")}))
_CHAPTER_LINE = re.compile(
    rf"^(?:{_HEADING_WORDS})"
    rf"\s+(?:\d+|[ivxlcdm]+|(?:{_NUMBER_WORDS})(?:[-\s](?:{_NUMBER_WORDS}))?)\b{_TITLE_TAIL}"
    rf"|^(?:prologue|epilogue|introduction|preface|foreword|afterword|appendix|interlude){_TITLE_TAIL}",
    re.IGNORECASE,
)
_ROMAN_LINE = re.compile(r"^(?=[IVXLC])M{0,3}(?:C[MD]|D?C{0,3})(?:X[CL]|L?X{0,3})(?:I[XV]|V?I{0,3})\.?$")
_GUTENBERG_START = re.compile(r"^\*{3}\s*START OF (?:THE|THIS) PROJECT GUTENBERG.*$", re.IGNORECASE | re.MULTILINE)
_GUTENBERG_END = re.compile(r"^\*{3}\s*END OF (?:THE|THIS) PROJECT GUTENBERG.*$", re.IGNORECASE | re.MULTILINE)
_HEADER_FIELD = re.compile(r"^(Title|Author|Language):\s*(.+?)\s*$", re.IGNORECASE | re.MULTILINE)
_LANGUAGES = {"english": "en", "german": "de", "french": "fr", "spanish": "es", "italian": "it",
              "portuguese": "pt", "dutch": "nl"}
_PG_BOILERPLATE = ("pg-header", "pg-footer", "pg-machine-header", "pg-start-separator", "pg-end-separator")


def read_limited(path: Path) -> bytes:
    """The whole file, refused with a one-line BookError past :data:`MAX_TEXT_BYTES`."""
    try:
        size = path.stat().st_size
        if size > MAX_TEXT_BYTES:
            raise BookError(f"{path.name} is too large ({size >> 20} MiB; limit {MAX_TEXT_BYTES >> 20} MiB)")
        return path.read_bytes()
    except FileNotFoundError:
        raise BookError(f"{path}: no such file") from None
    except OSError as exc:
        raise BookError(f"{path}: {exc.strerror or exc}") from None


def decode_text(data: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16 with BOM, else Windows-1252 — text files carry no declaration."""
    for bom, codec in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            return data.decode(codec, errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _empty(path: Path) -> BookError:
    return BookError(f"{path.name} is empty: no readable text")


# ---------------------------------------------------------------- plain text


def _paragraphs(text: str) -> list[str]:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    chunks = re.split(r"\n[ \t]*\n+", text)
    if len(chunks) == 1 and text.count("\n") > 3:
        chunks = text.split("\n")  # no blank lines at all: one paragraph per line
    return [p for p in (clean_text(c) for c in chunks) if p]


def is_chapter_number(text: str) -> bool:
    """``IV``, ``IV.``, ``12``: a chapter's number standing alone on its line."""
    bare = text.rstrip(".")
    return bool(_ROMAN_LINE.match(text)) or (bare.isdigit() and len(bare) <= 4)


def _is_heading(paragraph: str) -> bool:
    return len(paragraph) <= 80 and bool(_CHAPTER_LINE.match(paragraph) or _ROMAN_LINE.match(paragraph))


def _is_subtitle(paragraph: str) -> bool:
    return len(paragraph) <= 60 and paragraph[:1].isupper() and paragraph[-1:] not in ".!?:;,\"”'’"


def load_text(path: Path, *, include_all: bool = False) -> Book:
    """A ``.txt`` book."""
    path = Path(path)
    text = decode_text(read_limited(path))
    fields = {m.group(1).lower(): m.group(2) for m in _HEADER_FIELD.finditer(text[:20_000])}
    start = _GUTENBERG_START.search(text)
    if start:
        text = text[start.end():]
        end = _GUTENBERG_END.search(text)
        if end:
            text = text[: end.start()]
    meta = BookMeta(
        title=fields.get("title", "") or path.stem,
        authors=[fields["author"]] if fields.get("author") else [],
        language=_LANGUAGES.get(fields.get("language", "").lower(), "en"),
    )
    paragraphs = _paragraphs(text)
    drafts: list[DraftChapter] = []
    current: Optional[DraftChapter] = None
    i = 0
    while i < len(paragraphs):
        para = paragraphs[i]
        if _is_heading(para):
            title = para
            if i + 1 < len(paragraphs) and _is_subtitle(paragraphs[i + 1]) and not _is_heading(paragraphs[i + 1]):
                title = f"{para.rstrip('.')}. {paragraphs[i + 1]}"
                i += 1
            current = DraftChapter(title, [], f"{path.name}#{len(drafts) + 1}")
            drafts.append(current)
        else:
            if current is None:
                current = DraftChapter(meta.title, [], path.name)
                drafts.append(current)
            current.blocks.append(Block(para))
        i += 1
    chapters = chapters_from_blocks(drafts)
    if not chapters:
        raise _empty(path)
    return Book(meta=meta, chapters=chapters, source_path=path)


# ---------------------------------------------------------------- HTML and Markdown


def _heading_cuts(body: etree._Element) -> dict[etree._Element, str]:
    counts: dict[str, list[etree._Element]] = {}
    for el in body.iter():
        if isinstance(el.tag, str) and localname(el) in HEADING_TAGS:
            counts.setdefault(localname(el), []).append(el)
    for level in sorted(counts):
        if len(counts[level]) >= 2:
            return {el: str(i) for i, el in enumerate(counts[level])}
    return {}


def _html_book(path: Path, root: etree._Element, include_all: bool, warnings: list[str]) -> Book:
    body = next((el for el in root.iter() if isinstance(el.tag, str) and localname(el) == "body"), root)
    index = element_index(root)
    title_el = next((el for el in root.iter() if isinstance(el.tag, str) and localname(el) == "title"), None)
    title = clean_text("".join(t for t in title_el.itertext() if isinstance(t, str))) if title_el is not None else ""
    language = ""
    for el in (root, body):
        language = language or el.get("lang") or el.get("{http://www.w3.org/XML/1998/namespace}lang") or ""
    cuts = _heading_cuts(body)
    skipped = [index[i] for i in _PG_BOILERPLATE if i in index]
    segments = extract_segments(root, cuts=cuts, skipped=skipped, include_all=include_all)
    headings = {key: clean_text("".join(t for t in el.itertext() if isinstance(t, str))) for el, key in cuts.items()}
    if not title:
        first = next((b.text for s in segments for b in s.blocks if b.heading), "")
        title = first or path.stem
    drafts = []
    for seg in segments:
        if not seg.blocks:
            continue
        if seg.key is None:
            heading = next((b.text for b in seg.blocks[:4] if b.heading), "")
            drafts.append(DraftChapter(heading or title, seg.blocks, path.name))
        else:
            drafts.append(DraftChapter(headings.get(seg.key, "") or title, seg.blocks, f"{path.name}#{seg.key}"))
    chapters = chapters_from_blocks(drafts)
    if not chapters:
        raise _empty(path)
    meta = BookMeta(title=title, language=language or "en")
    return Book(meta=meta, chapters=chapters, source_path=path, warnings=warnings)


def load_html(path: Path, *, include_all: bool = False) -> Book:
    """A single ``.html``/``.xhtml`` file; XHTML is parsed as XML (entities unresolved), the rest as HTML."""
    path = Path(path)
    data = read_limited(path)
    if not data.strip():
        raise _empty(path)
    warnings: list[str] = []
    try:
        if path.suffix.lower() == ".xhtml":
            root, warning = parse_xml(data, name=path.name)
            if warning:
                warnings.append(warning)
        else:
            try:
                root, _ = parse_xml(data, name=path.name, lenient=False)
            except XmlError:
                root = parse_html(data, name=path.name)
    except XmlError as exc:
        raise BookError(str(exc)) from None
    return _html_book(path, root, include_all, warnings)


_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.DOTALL)


def load_markdown(path: Path, *, include_all: bool = False) -> Book:
    """A Markdown book: rendered to HTML with markdown-it, then read like HTML."""
    path = Path(path)
    text = decode_text(read_limited(path))
    title = ""
    front = _FRONT_MATTER.match(text)
    if front:
        m = re.search(r"^title:\s*['\"]?(.+?)['\"]?\s*$", front.group(1), re.MULTILINE)
        title = m.group(1) if m else ""
        text = text[front.end():]
    if not text.strip():
        raise _empty(path)
    from markdown_it import MarkdownIt  # a declared dependency, imported only when a Markdown book is read

    rendered = MarkdownIt("commonmark", {"html": False}).render(text)
    html = f"<html><head><title></title></head><body>{rendered}</body></html>".encode("utf-8")
    root = parse_html(html, name=path.name)
    book = _html_book(path, root, include_all, [])
    if title:
        book.meta.title = title
    return book
