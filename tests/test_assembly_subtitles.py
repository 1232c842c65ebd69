"""WebVTT and SRT cues: each sentence's timing offset by where its unit and chapter start."""

from __future__ import annotations

import pytest

from tests.support.assembly_helpers import book_meta, chapter_starts, ffprobe, subtitle_cues, tone_book
from tui.assembly import ChapterEncoder, Cue, finish_audiobook
from tui.assembly.subtitles import render_srt, render_vtt


@pytest.fixture(scope="module")
def encoded_book(tmp_path_factory):
    root = tmp_path_factory.mktemp("subs")
    book = tone_book(root / "units", chapters=3, units=2, seed=47)
    encoder = ChapterEncoder(root / "work")
    return root, book, [encoder.encode(ch) for ch in book.chapters]


def _expected(book, starts):
    cues = []
    for c, chapter in enumerate(book.chapters):
        for unit, unit_start in zip(chapter.units, book.unit_starts(c)):
            for text, s, e in unit.sentences:
                cues.append((text, starts[c] + unit_start + s, starts[c] + unit_start + e))
    return cues


@pytest.mark.parametrize("kind", ["vtt", "srt"])
def test_cues_follow_sentence_timings_and_chapter_starts(encoded_book, kind):
    root, book, encoded = encoded_book
    out = root / kind / "book.m4b"
    paths = finish_audiobook(encoded, book_meta(), out, subtitles=kind)
    sub = out.with_suffix(f".{kind}")
    assert paths == [out, sub]
    got = subtitle_cues(sub)  # parsed by ffmpeg's own subtitle demuxer
    truth = _expected(book, book.true_starts)
    placed = _expected(book, chapter_starts(ffprobe(out)))
    assert len(got) == len(truth) == 12
    for (gs, ge), (_, ts, te), (_, ps, pe) in zip(got, truth, placed):
        assert abs(gs - ts) <= 0.050 and abs(ge - te) <= 0.050
        assert abs(gs - ps) <= 0.002 and abs(ge - pe) <= 0.002  # same offsets as the marks
    text = sub.read_text(encoding="utf-8")
    positions = [text.index(t) for t, _, _ in truth]
    assert positions == sorted(positions)
    assert text.startswith("WEBVTT") == (kind == "vtt")


def test_cue_text_is_kept_on_one_line_and_escaped():
    cues = [Cue("Fish & <chips>\n\nplease", 1.0, 2.5), Cue("   ", 3.0, 4.0), Cue("Backwards", 5.0, 4.0)]
    vtt = render_vtt(cues)
    assert "00:00:01.000 --> 00:00:02.500\nFish &amp; &lt;chips&gt; please\n" in vtt
    assert "Backwards" not in vtt and vtt.count("-->") == 1
    srt = render_srt([Cue("a --> b", 3661.2345, 3662.0)])
    assert srt == "1\n01:01:01,234 --> 01:01:02,000\na --> b\n"
