"""Hostile and broken files: every one ends in a one-line BookError or is read safely."""

from __future__ import annotations

import os
import struct
import time
import tracemalloc
import zipfile
from pathlib import Path

import pytest

from tests.support.book_helpers import CONTAINER, crafted_epub, opf, write_zip, xhtml
from tui.book.archive import EpubArchive
from tui.book.ingest import load_book
from tui.book.model import BookError

ADEPT_ENCRYPTION = (
    '<?xml version="1.0"?><encryption xmlns="urn:oasis:names:tc:opendocument:xmlns:container" '
    'xmlns:enc="http://www.w3.org/2001/04/xmlenc#"><enc:EncryptedData>'
    '<enc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#aes128-cbc"/>'
    '<enc:CipherData><enc:CipherReference URI="OEBPS/c1.xhtml"/></enc:CipherData>'
    "</enc:EncryptedData></encryption>"
)
FONT_ONLY_ENCRYPTION = ADEPT_ENCRYPTION.replace(
    "http://www.w3.org/2001/04/xmlenc#aes128-cbc", "http://www.idpf.org/2008/embedding"
).replace("OEBPS/c1.xhtml", "OEBPS/font.ttf")


def _error(path: Path, **kwargs) -> str:
    with pytest.raises(BookError) as info:
        load_book(path, **kwargs)
    message = str(info.value)
    assert message and "\n" not in message and "Traceback" not in message
    return message


def test_drm_encrypted_content_is_refused(tmp_path):
    path = crafted_epub(tmp_path / "drm.epub", extra={"META-INF/encryption.xml": ADEPT_ENCRYPTION})
    message = _error(path)
    assert "DRM" in message and "OEBPS/c1.xhtml" in message


def test_font_obfuscation_alone_is_not_drm(tmp_path):
    path = crafted_epub(
        tmp_path / "font.epub", extra={"META-INF/encryption.xml": FONT_ONLY_ENCRYPTION, "OEBPS/font.ttf": b"\0" * 64}
    )
    assert load_book(path).chapters[0].paragraphs == ["Hello there."]


def test_fairplay_sinf_is_refused(tmp_path):
    path = crafted_epub(tmp_path / "apple.epub", extra={"META-INF/sinf.xml": "<sinf/>"})
    assert "DRM" in _error(path)


def test_not_a_zip(tmp_path):
    path = tmp_path / "fake.epub"
    path.write_text("just some text, not an archive\n" * 10)
    assert _error(path) == "fake.epub is not an EPUB (not a ZIP archive)"


def test_missing_file_and_folder(tmp_path):
    assert "no such file" in _error(tmp_path / "absent.epub")
    folder = tmp_path / "folder.epub"
    folder.mkdir()
    assert "folder" in _error(folder)


def test_missing_container_and_missing_opf(tmp_path):
    no_container = write_zip(tmp_path / "nc.epub", {"OEBPS/c1.xhtml": xhtml("<p>x</p>")})
    assert "container.xml" in _error(no_container)
    no_opf = write_zip(tmp_path / "no.epub", {"META-INF/container.xml": CONTAINER, "OEBPS/c1.xhtml": xhtml("<p>x</p>")})
    assert "OEBPS/content.opf" in _error(no_opf)


def test_wrong_mimetype(tmp_path):
    with zipfile.ZipFile(tmp_path / "odt.epub", "w") as zf:
        zf.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        zf.writestr("META-INF/container.xml", CONTAINER)
    assert "mimetype" in _error(tmp_path / "odt.epub")


def test_empty_books(tmp_path):
    empty_spine = crafted_epub(tmp_path / "spine.epub", extra={"OEBPS/content.opf": opf(spine=())})
    assert "empty" in _error(empty_spine)
    no_text = crafted_epub(tmp_path / "blank.epub", body="<div><img src='x.png' alt='pic'/></div>")
    assert "empty" in _error(no_text)
    empty_zip = tmp_path / "zero.epub"
    zipfile.ZipFile(empty_zip, "w").close()
    assert "empty" in _error(empty_zip)


def test_only_front_matter_suggests_include_all(tmp_path):
    path = crafted_epub(tmp_path / "front.epub", body='<section epub:type="copyright-page"><p>(c) Nobody</p></section>')
    assert "--include-all" in _error(path)
    assert load_book(path, include_all=True).chapters[0].paragraphs == ["(c) Nobody"]


def test_zip_bomb_is_refused_without_inflating_it(tmp_path):
    path = crafted_epub(tmp_path / "bomb.epub")
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as zf:
        with zf.open("OEBPS/huge.xhtml", "w", force_zip64=True) as member:
            block = b"\0" * (1 << 20)
            for _ in range(200):  # 200 MiB of zeros, about 200 KiB compressed
                member.write(block)
    assert path.stat().st_size < 2 << 20
    tracemalloc.start()
    try:
        message = _error(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "zip bomb" in message and "OEBPS/huge.xhtml" in message
    assert peak < 16 << 20  # nothing near the member's 200 MiB was inflated


def test_total_size_limit(tmp_path):
    path = crafted_epub(tmp_path / "big.epub", extra={f"OEBPS/pad{i}.bin": os.urandom(1 << 20) for i in range(4)})
    with pytest.raises(BookError, match="would inflate to"):
        EpubArchive(path, max_total_bytes=2 << 20)
    EpubArchive(path).close()  # the default limit accepts it


def test_central_directory_that_understates_a_size_is_caught(tmp_path):
    path = crafted_epub(tmp_path / "liar.epub", body="<p>" + "All work and no play. " * 4000 + "</p>")
    data = bytearray(path.read_bytes())
    # shrink the declared uncompressed size of OEBPS/c1.xhtml in the central directory and local header
    for signature, size_offset in ((b"PK\x01\x02", 24), (b"PK\x03\x04", 22)):
        pos = 0
        while (pos := data.find(signature, pos)) >= 0:
            name_len = struct.unpack_from("<H", data, pos + (28 if signature == b"PK\x01\x02" else 26))[0]
            name_at = pos + (46 if signature == b"PK\x01\x02" else 30)
            if bytes(data[name_at:name_at + name_len]) == b"OEBPS/c1.xhtml":
                struct.pack_into("<I", data, pos + size_offset, 100)
            pos += 4
    path.write_bytes(bytes(data))
    assert "corrupt" in _error(path)


def test_other_zip_compression_is_refused(tmp_path):
    path = crafted_epub(tmp_path / "bz.epub", compression=zipfile.ZIP_BZIP2)
    assert "bzip2" in _error(path)


def test_external_entity_is_not_resolved(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    doc = (
        f'<?xml version="1.0"?><!DOCTYPE html [<!ENTITY xxe SYSTEM "file://{secret}">'
        '<!ENTITY inside SYSTEM "OEBPS/leak.xhtml">]>'
        '<html xmlns="http://www.w3.org/1999/xhtml"><head><title>t</title></head>'
        "<body><p>Before &xxe; and &inside; after.</p></body></html>"
    )
    path = crafted_epub(tmp_path / "xxe.epub", extra={"OEBPS/c1.xhtml": doc, "OEBPS/leak.xhtml": "LEAKED-MEMBER"})
    book = load_book(path)
    text = book.chapters[0].text
    assert "TOP-SECRET-CONTENT" not in text and "LEAKED-MEMBER" not in text and "&xxe;" not in text
    assert text == "Before and after."


def test_entity_expansion_bomb_is_not_expanded(tmp_path):
    lol = '<!ENTITY lol0 "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">' for i in range(1, 10)
    )
    doc = (
        f'<?xml version="1.0"?><!DOCTYPE html [{lol}]><html xmlns="http://www.w3.org/1999/xhtml">'
        "<head><title>t</title></head><body><p>Start &lol9; end.</p></body></html>"
    )
    path = crafted_epub(tmp_path / "lol.epub", extra={"OEBPS/c1.xhtml": doc})
    started = time.perf_counter()
    book = load_book(path)
    assert time.perf_counter() - started < 30  # a safety net against hanging, not a speed claim
    text = book.chapters[0].text
    assert "lol" not in text and text.startswith("Start")
    assert any("amplification" in w for w in book.warnings)  # libxml2's own guard; nothing was expanded


def test_malformed_opf_and_documents(tmp_path):
    broken_opf = crafted_epub(tmp_path / "opf.epub", extra={"OEBPS/content.opf": "<package><manifest><item"})
    assert "content.opf" in _error(broken_opf)
    unclosed = crafted_epub(tmp_path / "unclosed.epub", body="<p>Open paragraph <b>bold</p>")
    book = load_book(unclosed)
    assert "Open paragraph bold" in book.chapters[0].text
    assert any("not well-formed" in w for w in book.warnings)


def test_remote_resources_are_never_fetched(tmp_path):
    items = {"c1": "c1.xhtml", "remote": "http://127.0.0.1:9/remote.xhtml"}
    path = crafted_epub(tmp_path / "remote.epub", extra={"OEBPS/content.opf": opf(spine=("c1", "remote"), items=items)})
    book = load_book(path)
    assert [ch.text for ch in book.chapters] == ["Hello there."]


def test_unsupported_suffix(tmp_path):
    path = tmp_path / "book.xyz"
    path.write_text("x")
    assert "unsupported format .xyz" in _error(path)


def test_mutated_books_never_raise_anything_but_book_error(tmp_path):
    """Flipped bytes, truncations and damaged members: a Book or a one-line BookError, nothing else."""
    import io
    import random

    from tests.support.book_helpers import make_epub2, make_epub3

    sources = [make_epub3(tmp_path / "a.epub").read_bytes(), make_epub2(tmp_path / "b.epub").read_bytes()]
    rng = random.Random(20240601)
    target = tmp_path / "mutant.epub"
    for _ in range(150):
        data = bytearray(rng.choice(sources))
        mode = rng.randrange(3)
        if mode == 0:
            for _ in range(rng.randint(1, 20)):
                data[rng.randrange(len(data))] = rng.randrange(256)
        elif mode == 1:
            data = data[: rng.randrange(len(data))]
        else:
            out = io.BytesIO()
            with zipfile.ZipFile(io.BytesIO(bytes(data))) as zin, zipfile.ZipFile(out, "w") as zout:
                for info in zin.infolist():
                    content = bytearray(zin.read(info))
                    if info.filename.endswith((".opf", ".xhtml", ".ncx", ".xml")) and content:
                        pos = rng.randrange(len(content))
                        content[pos:pos + rng.randint(1, 40)] = rng.choice([b"", b"<", b"&x;", b"</div>", b"\xff"])
                    zout.writestr(info, bytes(content))
            data = bytearray(out.getvalue())
        target.write_bytes(bytes(data))
        try:
            book = load_book(target, include_all=rng.random() < 0.3)
        except BookError as exc:
            assert str(exc) and "\n" not in str(exc)
        else:
            assert book.chapters and all(ch.paragraphs for ch in book.chapters)
