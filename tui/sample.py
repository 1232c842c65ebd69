"""The bundled sample book: a short original story, built into a real EPUB on demand.

Keeping the text in source (not a binary blob) lets anyone read what the quick
start will speak, and the EPUB still goes through the same ingest path as any
user's book.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

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


def write_sample_epub(path: Path) -> Path:
    """Write the sample book as an EPUB 3 file (with nav, cover and a copyright page to skip)."""
    from ebooklib import epub

    book = epub.EpubBook()
    book.set_identifier("urn:e2a-tui:sample:lighthouse-clock")
    book.set_title(SAMPLE_TITLE)
    book.set_language("en")
    book.add_author(SAMPLE_AUTHOR)
    book.add_metadata("DC", "date", "2026-01-01")
    book.add_metadata("DC", "publisher", "e2a-tui")
    book.add_metadata("DC", "description", "A short story bundled with e2a-tui to try it out.")
    book.set_cover("cover.png", _cover_png())

    copyright_page = epub.EpubHtml(title="Copyright", file_name="copyright.xhtml", lang="en")
    copyright_page.content = (
        '<html xmlns:epub="http://www.idpf.org/2007/ops"><body><section epub:type="copyright-page">'
        "<p>Copyright the e2a-tui Authors. This sample may be freely copied.</p></section></body></html>"
    )
    book.add_item(copyright_page)
    chapters = []
    for number, (title, paragraphs) in enumerate(SAMPLE_CHAPTERS, start=1):
        item = epub.EpubHtml(title=title, file_name=f"chapter{number}.xhtml", lang="en")
        body = "".join(f"<p>{p}</p>" for p in paragraphs)
        item.content = f"<html><body><section epub:type=\"chapter\"><h1>{title}</h1>{body}</section></body></html>"
        book.add_item(item)
        chapters.append(item)
    book.toc = tuple(chapters)
    book.add_item(epub.EpubNcx())
    book.add_item(epub.EpubNav())
    book.spine = [copyright_page, *chapters]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    epub.write_epub(str(path), book)
    return path
