"""Ingest speed and memory: parse and segment a generated ~200 000-word EPUB.

Writes a book of ``--chapters`` chapters (prose with abbreviations, dialogue,
money, years, roman numerals and footnote references) to a temporary EPUB with
ebooklib, then times ``load_book`` and ``make_units`` over it (best of
``--repeat``) and measures peak Python memory with tracemalloc in a separate
pass, plus the process's peak RSS. Goal: under 2 s and 300 MB for 200 k words.

With ``--compare-pysbd`` (and pysbd importable) the same paragraphs are also
split by pysbd in the same run, and the ratio to our splitter is printed.

    python bench/ingest.py [--words 200000] [--chapters 24] [--repeat 3] [--compare-pysbd]
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
import tracemalloc
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tui.book.ingest import load_book  # noqa: E402
from tui.book.sentences import split_sentences  # noqa: E402
from tui.book.units import make_units, units_target_for  # noqa: E402

GOAL_SECONDS = 2.0
GOAL_MB = 300.0

_WORDS = (
    "the a and of to in was he she it that his her with as for on at by from they had not but all be were "
    "which one you said have this there when what their would so been into more her him could them some "
    "time only now over little old man house night eyes hand door room long face way down never back road "
    "river town morning letter window garden voice light silence heart mother father child friend stranger"
).split()
_SPECIALS = [
    "Dr. Watson arrived at St. Mary's at 10:30.",
    '"Are you certain?" she asked. "Quite," he said.',
    "It cost $3.50, or rather £2.10, in 1984.",
    "Chapter XIV of the old book, i.e. the last one, was missing.",
    "Mr. and Mrs. J. R. Hartley came home... Nobody answered.",
    "He finished 21st out of 1,250 runners, about 2% of the field.",
]


def _sentence(rng: random.Random) -> str:
    if rng.random() < 0.12:
        return rng.choice(_SPECIALS)
    words = [rng.choice(_WORDS) for _ in range(rng.randint(6, 26))]
    words[0] = words[0].capitalize()
    tail = rng.choice([".", ".", ".", "!", "?"])
    if rng.random() < 0.3:
        words.insert(rng.randint(2, len(words) - 1), rng.choice(_WORDS) + ",")
    return " ".join(words) + tail


def write_book(path: Path, words: int, chapters: int, seed: int = 7) -> int:
    """Write the generated EPUB; returns the number of words written."""
    from ebooklib import epub

    rng = random.Random(seed)
    book = epub.EpubBook()
    book.set_identifier("urn:e2a:bench:ingest")
    book.set_title("Ingest Benchmark")
    book.set_language("en")
    book.add_author("Bench Writer")
    per_chapter = words // chapters
    written = 0
    items = []
    for n in range(1, chapters + 1):
        paragraphs = []
        count = 0
        while count < per_chapter:
            sentences = [_sentence(rng) for _ in range(rng.randint(2, 8))]
            text = " ".join(sentences)
            count += len(text.split())
            if rng.random() < 0.05:
                text += f'<a epub:type="noteref" href="#n{n}">{n}</a>'
            paragraphs.append(f"<p>{text}</p>")
        written += count
        item = epub.EpubHtml(title=f"Chapter {n}", file_name=f"c{n:03d}.xhtml", lang="en")
        item.content = (
            '<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops"><body>'
            f"<h1>Chapter {n}</h1>{''.join(paragraphs)}"
            f'<aside epub:type="footnote" id="n{n}"><p>A note.</p></aside></body></html>'
        )
        book.add_item(item)
        items.append(item)
    book.toc = tuple(items)
    book.add_item(epub.EpubNcx())
    book.add_item(epub.EpubNav())
    book.spine = ["nav", *items]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        epub.write_epub(str(path), book, {})
    return written


def ingest(path: Path) -> tuple[int, int, float, float]:
    """(chapters, units, parse seconds, segment seconds)."""
    t0 = time.perf_counter()
    book = load_book(path)
    t1 = time.perf_counter()
    total = sum(len(p) for ch in book.chapters for p in ch.paragraphs)
    units = make_units(book, engine_key="piper", target_chars=units_target_for(total, 4))
    t2 = time.perf_counter()
    return len(book.chapters), len(units), t1 - t0, t2 - t1


def compare_pysbd(path: Path) -> None:
    try:
        import pysbd
    except ImportError:
        print("pysbd: not installed, comparison skipped")
        return
    paragraphs = [p for ch in load_book(path).chapters for p in ch.paragraphs]
    t0 = time.perf_counter()
    ours = sum(len(split_sentences(p)) for p in paragraphs)
    t1 = time.perf_counter()
    segmenter = pysbd.Segmenter(language="en", clean=False)
    theirs = sum(len(segmenter.segment(p)) for p in paragraphs)
    t2 = time.perf_counter()
    print(f"splitting only: ours {t1 - t0:.2f} s ({ours} sentences), pysbd {t2 - t1:.2f} s ({theirs} sentences), "
          f"pysbd/ours = {(t2 - t1) / max(t1 - t0, 1e-9):.1f}x")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, default=200_000)
    parser.add_argument("--chapters", type=int, default=24)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--compare-pysbd", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="e2a-bench-") as tmp:
        path = Path(tmp) / "bench.epub"
        words = write_book(path, args.words, args.chapters)
        print(f"book: {words} words in {args.chapters} chapters, {path.stat().st_size / 1e6:.1f} MB EPUB")
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        best = None
        for _ in range(max(1, args.repeat)):
            run = ingest(path)
            if best is None or run[2] + run[3] < best[2] + best[3]:
                best = run
        assert best is not None
        chapters, units, parse_s, segment_s = best
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        tracemalloc.start()
        ingest(path)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        peak_mb = peak / 1e6
        total_s = parse_s + segment_s
        print(f"chapters {chapters}, units {units}")
        print(f"parse {parse_s:.2f} s + segment {segment_s:.2f} s = {total_s:.2f} s "
              f"({words / total_s / 1000:.0f} k words/s; goal < {GOAL_SECONDS:.0f} s)")
        print(f"peak traced memory {peak_mb:.0f} MB; process peak RSS {rss_after:.0f} MB "
              f"(before ingest {rss_before:.0f} MB; goal < {GOAL_MB:.0f} MB)")
        if args.compare_pysbd:
            compare_pysbd(path)
    ok = total_s < GOAL_SECONDS * words / 200_000 and peak_mb < GOAL_MB
    print("goal met" if ok else "goal NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
