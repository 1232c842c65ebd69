"""What parts of a book are read aloud, by their structural semantics.

EPUB 3 marks structure with ``epub:type`` (and DPUB-ARIA ``role="doc-*"``);
EPUB 2 books carry the same information in the OPF guide, mapped onto the same
vocabulary by :mod:`package`. Front and back matter that makes no sense as
audio is skipped unless the user asks for everything; footnote references and
page-break markers are never spoken.
"""

from __future__ import annotations

from lxml import etree

__all__ = ["EPUB_TYPE", "SKIPPED_MATTER", "NEVER_SPOKEN", "NEVER_SPOKEN_ASIDES", "semantic_types", "is_skipped_matter"]

#: ``epub:type`` as lxml names the attribute.
EPUB_TYPE = "{http://www.idpf.org/2007/ops}type"

#: Front/back matter left out of the audiobook by default.
SKIPPED_MATTER = frozenset(
    {
        "cover",
        "titlepage",
        "halftitlepage",
        "seriespage",
        "frontispiece",
        "copyright-page",
        "copyright",
        "imprint",
        "imprimatur",
        "colophon",
        "errata",
        "toc",
        "toc-brief",
        "landmarks",
        "page-list",
        "loi",
        "lot",
        "loa",
        "lov",
        "index",
        "bibliography",
        "endnotes",
        "rearnotes",
        "footnotes",
        "glossary",
        "other-credits",
        "credits",
    }
)

#: Inline or block markers that are never part of the spoken text.
NEVER_SPOKEN = frozenset(
    {"noteref", "annoref", "biblioref", "glossref", "pagebreak", "backlink", "footnote", "page-list", "landmarks"}
)

#: Pop-up notes (``<aside epub:type="endnote">``) are never read in the flow of the text.
NEVER_SPOKEN_ASIDES = frozenset({"endnote", "rearnote", "footnote", "note"})


def semantic_types(el: etree._Element) -> frozenset[str]:
    """The element's structural types from ``epub:type`` and ``role="doc-*"`` (prefixes dropped)."""
    raw = el.get(EPUB_TYPE) or el.get("epub:type") or ""
    role = el.get("role") or ""
    if not raw and not role:
        return frozenset()
    types = {t.rpartition(":")[2].lower() for t in raw.split()}
    for r in role.split():
        if r.startswith("doc-"):
            types.add(r[4:].lower())
    return frozenset(types)


def is_skipped_matter(types: frozenset[str]) -> bool:
    return bool(types & SKIPPED_MATTER) or any(t.startswith("index-") for t in types)
