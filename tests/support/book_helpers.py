"""Builders for the EPUBs the book tests read: real files written with ebooklib or zipfile."""

from __future__ import annotations

import re
import warnings
import zipfile
from pathlib import Path
from typing import Iterable, Optional, Union

from ebooklib import epub

SHARED_BOOKS = Path(__file__).resolve().parents[3] / "shared" / "books"

CONTAINER = (
    '<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">'
    '<rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/>'
    "</rootfiles></container>"
)

FOOTNOTE_TEXT = "This footnote text must never be spoken."
SCRIPT_TEXT = "var secretScriptValue = 42;"
STYLE_TEXT = "p.hidden-style-marker { color: red; }"
NONLINEAR_TEXT = "Answer key that only opens from a link."
COPYRIGHT_TEXT = "All rights reserved by the imaginary publisher."
TITLEPAGE_TEXT = "A Generated Novel, by Ada Example."
INDEX_TEXT = "Aardvark, 12; Zebra, 99."
COVER_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


def _xhtml(body: str, title: str = "x") -> str:
    return (
        '<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops">'
        f"<head><title>{title}</title></head><body>{body}</body></html>"
    )


def _write(book: epub.EpubBook, path: Path) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        epub.write_epub(str(path), book, {})
    return path


def _base_book(title: str, language: str = "en") -> epub.EpubBook:
    book = epub.EpubBook()
    book.set_identifier(f"urn:test:{title}")
    book.set_title(title)
    book.set_language(language)
    book.add_author("Ada Example")
    book.add_metadata("DC", "publisher", "Test Press")
    book.add_metadata("DC", "date", "2021-03-04")
    book.add_metadata("DC", "description", "A book generated for tests.")
    return book


def chapter_body(number: int, words: int = 60) -> str:
    """Prose with a footnote reference, an inline script and style, and a pop-up footnote."""
    sentences = " ".join(f"Sentence {i} of chapter {number} moves the story along." for i in range(words // 8))
    return (
        f"<section epub:type=\"chapter\"><h1>Chapter {number}</h1>"
        f"<p>Dr. Smith met Mrs. Jones at St. Paul's in 1984.<a epub:type=\"noteref\" href=\"#fn{number}\">{number}</a>"
        " It cost $3.50.</p>"
        f"<script type=\"text/javascript\">{SCRIPT_TEXT}</script><style>{STYLE_TEXT}</style>"
        f"<p>{sentences}</p>"
        f"<p>Last paragraph of chapter {number}.</p>"
        f"<aside epub:type=\"footnote\" id=\"fn{number}\"><p>{FOOTNOTE_TEXT}</p></aside></section>"
    )


def make_epub3(path: Path, chapters: int = 3) -> Path:
    """EPUB 3 with a nav document, landmarks, cover, title page, copyright, index and a non-linear item."""
    book = _base_book("Generated Three")
    book.set_cover("cover.png", COVER_PNG, create_page=True)
    titlepage = epub.EpubHtml(title="Title Page", file_name="titlepage.xhtml", lang="en")
    titlepage.content = _xhtml(f"<p>{TITLEPAGE_TEXT}</p>")
    copyright_page = epub.EpubHtml(title="Copyright", file_name="copyright.xhtml", lang="en")
    copyright_page.content = _xhtml(f'<section epub:type="copyright-page"><p>{COPYRIGHT_TEXT}</p></section>')
    index_page = epub.EpubHtml(title="Index", file_name="index.xhtml", lang="en")
    index_page.content = _xhtml(f"<h1>Index</h1><p>{INDEX_TEXT}</p>")
    answers = epub.EpubHtml(title="Answers", file_name="answers.xhtml", lang="en")
    answers.content = _xhtml(f"<h1>Answers</h1><p>{NONLINEAR_TEXT}</p>")
    items = []
    for n in range(1, chapters + 1):
        item = epub.EpubHtml(title=f"The Chapter Called {n}", file_name=f"ch{n}.xhtml", lang="en")
        item.content = _xhtml(chapter_body(n))
        items.append(item)
    for item in [titlepage, copyright_page, *items, answers, index_page]:
        book.add_item(item)
    book.toc = (titlepage, *items, index_page)
    book.guide = [
        {"type": "title-page", "href": "titlepage.xhtml", "title": "Title"},
        {"type": "index", "href": "index.xhtml", "title": "Index"},
    ]
    book.add_item(epub.EpubNcx())
    book.add_item(epub.EpubNav())
    book.spine = ["cover", titlepage, copyright_page, "nav", *items, (answers, "no"), index_page]
    return _write(book, path)


def make_epub2(path: Path) -> Path:
    """EPUB 2: NCX only (no nav document), OPF version 2.0, guide for front matter, EPUB 2 style notes."""
    book = _base_book("Generated Two")
    toc_page = epub.EpubHtml(title="Contents", file_name="contents.xhtml", lang="en")
    toc_page.content = _xhtml("<h1>Contents</h1><p>Chapter One. Chapter Two.</p>")
    one = epub.EpubHtml(title="Arrival", file_name="one.xhtml", lang="en")
    one.content = _xhtml(
        "<h2>1</h2><p>They arrived at night.<a href=\"notes.xhtml#n1\" id=\"ref1\"><sup>1</sup></a> "
        "The town slept.</p><p>A second paragraph.</p>"
    )
    one_b = epub.EpubHtml(title="split", file_name="one_split.xhtml", lang="en")
    one_b.content = _xhtml("<p>The arrival chapter continues in a second file.</p>")
    interlude = epub.EpubHtml(title="Interlude", file_name="interlude.xhtml", lang="en")
    interlude.content = _xhtml("<h1>An Unlisted Interlude</h1><p>Rain fell for a while.</p>")
    two = epub.EpubHtml(title="Departure", file_name="two.xhtml", lang="en")
    two.content = _xhtml("<h2>2</h2><p>They left at dawn.<sup><a href=\"notes.xhtml#n2\">[2]</a></sup></p>")
    for item in (toc_page, one, one_b, interlude, two):
        book.add_item(item)
    book.toc = (epub.Link("one.xhtml", "Chapter One: Arrival", "one"), epub.Link("two.xhtml", "Chapter Two: Departure", "two"))
    book.guide = [{"type": "toc", "href": "contents.xhtml", "title": "Contents"}]
    book.add_item(epub.EpubNcx())
    book.spine = [toc_page, one, one_b, interlude, two]
    _write(book, path)
    rewrite_member(path, "EPUB/content.opf", lambda s: s.replace(b'version="3.0"', b'version="2.0"'))
    return path


def make_single_file_epub(path: Path) -> Path:
    """One XHTML file holding three chapters, reached through TOC fragments."""
    book = _base_book("Single File")
    body = "".join(
        f'<section id="part{n}"><h2>Part {n}</h2><p>Text of part {n}. It is short.</p></section>' for n in (1, 2, 3)
    )
    item = epub.EpubHtml(title="All", file_name="all.xhtml", lang="en")
    item.content = _xhtml(f"<section epub:type=\"titlepage\"><h1>Single File</h1></section>{body}")
    book.add_item(item)
    book.toc = tuple(epub.Link(f"all.xhtml#part{n}", f"Part {n} from the TOC", f"p{n}") for n in (1, 2, 3))
    book.add_item(epub.EpubNcx())
    book.add_item(epub.EpubNav())
    book.spine = ["nav", item]
    return _write(book, path)


def make_prose_epub(path: Path, chapters: list[list[str]], title: str = "Prose") -> Path:
    """An EPUB 3 with the given paragraphs per chapter."""
    book = _base_book(title)
    items = []
    for n, paragraphs in enumerate(chapters, start=1):
        item = epub.EpubHtml(title=f"Chapter {n}", file_name=f"c{n}.xhtml", lang="en")
        item.content = _xhtml(f"<h1>Chapter {n}</h1>" + "".join(f"<p>{p}</p>" for p in paragraphs))
        book.add_item(item)
        items.append(item)
    book.toc = tuple(items)
    book.add_item(epub.EpubNcx())
    book.add_item(epub.EpubNav())
    book.spine = items
    return _write(book, path)


def rewrite_member(path: Path, name: str, change) -> None:
    """Rewrite one member of a ZIP in place (keeping order and the stored mimetype)."""
    with zipfile.ZipFile(path) as zf:
        members = [(info, zf.read(info)) for info in zf.infolist()]
    with zipfile.ZipFile(path, "w") as zf:
        for info, data in members:
            if info.filename == name:
                data = change(data)
            zf.writestr(info, data, compress_type=info.compress_type)


def opf(spine: Iterable[str] = ("c1",), items: Optional[dict[str, str]] = None) -> str:
    manifest = "".join(
        f'<item id="{i}" href="{href}" media-type="application/xhtml+xml"/>' for i, href in (items or {"c1": "c1.xhtml"}).items()
    )
    refs = "".join(f'<itemref idref="{i}"/>' for i in spine)
    return (
        '<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="id">'
        '<metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:identifier id="id">x</dc:identifier>'
        "<dc:title>Crafted</dc:title><dc:language>en</dc:language></metadata>"
        f"<manifest>{manifest}</manifest><spine>{refs}</spine></package>"
    )


def write_zip(
    path: Path,
    members: dict[str, Union[str, bytes]],
    *,
    compression: int = zipfile.ZIP_DEFLATED,
    with_mimetype: bool = True,
) -> Path:
    """A ZIP with a stored ``mimetype`` first and the given members."""
    with zipfile.ZipFile(path, "w") as zf:
        if with_mimetype:
            zf.writestr("mimetype", "application/epub+zip", compress_type=zipfile.ZIP_STORED)
        for name, data in members.items():
            zf.writestr(name, data, compress_type=compression)
    return path


def crafted_epub(path: Path, body: str = "<p>Hello there.</p>", extra: Optional[dict[str, Union[str, bytes]]] = None,
                 **kwargs) -> Path:
    """A minimal valid EPUB built by hand, plus ``extra`` members."""
    members: dict[str, Union[str, bytes]] = {
        "META-INF/container.xml": CONTAINER,
        "OEBPS/content.opf": opf(),
        "OEBPS/c1.xhtml": _xhtml(body),
    }
    members.update(extra or {})
    return write_zip(path, members, **kwargs)


def xhtml(body: str, title: str = "x") -> str:
    return _xhtml(body, title)


# ---------------------------------------------------------------- a Standard Ebooks-shaped book

#: The chapters of :func:`make_standard_ebooks_epub`, as its table of contents names them. The second
#: one is named like front matter on purpose: in the middle of the book it is a chapter to read.
SE_CHAPTERS = ("I: The Quay", "II: The Imprint of a Hand", "III: The Harbour Light")
SE_IMPRINT_TEXT = "This ebook is the product of many hours of hard work by volunteers for Standard Ebooks"
SE_COLOPHON_TEXT = "This ebook was produced for the Standard Ebooks project"
SE_UNCOPYRIGHT_TEXT = "this Uncopyright page exists to tell you"
SE_ENDNOTE_TEXT = "The quay was rebuilt in stone the following spring."

_SE_NS = (
    'xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops" '
    'epub:prefix="z3998: http://www.daisy.org/z3998/2012/vocab/structure/, se: https://standardebooks.org/vocab/1.0" '
    'xml:lang="en-GB"'
)
_SE_SVG = (
    '<?xml version="1.0" encoding="utf-8"?><svg xmlns="http://www.w3.org/2000/svg" version="1.1" '
    'viewBox="0 0 1400 2100"><rect width="1400" height="2100" fill="#fff"/><path d="M100 100h1200v80H100z"/></svg>'
)
_SE_PROSE = (
    "The lamps were lit along the quay one after another, and the boats came in with the tide.",
    "Nobody on the harbour wall spoke while the last of them turned into the light.",
    "She counted the masts twice, as her father had taught her, and wrote the number on her hand.",
    "Far out past the breakwater a bell rang for the turning of the watch.",
)


def _se_page(title: str, body_type: str, section: str) -> str:
    return (
        f'<?xml version="1.0" encoding="utf-8"?>\n<html {_SE_NS}><head><title>{title}</title>'
        '<link href="../css/core.css" rel="stylesheet" type="text/css"/></head>'
        f'<body epub:type="{body_type}">{section}</body></html>'
    )


def _se_chapter(number: int, toc_title: str, paragraphs: int) -> str:
    roman, _, name = toc_title.partition(": ")
    prose = "".join(
        f"<p>{' '.join(_SE_PROSE[(i + k) % len(_SE_PROSE)] for k in range(3))}</p>" for i in range(paragraphs)
    )
    note = (
        '<p>The old quay was gone by the winter.<a href="endnotes.xhtml#note-1" id="noteref-1" '
        'epub:type="noteref">1</a></p>' if number == 1 else ""
    )
    return _se_page(
        name,
        "bodymatter z3998:fiction",
        f'<section id="chapter-{number}" epub:type="chapter"><hgroup>'
        f'<h2 epub:type="ordinal z3998:roman">{roman}</h2><p epub:type="title">{name}</p></hgroup>'
        f"{note}{prose}</section>",
    )


def make_standard_ebooks_epub(path: Path, *, paragraphs: int = 12, marked: bool = True) -> Path:
    """An EPUB laid out as Standard Ebooks makes them (their templates' front and back matter: titlepage,
    imprint, endnotes, colophon, Uncopyright), marked by landmarks and ``epub:type`` only, as theirs are.

    ``marked=False``: the same book with no landmarks and no ``epub:type`` in its pages, as a converter
    that drops them would write it.
    """
    imprint = _se_page("Imprint", "frontmatter", (
        '<section id="imprint" epub:type="imprint"><header><h2 epub:type="title">Imprint</h2>'
        '<img alt="The Standard Ebooks logo." src="../images/logo.svg" epub:type="z3998:publisher-logo"/></header>'
        f'<p>{SE_IMPRINT_TEXT}, and builds on the hard work of other literature lovers made possible by the '
        "public domain.</p><p>This particular ebook is based on a transcription from Project Gutenberg and on "
        'digital scans from the Internet Archive. For full license information, see the <a href="uncopyright.xhtml">'
        "Uncopyright</a> at the end of this ebook.</p></section>"
    ))
    titlepage = _se_page("Titlepage", "frontmatter", (
        '<section id="titlepage" epub:type="titlepage"><h1 epub:type="title">The Harbour Lamps</h1>'
        '<p>By <b epub:type="z3998:author-name">Ada Example</b>.</p>'
        '<img alt="" src="../images/titlepage.svg" epub:type="se:image.color-depth.black-on-transparent"/></section>'
    ))
    endnotes = _se_page("Endnotes", "backmatter", (
        '<section id="endnotes" epub:type="endnotes"><h2 epub:type="title">Endnotes</h2><ol>'
        f'<li id="note-1" epub:type="endnote"><p>{SE_ENDNOTE_TEXT} '
        '<a href="chapter-1.xhtml#noteref-1" epub:type="backlink">↩</a></p></li></ol></section>'
    ))
    colophon = _se_page("Colophon", "backmatter", (
        '<section id="colophon" epub:type="colophon"><header><h2 epub:type="title">Colophon</h2>'
        '<img alt="The Standard Ebooks logo." src="../images/logo.svg" epub:type="z3998:publisher-logo"/></header>'
        '<p><i epub:type="se:name.publication.book">The Harbour Lamps</i><br/>was published in 1911 by<br/>'
        f"Ada Example.</p><p>{SE_COLOPHON_TEXT}<br/>by<br/>a volunteer,<br/>and is based on a transcription "
        "produced in 2004 for Project Gutenberg.</p><p>The first edition of this ebook was released on<br/>"
        "<b>January 1, 2020, 12:00 a.m.</b></p></section>"
    ))
    uncopyright = _se_page("Uncopyright", "backmatter", (
        '<section id="uncopyright" epub:type="copyright-page"><h2 epub:type="title">Uncopyright</h2>'
        '<blockquote epub:type="z3998:verse"><p><span>May you do good and not evil.</span><br/>'
        "<span>May you share freely, never taking more than you give.</span></p></blockquote>"
        f"<p>Copyright pages exist to tell you <em>can’t</em> do something. Unlike them, {SE_UNCOPYRIGHT_TEXT} "
        "that the writing and artwork in this ebook are believed to be in the United States public domain.</p>"
        "</section>"
    ))
    pages = {"titlepage": titlepage, "imprint": imprint}
    pages.update({f"chapter-{n}": _se_chapter(n, t, paragraphs) for n, t in enumerate(SE_CHAPTERS, start=1)})
    pages.update({"endnotes": endnotes, "colophon": colophon, "uncopyright": uncopyright})
    marks = {"titlepage": "frontmatter titlepage", "imprint": "frontmatter imprint",
             "chapter-1": "bodymatter z3998:fiction", "endnotes": "backmatter endnotes",
             "colophon": "backmatter colophon", "uncopyright": "backmatter copyright-page"}
    names = {"titlepage": "Titlepage", "imprint": "Imprint", "endnotes": "Endnotes", "colophon": "Colophon",
             "uncopyright": "Uncopyright", **{f"chapter-{n}": t for n, t in enumerate(SE_CHAPTERS, start=1)}}
    if not marked:
        pages = {p: re.sub(r' epub:type="[^"]*"', "", page) for p, page in pages.items()}
    toc_items = "".join(f'<li><a href="text/{p}.xhtml">{names[p]}</a></li>' for p in pages)
    landmarks = "".join(
        f'<li><a href="text/{p}.xhtml" epub:type="{t}">{names[p] if p != "chapter-1" else "The Harbour Lamps"}</a></li>'
        for p, t in marks.items()
    )
    toc = (
        f'<?xml version="1.0" encoding="utf-8"?>\n<html {_SE_NS}><head><title>Table of Contents</title></head>'
        '<body epub:type="frontmatter"><nav id="toc" epub:type="toc"><h2 epub:type="title">Table of Contents</h2>'
        f"<ol>{toc_items}</ol></nav>"
        + (f'<nav id="landmarks" epub:type="landmarks"><h2>Landmarks</h2><ol>{landmarks}</ol></nav>' if marked else "")
        + "</body></html>"
    )
    manifest = "".join(
        f'<item href="text/{p}.xhtml" id="{p}.xhtml" media-type="application/xhtml+xml"/>' for p in pages
    ) + (
        '<item href="css/core.css" id="core.css" media-type="text/css"/>'
        '<item href="images/logo.svg" id="logo.svg" media-type="image/svg+xml"/>'
        '<item href="images/titlepage.svg" id="titlepage.svg" media-type="image/svg+xml"/>'
        '<item href="toc.xhtml" id="toc.xhtml" media-type="application/xhtml+xml" properties="nav"/>'
    )
    spine = "".join(f'<itemref idref="{p}.xhtml"/>' for p in pages)
    package = (
        '<?xml version="1.0" encoding="utf-8"?>\n<package xmlns="http://www.idpf.org/2007/opf" dir="ltr" '
        'unique-identifier="uid" version="3.0" xml:lang="en-GB"><metadata xmlns:dc="http://purl.org/dc/elements/1.1/">'
        '<dc:identifier id="uid">url:https://standardebooks.org/ebooks/ada-example/the-harbour-lamps</dc:identifier>'
        '<dc:date>2020-01-01T00:00:00Z</dc:date><meta property="dcterms:modified">2020-01-01T00:00:00Z</meta>'
        '<dc:publisher id="publisher">Standard Ebooks</dc:publisher><dc:title id="title">The Harbour Lamps</dc:title>'
        '<dc:language>en-GB</dc:language><dc:creator id="author">Ada Example</dc:creator>'
        '<meta property="role" refines="#author" scheme="marc:relators">aut</meta></metadata>'
        f"<manifest>{manifest}</manifest><spine>{spine}</spine></package>"
    )
    members: dict[str, Union[str, bytes]] = {
        "META-INF/container.xml": CONTAINER.replace("OEBPS/content.opf", "epub/content.opf"),
        "epub/content.opf": package,
        "epub/toc.xhtml": toc,
        "epub/css/core.css": "p { margin: 0; text-indent: 1em; }",
        "epub/images/logo.svg": _SE_SVG,
        "epub/images/titlepage.svg": _SE_SVG,
    }
    members.update({f"epub/text/{p}.xhtml": page for p, page in pages.items()})
    return write_zip(path, members)
