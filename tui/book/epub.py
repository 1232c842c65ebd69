"""EPUB 2/3 → :class:`Book`: chapters in reading order with speakable paragraphs.

Chapters follow the table of contents where it points into the spine: a spine
document starts a chapter, and a document that holds several TOC targets is cut
at them (at the shallowest TOC level found in that document, so a book-length
file listed as one section with nested stories stays one chapter). Documents
the TOC does not list continue the previous chapter unless they carry a heading
of their own. Front and back matter (by landmarks, guide, ``epub:type`` and
DPUB-ARIA roles) and non-linear spine items are left out unless ``include_all``;
a book that marks none of its matter (a converter's output, an old EPUB 2) has it
recognised by title and position instead (:mod:`matter`), as calibre's formats do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from lxml import etree

from .archive import CorruptArchiveError, EpubArchive
from .limits import MAX_DOCUMENT_BYTES
from .matter import drop_unmarked_matter, generic_title
from .model import Book, BookError, Chapter
from .package import Package, SpineItem, TocEntry, read_package
from .semantics import is_skipped_matter, semantic_types
from .xhtml import Block, element_index, extract_segments
from .xmlsafe import XmlError, localname, parse_html, parse_xml

__all__ = ["load_epub", "chapters_from_blocks", "DraftChapter"]

_NORM = re.compile(r"[\W_]+", re.UNICODE)
# Landmarks every converter writes (calibre's guide lists only these): they say nothing about the rest of the matter.
_CONVERTER_LANDMARKS = frozenset({"cover", "toc"})
# How calibre names the pieces of one source file it split (``index_split_003.html``,
# ``text/part0007.html``, ``text/part0000_split_002.html``).
_CALIBRE_PIECE = re.compile(r"^(?:(?P<part>(?:.*/)?part)\d+(?:_split_\d+)?|(?P<stem>.+)_split_\d+)\.x?html?$")


@dataclass
class DraftChapter:
    """A chapter before numbering: its title, blocks, and where it came from."""

    title: str
    blocks: list[Block]
    source: str


def _norm(text: str) -> str:
    return _NORM.sub("", text).lower()


def _paragraphs_without_title(title: str, blocks: list[Block]) -> list[str]:
    """Drop the leading headings that only repeat the chapter title (it is spoken once, from the title)."""
    norm_title = _norm(title)
    drop: set[int] = set()
    for i, block in enumerate(blocks[:4]):
        if not block.heading:
            break
        norm = _norm(block.text)
        if norm and norm_title and norm in norm_title:
            drop.add(i)
    return [b.text for i, b in enumerate(blocks) if i not in drop]


def chapters_from_blocks(drafts: list[DraftChapter]) -> list[Chapter]:
    """Number the drafts, drop repeated titles and chapters with nothing to say."""
    chapters: list[Chapter] = []
    for draft in drafts:
        paragraphs = _paragraphs_without_title(draft.title, draft.blocks)
        if not paragraphs:
            continue
        chapters.append(Chapter(index=len(chapters), title=draft.title, paragraphs=paragraphs, source=draft.source))
    return chapters


def _parse_document(archive: EpubArchive, spine_item: SpineItem, warnings: list[str]) -> Optional[etree._Element]:
    item = spine_item.item
    try:
        data = archive.read(item.path, limit=MAX_DOCUMENT_BYTES)
    except CorruptArchiveError:
        raise
    except BookError as exc:
        warnings.append(f"{exc}; skipped")
        return None
    try:
        if item.media_type == "text/html":
            try:
                root, _ = parse_xml(data, name=item.path, lenient=False)
            except XmlError:
                root = parse_html(data, name=item.path)
            return root
        root, warning = parse_xml(data, name=item.path)
        if warning:
            warnings.append(warning)
        return root
    except XmlError as exc:
        warnings.append(f"{exc}; skipped")
        return None


def _document_title(root: etree._Element) -> str:
    for el in root.iter():
        if isinstance(el.tag, str) and localname(el) == "title":
            return " ".join("".join(t for t in el.itertext() if isinstance(t, str)).split())
    return ""


def _piece_group(path: str) -> str:
    """The source file a calibre-made piece came from (its own path when it is no such piece)."""
    m = _CALIBRE_PIECE.match(path)
    if not m:
        return path
    return m.group("part") or m.group("stem") or path


def _marks_matter(root: etree._Element) -> bool:
    """Whether the document marks any front or back matter (``epub:type``, ``role="doc-*"``)."""
    return any(is_skipped_matter(semantic_types(el)) for el in root.iter() if isinstance(el.tag, str))


class _Builder:
    def __init__(self, archive: EpubArchive, pkg: Package, include_all: bool, rejoin_pieces: bool = False) -> None:
        self.archive = archive
        self.pkg = pkg
        self.include_all = include_all
        # pieces of one split file share one chapter level: the shallowest TOC level in any of them
        self.group_top: dict[str, int] = {}
        self.rejoin_pieces = rejoin_pieces
        self.warnings = list(pkg.warnings)
        self.drafts: list[DraftChapter] = []
        self.toc_by_path: dict[str, list[TocEntry]] = {}
        for entry in pkg.toc:
            self.toc_by_path.setdefault(entry.path, []).append(entry)
            if rejoin_pieces:
                group = _piece_group(entry.path)
                self.group_top[group] = min(self.group_top.get(group, entry.depth), entry.depth)
        self.skipped_docs: set[str] = set()
        self.skipped_fragments: dict[str, set[str]] = {}
        #: the book marks its own front or back matter somewhere (else its titles are all there is to go by)
        self.marks_matter = False
        for mark in pkg.landmarks:
            if not is_skipped_matter(frozenset({mark.type})):
                continue
            self.marks_matter = self.marks_matter or mark.type not in _CONVERTER_LANDMARKS
            if mark.fragment:
                self.skipped_fragments.setdefault(mark.path, set()).add(mark.fragment)
            else:
                self.skipped_docs.add(mark.path)

    def build(self) -> list[DraftChapter]:
        for spine_item in self.pkg.spine:
            if not spine_item.linear and not self.include_all:
                continue
            path = spine_item.item.path
            if not self.include_all and (path in self.skipped_docs or path == self.pkg.nav_path):
                continue
            root = _parse_document(self.archive, spine_item, self.warnings)
            if root is not None:
                if not self.marks_matter and not self.include_all:
                    self.marks_matter = _marks_matter(root)
                self._add_document(path, root)
        return self.drafts

    def _add_document(self, path: str, root: etree._Element) -> None:
        index = element_index(root)
        body = next((el for el in root.iter() if isinstance(el.tag, str) and localname(el) == "body"), root)
        containers = (root, body)

        skipped = []
        for fragment in self.skipped_fragments.get(path, ()):
            target = index.get(fragment)
            if target is None or target in containers:
                if not self.include_all:
                    return  # the landmark marks the whole document
                continue
            skipped.append(target)

        entries = self.toc_by_path.get(path, [])
        continuation = False
        if self.rejoin_pieces and _piece_group(path) != path:
            top_of_group = self.group_top.get(_piece_group(path))
            entries = [e for e in entries if e.depth == top_of_group]
            continuation = not entries and bool(self.drafts)
        doc_title = ""
        cuts: dict[etree._Element, str] = {}
        titles: dict[str, str] = {}
        if entries:
            top = min(e.depth for e in entries)
            for entry in entries:
                target = index.get(entry.fragment) if entry.fragment else None
                if target is None or target in containers:
                    if not doc_title and (not entry.fragment or target is not None):
                        doc_title = entry.title
                    continue
                if entry.depth == top and target not in cuts:
                    cuts[target] = entry.fragment
                    titles[entry.fragment] = entry.title
            if not doc_title and not cuts:
                # every entry points at an unknown fragment: the document itself is listed
                doc_title = min(entries, key=lambda e: e.depth).title

        segments = extract_segments(root, cuts=cuts, skipped=skipped, include_all=self.include_all)
        for seg in segments:
            if not seg.blocks:
                continue
            if seg.key is not None:
                title = titles.get(seg.key, "")
                source = f"{path}#{seg.key}"
            else:
                title = doc_title
                source = path
            if continuation and seg.key is None:
                self.drafts[-1].blocks.extend(seg.blocks)  # the rest of a file calibre split
                continue
            if not title:
                heading = next((b.text for b in seg.blocks[:4] if b.heading), "")
                if not heading and self.pkg.toc and self.drafts:
                    self.drafts[-1].blocks.extend(seg.blocks)  # a continuation the TOC does not list
                    continue
                title = heading or self._fallback_title(root)
            self.drafts.append(DraftChapter(title, seg.blocks, source))

    def _fallback_title(self, root: etree._Element) -> str:
        title = _document_title(root)
        if title and _norm(title) != _norm(self.pkg.meta.title):
            return title
        return generic_title(len(self.drafts) + 1)


def load_epub(path: Path, *, include_all: bool = False, calibre_made: bool = False, default_title: str = "") -> Book:
    """Read an EPUB file; BookError with a one-line message for anything unusable.

    ``calibre_made``: the EPUB was written by calibre from another format, so files it split
    (``index_split_NNN.html``) are cut into chapters as the one file they were, and its matter,
    whose marks the source format could not carry, is recognised by title and position.
    ``default_title``: the book's title when its metadata has none (else the file's name).
    """
    path = Path(path)
    with EpubArchive(path) as archive:
        pkg = read_package(archive)
        builder = _Builder(archive, pkg, include_all, calibre_made)
        chapters = chapters_from_blocks(builder.build())
        if not chapters and not include_all:
            hidden = chapters_from_blocks(_Builder(archive, pkg, True, calibre_made).build())
            if hidden:
                raise BookError(
                    f"{path.name} has text only in front/back matter or non-linear items; use --include-all to read it"
                )
    if not chapters:
        raise BookError(f"{path.name} is empty: no readable text in any chapter")
    meta = pkg.meta
    if not meta.title:
        meta.title = default_title or path.stem
    book = Book(meta=meta, chapters=chapters, source_path=path, warnings=builder.warnings)
    if not include_all and (calibre_made or not builder.marks_matter):
        drop_unmarked_matter(book)
    return book
