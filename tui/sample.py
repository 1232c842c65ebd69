"""The bundled sample book: a short original story, built into a real EPUB on demand.

Keeping the text in source (not a binary blob) lets anyone read what the quick
start will speak, and the EPUB still goes through the same ingest path as any
user's book.
"""

from __future__ import annotations

import struct
import zipfile
import zlib
from pathlib import Path
from xml.sax.saxutils import escape

__all__ = ["SAMPLE_TITLE", "SAMPLE_AUTHOR", "SAMPLE_CHAPTERS", "write_sample_epub"]

SAMPLE_TITLE = "The Lighthouse Keeper's Clock"
SAMPLE_AUTHOR = "The e2a-tui Authors"

SAMPLE_CHAPTERS: list[tuple[str, list[str]]] = [
    ("The Clock That Ran Slow", [
        "On the northern cape stood a lighthouse, and in the lighthouse lived a keeper named Ada Quill. "
        "She had kept the light for twenty-two years, and in all that time the great brass clock on the "
        "stair had never lost a minute.",
        "Then, on the first night of November, it lost three. Ada noticed because the ferry from St. Brannock "
        "sounded its horn at 9:15, and the clock said 9:12. She wound it, oiled it, and said good night to it, "
        "as she always did.",
        "\u201cYou are tired,\u201d she told it. \u201cSo am I. We shall both do better tomorrow.\u201d",
    ]),
    ("A Visitor from the Mainland", [
        "Tomorrow brought a visitor instead. Dr. Elias Penhallow rowed across the bay with a leather bag, "
        "a thermos of tea, and a letter that had cost him $3.50 to send and a week to arrive.",
        "The letter said the lighthouse would be made automatic in the spring. A machine would turn the lamp, "
        "and a second machine would watch the first. No keeper would be needed, and no clock.",
        "Ada read the letter twice. Then she poured the tea, because a guest is a guest, and asked the doctor "
        "whether his machines would also say good night.",
    ]),
    ("The Last Night of the Light", [
        "On her last night Ada climbed the 147 steps one more time. The sea was calm, the lamp turned, "
        "and the brass clock, for the first time in a month, kept perfect time.",
        "She stopped its pendulum at midnight, wrapped it in a blanket, and carried it down to the boat. "
        "The light went on turning behind her, steady and exact, as if nothing had changed at all.",
        "Years later, in a small house on the mainland, visitors would ask why an old clock stood by the "
        "window facing the sea. Ada would only smile and say that it was keeping watch.",
    ]),
]


def _cover_png(width: int = 96, height: int = 144) -> bytes:
    """A tiny sea-and-sky cover drawn without any imaging library."""
    rows = []
    for y in range(height):
        colour = (250, 214, 120) if y < height * 0.45 else (40, 90, 150)
        if abs(y - height * 0.45) < 2:
            colour = (255, 255, 255)
        rows.append(b"\x00" + bytes(colour) * width)
    raw = b"".join(rows)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def _xhtml(title: str, body: str) -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE html>\n'
        '<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops" '
        'lang="en" xml:lang="en">\n'
        f"<head><title>{escape(title)}</title></head>\n<body>{body}</body>\n</html>\n"
    )


_CONTAINER = (
    '<?xml version="1.0" encoding="utf-8"?>\n'
    '<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">\n'
    '  <rootfiles><rootfile full-path="EPUB/content.opf" media-type="application/oebps-package+xml"/></rootfiles>\n'
    "</container>\n"
)
_IDENTIFIER = "urn:e2a-tui:sample:lighthouse-clock"


def _opf(chapter_files: list[str]) -> str:
    items = [
        '<item id="cover-img" href="cover.png" media-type="image/png" properties="cover-image"/>',
        '<item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>',
        '<item id="ncx" href="toc.ncx" media-type="application/x-dtbncx+xml"/>',
        '<item id="copyright" href="copyright.xhtml" media-type="application/xhtml+xml"/>',
    ] + [f'<item id="chapter{i}" href="{name}" media-type="application/xhtml+xml"/>'
         for i, name in enumerate(chapter_files, start=1)]
    spine = ['<itemref idref="copyright"/>'] + [f'<itemref idref="chapter{i}"/>' for i in range(1, len(chapter_files) + 1)]
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="id" xml:lang="en">\n'
        '  <metadata xmlns:dc="http://purl.org/dc/elements/1.1/">\n'
        f'    <dc:identifier id="id">{_IDENTIFIER}</dc:identifier>\n'
        f"    <dc:title>{escape(SAMPLE_TITLE)}</dc:title>\n"
        "    <dc:language>en</dc:language>\n"
        f'    <dc:creator id="creator">{escape(SAMPLE_AUTHOR)}</dc:creator>\n'
        "    <dc:date>2026-01-01</dc:date>\n"
        "    <dc:publisher>e2a-tui</dc:publisher>\n"
        "    <dc:description>A short story bundled with e2a-tui to try it out.</dc:description>\n"
        '    <meta property="dcterms:modified">2026-01-01T00:00:00Z</meta>\n'
        '    <meta name="cover" content="cover-img"/>\n'
        "  </metadata>\n"
        "  <manifest>\n    " + "\n    ".join(items) + "\n  </manifest>\n"
        '  <spine toc="ncx">\n    ' + "\n    ".join(spine) + "\n  </spine>\n"
        "</package>\n"
    )


def _nav(chapter_files: list[str]) -> str:
    links = "".join(
        f'<li><a href="{name}">{escape(title)}</a></li>'
        for name, (title, _) in zip(chapter_files, SAMPLE_CHAPTERS)
    )
    return _xhtml(SAMPLE_TITLE, f'<nav epub:type="toc" id="toc"><h2>{escape(SAMPLE_TITLE)}</h2><ol>{links}</ol></nav>')


def _ncx(chapter_files: list[str]) -> str:
    points = "".join(
        f'<navPoint id="chapter{i}"><navLabel><text>{escape(title)}</text></navLabel>'
        f'<content src="{name}"/></navPoint>'
        for i, (name, (title, _)) in enumerate(zip(chapter_files, SAMPLE_CHAPTERS), start=1)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<ncx xmlns="http://www.daisy.org/z3986/2005/ncx/" version="2005-1">'
        f'<head><meta name="dtb:uid" content="{_IDENTIFIER}"/></head>'
        f"<docTitle><text>{escape(SAMPLE_TITLE)}</text></docTitle><navMap>{points}</navMap></ncx>\n"
    )


def write_sample_epub(path: Path) -> Path:
    """Write the sample book as an EPUB 3 file (with nav, cover and a copyright page to skip).

    Written with :mod:`zipfile` and plain XHTML/OPF text, so the package needs no
    EPUB library at run time.
    """
    chapter_files = [f"chapter{n}.xhtml" for n in range(1, len(SAMPLE_CHAPTERS) + 1)]
    copyright_page = _xhtml(
        "Copyright",
        '<section epub:type="copyright-page">'
        "<p>Copyright the e2a-tui Authors. This sample may be freely copied.</p></section>",
    )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    stamp = (2026, 1, 1, 0, 0, 0)

    def put(zf: zipfile.ZipFile, name: str, data: bytes | str, compress: int = zipfile.ZIP_DEFLATED) -> None:
        info = zipfile.ZipInfo(name, date_time=stamp)
        info.compress_type = compress
        zf.writestr(info, data.encode("utf-8") if isinstance(data, str) else data)

    with zipfile.ZipFile(path, "w") as zf:
        put(zf, "mimetype", "application/epub+zip", zipfile.ZIP_STORED)  # first and uncompressed (OCF)
        put(zf, "META-INF/container.xml", _CONTAINER)
        put(zf, "EPUB/content.opf", _opf(chapter_files))
        put(zf, "EPUB/nav.xhtml", _nav(chapter_files))
        put(zf, "EPUB/toc.ncx", _ncx(chapter_files))
        put(zf, "EPUB/cover.png", _cover_png())
        put(zf, "EPUB/copyright.xhtml", copyright_page)
        for name, (title, paragraphs) in zip(chapter_files, SAMPLE_CHAPTERS):
            body = "".join(f"<p>{escape(p)}</p>" for p in paragraphs)
            put(zf, f"EPUB/{name}",
                _xhtml(title, f'<section epub:type="chapter"><h1>{escape(title)}</h1>{body}</section>'))
    return path
