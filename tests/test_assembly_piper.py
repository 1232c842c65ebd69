"""Real Piper speech through the whole path: units → chapters encoded as they complete → m4b + WebVTT."""

from __future__ import annotations

import numpy as np
import pytest

from tests.support.assembly_helpers import (
    audio_tags,
    book_meta,
    chapter_starts,
    decode,
    ffprobe,
    locate,
    piper_book,
    subtitle_cues,
)
from tui.assembly import ChapterEncoder, finish_audiobook

TEXTS = [
    [["The engine began to turn.", "Numbers marched through it."], ["Nobody spoke for a while."]],
    [["Chapter two opens in the rain.", "The streets were empty."], ["A door closed somewhere.", "Then silence."]],
    [["At last the answer came.", "It was forty two."], ["They laughed, and went home."]],
]


@pytest.fixture(scope="module")
def spoken(tmp_path_factory):
    root = tmp_path_factory.mktemp("piper")
    book = piper_book(root / "units", TEXTS)
    encoder = ChapterEncoder(root / "work")
    encoded = [encoder.encode(ch) for ch in book.chapters]
    out = root / "out" / "Spoken.m4b"
    paths = finish_audiobook(encoded, book_meta(title="Spoken"), out, subtitles="vtt")
    return book, paths, ffprobe(out)


def test_marks_on_the_true_boundaries(spoken):
    book, paths, info = spoken
    assert book.rate == 22050
    marks = chapter_starts(info)
    assert len(marks) == 3
    assert max(abs(m - t) for m, t in zip(marks, book.true_starts)) <= 0.050, (marks, book.true_starts)
    assert abs(float(info["format"]["duration"]) - book.total) <= 0.050
    assert audio_tags(info)["title"] == "Spoken"


def test_speech_is_where_the_marks_say_and_chapter_ends_survive(spoken):
    book, paths, info = spoken
    rate = book.rate
    decoded = decode(paths[0], rate)
    seg = rate // 4
    for c, mark in enumerate(chapter_starts(info)):
        at = round(mark * rate)
        for unit in book.audio[c]:
            # the unit's opening speech, and its closing speech (the part nearest the join)
            voiced = np.nonzero(np.abs(unit) > 0.05)[0]
            head_from = int(voiced[0])
            tail_from = int(voiced[-1]) - seg
            for start in (head_from, tail_from):
                found = locate(decoded, unit[start : start + seg], at + start, rate // 5)
                assert abs(found - (at + start)) <= rate * 0.003, (c, start, found - at - start)
            # the last voiced 20 ms are still there, at full strength
            end, short = int(voiced[-1]) + 1, rate // 50
            kept = np.sqrt(np.mean(decoded[at + end - short : at + end] ** 2))
            original = np.sqrt(np.mean(unit[end - short : end] ** 2))
            assert kept >= 0.5 * original, (c, kept, original)
            at += len(unit)


def test_vtt_follows_the_spoken_sentences(spoken):
    book, paths, info = spoken
    assert paths[1].suffix == ".vtt"
    expected = []
    for c, chapter in enumerate(book.chapters):
        offset = book.true_starts[c]
        for unit, samples in zip(chapter.units, book.audio[c]):
            expected += [(text, offset + s, offset + e) for text, s, e in unit.sentences]
            offset += len(samples) / book.rate
    got = subtitle_cues(paths[1])
    assert len(got) == len(expected) == 10
    for (gs, ge), (_, es, ee) in zip(got, expected):
        assert abs(gs - es) <= 0.050 and abs(ge - ee) <= 0.050
    text = paths[1].read_text(encoding="utf-8")
    assert all(t in text for t, _, _ in expected)
