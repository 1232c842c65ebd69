"""Malformed and hostile book files, generated cheaply (the 200 MB image is a sparse stored member)."""

from __future__ import annotations

import random
import struct
import zipfile
import zlib
from pathlib import Path
from typing import Callable, Union

from tests.support.book_helpers import CONTAINER, crafted_epub, opf, write_zip, xhtml

__all__ = ["HOSTILE", "write_sparse_stored_zip"]

_LOL = '<!ENTITY lol0 "lol">' + "".join(f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">' for i in range(1, 10))
_ENCRYPTION = (
    '<?xml version="1.0"?><encryption xmlns="urn:oasis:names:tc:opendocument:xmlns:container" '
    'xmlns:enc="http://www.w3.org/2001/04/xmlenc#"><enc:EncryptedData>'
    '<enc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#aes256-cbc"/>'
    '<enc:CipherData><enc:CipherReference URI="OEBPS/c1.xhtml"/></enc:CipherData></enc:EncryptedData></encryption>'
)


def write_sparse_stored_zip(path: Path, members: list[tuple[str, Union[bytes, int]]]) -> Path:
    """A ZIP of stored members; an ``int`` member is that many zero bytes left as a hole in the file.

    The archive is valid (CRCs and sizes right), but a 200 MB member costs no disk blocks.
    """
    central = []
    with open(path, "wb") as fh:
        for name, data in members:
            raw = name.encode()
            if isinstance(data, int):
                size, crc, chunk = data, 0, bytes(1 << 20)
                for done in range(0, size, len(chunk)):
                    crc = zlib.crc32(chunk[: min(len(chunk), size - done)], crc)
            else:
                size, crc = len(data), zlib.crc32(data)
            offset = fh.tell()
            fh.write(struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, 0, 0, 0x21, crc, size, size, len(raw), 0))
            fh.write(raw)
            if isinstance(data, int):
                fh.seek(size, 1)  # a hole: reads as zeros
            else:
                fh.write(data)
            central.append(struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, 0, 0, 0, 0x21, crc, size, size,
                                       len(raw), 0, 0, 0, 0, 0, offset) + raw)
        start = fh.tell()
        for record in central:
            fh.write(record)
        fh.write(struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, len(central), len(central),
                             fh.tell() - start, start, 0))
    return path


def _not_a_zip(p: Path) -> Path:
    p.write_bytes(b"%PDF-1.4 this is not an EPUB at all\n" * 50)
    return p


def _truncated(p: Path) -> Path:
    crafted_epub(p, body="<p>" + "Words that fill the chapter. " * 2000 + "</p>")
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    return p


def _zip_bomb(p: Path) -> Path:
    crafted_epub(p)
    with zipfile.ZipFile(p, "a", compression=zipfile.ZIP_DEFLATED) as zf:
        with zf.open("OEBPS/bomb.xhtml", "w", force_zip64=True) as member:
            block = b"\0" * (1 << 20)
            for _ in range(200):
                member.write(block)
    return p


def _laughs_in_package(p: Path) -> Path:
    package = opf().replace('<?xml version="1.0"?>', f'<?xml version="1.0"?><!DOCTYPE package [{_LOL}]>')
    package = package.replace("<dc:title>Crafted</dc:title>", "<dc:title>Crafted &lol9;</dc:title>")
    return crafted_epub(p, extra={"OEBPS/content.opf": package})


def _laughs_in_chapter(p: Path) -> Path:
    doc = (f'<?xml version="1.0"?><!DOCTYPE html [{_LOL}]><html xmlns="http://www.w3.org/1999/xhtml">'
           "<head><title>t</title></head><body><p>Start &lol9; end.</p></body></html>")
    return crafted_epub(p, extra={"OEBPS/c1.xhtml": doc})


def _external_entity(p: Path) -> Path:
    doc = ('<?xml version="1.0"?><!DOCTYPE html [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
           '<html xmlns="http://www.w3.org/1999/xhtml"><head><title>t</title></head>'
           "<body><p>Before &xxe; after.</p></body></html>")
    package = opf().replace('<?xml version="1.0"?>',
                            '<?xml version="1.0"?><!DOCTYPE package [<!ENTITY x SYSTEM "file:///etc/hostname">]>')
    return crafted_epub(p, extra={"OEBPS/c1.xhtml": doc, "OEBPS/content.opf": package.replace("Crafted", "Crafted &x;")})


def _path_traversal(p: Path) -> Path:
    items = {"c1": "c1.xhtml", "up": "../../../../tmp/e2a-escaped.xhtml", "abs": "/etc/passwd"}
    return crafted_epub(p, extra={
        "OEBPS/content.opf": opf(spine=("c1", "up", "abs"), items=items),
        "../../../../tmp/e2a-escaped.xhtml": xhtml("<p>Escaped member.</p>"),
        "/etc/e2a-absolute.xhtml": xhtml("<p>Absolute member.</p>"),
    })


def _drm(p: Path) -> Path:
    return crafted_epub(p, extra={"META-INF/encryption.xml": _ENCRYPTION})


def _empty_spine(p: Path) -> Path:
    return crafted_epub(p, extra={"OEBPS/content.opf": opf(spine=())})


def _many_chapters(p: Path, count: int = 10_000) -> Path:
    items = {f"c{i}": f"c{i}.xhtml" for i in range(count)}
    members: dict[str, Union[str, bytes]] = {"META-INF/container.xml": CONTAINER,
                                             "OEBPS/content.opf": opf(spine=tuple(items), items=items)}
    for i in range(count):
        members[f"OEBPS/c{i}.xhtml"] = xhtml(f"<h1>Part {i}</h1><p>Tiny chapter {i}.</p>")
    return write_zip(p, members)


def _huge_paragraph(p: Path) -> Path:
    """5 MB of words without one full stop, varied enough to compress like text (not like a bomb)."""
    rng = random.Random(5)
    vocabulary = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 9)))
                  for _ in range(5000)]
    words: list[str] = []
    size = 0
    while size < 5_000_000:
        word = rng.choice(vocabulary)
        words.append(word)
        size += len(word) + 1
    return crafted_epub(p, body=f"<p>{' '.join(words)} and then it ended.</p>")


def _huge_image(p: Path) -> Path:
    package = opf().replace(
        "</manifest>",
        '<item id="cover" href="cover.png" media-type="image/png" properties="cover-image"/></manifest>')
    return write_sparse_stored_zip(p, [
        ("mimetype", b"application/epub+zip"),
        ("META-INF/container.xml", CONTAINER.encode()),
        ("OEBPS/content.opf", package.encode()),
        ("OEBPS/c1.xhtml", xhtml('<p>A picture follows.</p><img src="cover.png" alt="big"/>').encode()),
        ("OEBPS/cover.png", 200 << 20),
    ])


def _not_an_fb2(p: Path) -> Path:
    p.write_bytes(b"<FictionBook><body><section><p>never closed" + b"<p>x" * 20000)
    return p


#: name → (file name, generator, True when it must be read, False when it must be refused)
HOSTILE: dict[str, tuple[str, Callable[[Path], Path], bool]] = {
    "not-a-zip": ("not-a-zip.epub", _not_a_zip, False),
    "truncated-zip": ("truncated.epub", _truncated, False),
    "zip-bomb": ("bomb.epub", _zip_bomb, False),
    "billion-laughs-package": ("laughs-opf.epub", _laughs_in_package, False),
    "billion-laughs-chapter": ("laughs-chapter.epub", _laughs_in_chapter, True),
    "external-entity": ("xxe.epub", _external_entity, True),
    "path-traversal": ("traversal.epub", _path_traversal, True),
    "drm": ("drm.epub", _drm, False),
    "empty-spine": ("empty-spine.epub", _empty_spine, False),
    "10000-chapters": ("many.epub", _many_chapters, True),
    "5mb-paragraph": ("paragraph.epub", _huge_paragraph, True),
    "200mb-image": ("image.epub", _huge_image, True),
    "broken-fb2": ("broken.fb2", _not_an_fb2, False),
}
