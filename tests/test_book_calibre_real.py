"""The real calibre: the shared EPUBs made into MOBI, AZW3, DOCX and FB2 by ``ebook-convert``, read back.

The converted files have lost the EPUB's landmarks and ``epub:type``s, so front and back matter
(title page, contents, notes...) must be recognised by title and position; the chapters must be
the EPUB's, never fewer. FB2 is read by our own reader, the rest through ``ebook-convert`` again.
Standard Ebooks' own pages (Imprint, Colophon, Uncopyright, Endnotes) are checked on a book laid
out from their templates, and on any shared book that has such pages.
Conversions are slow, so they are made once per session and cached in a temporary folder.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
import zipfile
from pathlib import Path

import pytest

from tests.support.book_helpers import (
    SE_COLOPHON_TEXT,
    SE_ENDNOTE_TEXT,
    SE_IMPRINT_TEXT,
    SE_UNCOPYRIGHT_TEXT,
    SHARED_BOOKS,
    make_standard_ebooks_epub,
)
from tui.book.ingest import load_book
from tui.book.matter import GENERIC_TITLE

EBOOK_CONVERT = shutil.which("ebook-convert")
pytestmark = pytest.mark.skipif(
    EBOOK_CONVERT is None, reason="calibre's ebook-convert is not installed (apt-get install calibre)"
)

BOOKS = ("wasteland", "trees", "childrens-literature")
#: The book laid out as Standard Ebooks make theirs (made here, not shared).
STANDARD_EBOOKS = "standard-ebooks"
_MATTER_PAGE = re.compile(rb"<title>\s*(?:Uncopyright|Colophon|Imprint)\s*</title>", re.IGNORECASE)


def _has_matter_pages(path: Path) -> bool:
    """Whether one of the EPUB's documents is an Imprint, Colophon or Uncopyright page."""
    try:
        with zipfile.ZipFile(path) as zf:
            return any(_MATTER_PAGE.search(zf.read(n)) for n in zf.namelist() if n.endswith((".xhtml", ".html")))
    except (OSError, zipfile.BadZipFile):
        return False


#: Books whose front or back matter carries those titles: the Standard Ebooks-shaped one, and any shared one.
MATTER_BOOKS = (STANDARD_EBOOKS,) + tuple(
    p.stem for p in sorted(SHARED_BOOKS.glob("*.epub")) if _has_matter_pages(p)
)
#: format → extra ebook-convert options. "fb2-toc" is FB2 sectioned by the table of contents.
FORMATS = {"mobi": [], "azw3": [], "docx": [], "fb2": [], "fb2-toc": ["--sectionize", "toc"]}
WORD_TOLERANCE = 0.06  # MOBI keeps line numbers and note markers the EPUB's classes hid


@pytest.fixture(scope="session")
def sources(tmp_path_factory) -> dict[str, Path]:
    """book → its EPUB: the shared ones present, and the Standard Ebooks-shaped one made here."""
    folder = tmp_path_factory.mktemp("calibre-sources")
    found = {book: SHARED_BOOKS / f"{book}.epub" for book in dict.fromkeys(BOOKS + MATTER_BOOKS)}
    found[STANDARD_EBOOKS] = make_standard_ebooks_epub(folder / f"{STANDARD_EBOOKS}.epub")
    return {book: path for book, path in found.items() if path.is_file()}


#: Runs conversions one after another in one calibre process: ``calibre.ebooks.conversion.cli.main``,
#: which is all that ``ebook-convert`` runs, called with each job's ebook-convert arguments. Calibre
#: takes about a second to start; paid twice instead of once per file.
_BATCH = """
import json, sys
from calibre.ebooks.conversion.cli import main

jobs_file, results_file = sys.argv[1], sys.argv[2]
results = []
for argv in json.load(open(jobs_file)):
    try:
        code = main(["ebook-convert", *argv])
    except SystemExit as exc:
        code = exc.code
    except Exception as exc:
        code = repr(exc)
    results.append(code)
    json.dump(results, open(results_file, "w"))
"""


def _convert_in_one_process(folder: Path, name: str, jobs: list[list[str]]) -> list:
    """Each job's exit code (0: converted), None for a job the batch did not reach; all None without calibre-debug."""
    results: list = []
    calibre_debug = shutil.which("calibre-debug")
    if calibre_debug:
        script, jobs_file, results_file = (folder / f"{name}.{ext}" for ext in ("batch.py", "jobs.json", "results.json"))
        script.write_text(_BATCH)
        jobs_file.write_text(json.dumps(jobs))
        try:
            subprocess.run([calibre_debug, "-e", str(script), str(jobs_file), str(results_file)], capture_output=True,
                           text=True, timeout=120, stdin=subprocess.DEVNULL, cwd=folder)
        except subprocess.TimeoutExpired:
            pass
        try:
            results = json.loads(results_file.read_text())
        except (OSError, ValueError):
            results = []
    return results + [None] * (len(jobs) - len(results))


#: Writers that change calibre's shared state for the conversions after them, so they get a process of
#: their own: DOCX's sets the page size of the output profile every writer shares (the cover FB2 and
#: MOBI generate for a book without one came out 600x900 instead of 800x1200 after it).
_OWN_PROCESS = ("docx",)


@pytest.fixture(scope="session")
def converted(tmp_path_factory, sources) -> dict[tuple[str, str], Path]:
    """(book, format) → the converted file; made once per session, in two calibre processes (DOCX in
    one, every other format in the other). Checked against one ``ebook-convert`` per file: the FB2s are
    the same but for their generated ids and dates, the other files differ only as two ``ebook-convert``
    runs of one book differ. A conversion that did not succeed there is made again by ``ebook-convert``
    itself, which must succeed."""
    folder = tmp_path_factory.mktemp("calibre-made")
    out: dict[tuple[str, str], Path] = {}
    groups: dict[str, list[list[str]]] = {}
    for book, source in sources.items():
        for fmt, options in FORMATS.items():
            target = folder / f"{book}.{fmt}".replace(".fb2-toc", ".toc.fb2")
            out[(book, fmt)] = target
            groups.setdefault(fmt if fmt in _OWN_PROCESS else "others", []).append([str(source), str(target), *options])
    for name, jobs in groups.items():
        started = time.monotonic()
        codes = _convert_in_one_process(folder, name, jobs)
        print(f"ebook-convert, {len(jobs)} files in one process ({name}): {time.monotonic() - started:.1f} s")
        for job, code in zip(jobs, codes):
            target = Path(job[1])
            if code == 0 and target.is_file():
                continue
            result = subprocess.run(
                [EBOOK_CONVERT, *job], capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL,
                cwd=folder,
            )
            assert result.returncode == 0 and target.is_file(), result.stderr[-2000:]
    return out


def _source(book: str) -> Path:
    path = SHARED_BOOKS / f"{book}.epub"
    if not path.is_file():
        pytest.skip(f"{path} is not present")
    return path


def _same_chapters(epub_book, other, fmt: str) -> None:
    assert len(other.chapters) == len(epub_book.chapters), [c.title for c in other.chapters]
    for mine, theirs in zip(epub_book.chapters, other.chapters):
        # titles may gain a page number calibre kept ("169 SECTION IV ..."); the words must be the same
        assert mine.title in theirs.title, (mine.title, theirs.title)
        assert theirs.words == pytest.approx(mine.words, rel=WORD_TOLERANCE), (fmt, mine.title)
        assert not GENERIC_TITLE.match(theirs.title)


@pytest.mark.parametrize("fmt", ["mobi", "azw3", "docx", "fb2-toc"])
@pytest.mark.parametrize("book", BOOKS)
def test_converted_book_has_the_epubs_chapters(converted, book, fmt):
    expected = load_book(_source(book))
    got = load_book(converted[(book, fmt)])
    _same_chapters(expected, got, fmt)
    assert got.meta.title.startswith(expected.meta.title.split(":")[0])
    text = "\n".join(ch.text for ch in got.chapters)
    if book == "wasteland":
        assert "For Ezra Pound" not in text  # the title page, which no longer says it is one
        assert "Not only the title" not in text  # the notes, last, named "NOTES ON ..."
    if book == "childrens-literature":
        assert not text.startswith("THE CONTENTS")


@pytest.mark.parametrize("fmt", ["mobi", "azw3", "docx", "fb2", "fb2-toc"])
def test_include_all_still_reads_the_matter_that_was_skipped(converted, fmt):
    _source("wasteland")
    everything = load_book(converted[("wasteland", fmt)], include_all=True)
    text = "\n".join(ch.text for ch in everything.chapters)
    assert "For Ezra Pound" in text and "Not only the title" in text


@pytest.mark.parametrize("fmt", ["mobi", "azw3", "docx", "fb2", "fb2-toc"])
@pytest.mark.parametrize("book", MATTER_BOOKS)
def test_standard_ebooks_matter_is_skipped_as_in_the_epub(converted, sources, book, fmt):
    """No Imprint, Colophon, Uncopyright or Endnotes chapter in any format: the chapters are the EPUB's,
    by title (a chapter called "The Imprint of a Hand" included) and by words."""
    expected = load_book(sources[book])
    got = load_book(converted[(book, fmt)])
    assert [ch.title for ch in got.chapters] == [ch.title for ch in expected.chapters]
    _same_chapters(expected, got, fmt)
    if book == STANDARD_EBOOKS:
        text = "\n".join(ch.text for ch in got.chapters)
        for matter in (SE_IMPRINT_TEXT, SE_COLOPHON_TEXT, SE_UNCOPYRIGHT_TEXT, SE_ENDNOTE_TEXT):
            assert matter not in text, (fmt, matter)


@pytest.mark.parametrize("fmt", ["mobi", "docx", "fb2"])
def test_include_all_keeps_standard_ebooks_matter(converted, fmt):
    everything = load_book(converted[(STANDARD_EBOOKS, fmt)], include_all=True)
    titles = [ch.title for ch in everything.chapters]
    assert {"Imprint", "Colophon", "Uncopyright", "Endnotes"} <= set(titles), titles
    text = "\n".join(ch.text for ch in everything.chapters)
    assert SE_UNCOPYRIGHT_TEXT in text and SE_COLOPHON_TEXT in text


def test_fb2_in_one_section_keeps_all_the_text(converted):
    """calibre's default FB2 puts a one-file book in one untitled section: one chapter, named from its
    first heading-like line, with all the words of the EPUB's chapters."""
    expected = load_book(_source("wasteland"))
    got = load_book(converted[("wasteland", "fb2")])
    assert [ch.title for ch in got.chapters] == ["The Waste Land"]
    words = sum(ch.words for ch in expected.chapters)
    assert got.chapters[0].words >= words  # nothing lost; the notes and the title page are in there too


def test_fb2_is_read_without_calibre(converted, monkeypatch, tmp_path):
    _source("trees")
    monkeypatch.setenv("PATH", str(tmp_path))  # no ebook-convert reachable
    assert [ch.title for ch in load_book(converted[("trees", "fb2-toc")]).chapters] == ["Classification", "Morphology"]


@pytest.mark.parametrize("suffix", [".mobi", ".azw3", ".docx"])
def test_garbage_in_a_calibre_format_is_one_line_and_exit_2(tmp_path, suffix):
    import sys

    from tests.support.worker_helpers import REPO_ROOT
    from tui.book.model import BookError

    path = tmp_path / f"garbage{suffix}"
    path.write_bytes(b"BOOKMOBI" + bytes(range(256)) * 40)
    with pytest.raises(BookError) as info:
        load_book(path)
    assert path.name in str(info.value) and "\n" not in str(info.value)
    result = subprocess.run([sys.executable, "-m", "tui", str(path), "--list-chapters"], capture_output=True,
                            text=True, timeout=300, cwd=REPO_ROOT)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1 and lines[0].startswith("e2a-tui: error: "), result.stderr
    assert "Traceback" not in result.stderr
