"""Chapters and units at different sample rates end up in one stream at one rate."""

from __future__ import annotations

from tests.support.assembly_helpers import (
    MARKER_AT,
    book_meta,
    chapter_starts,
    decode,
    ffprobe,
    locate,
    marker,
    marker_key,
    tone_book,
)
from tui.assembly import ChapterEncoder, finish_audiobook


def _audio(info):
    return next(s for s in info["streams"] if s["codec_type"] == "audio")


def test_units_at_mixed_rates_are_resampled_to_the_first(tmp_path):
    book = tone_book(tmp_path / "units", chapters=3, units=2, seed=17, rates=[22050, 24000, 24000])
    encoder = ChapterEncoder(tmp_path / "work")
    encoded = [encoder.encode(ch) for ch in book.chapters]
    assert encoder.sample_rate == 22050 and {e.sample_rate for e in encoded} == {22050}
    out = tmp_path / "mixed.m4b"
    finish_audiobook(encoded, book_meta(), out)
    info = ffprobe(out)
    assert int(_audio(info)["sample_rate"]) == 22050
    marks = chapter_starts(info)
    assert max(abs(m - t) for m, t in zip(marks, book.true_starts)) <= 0.050
    assert abs(float(info["format"]["duration"]) - book.total) <= 0.050
    decoded = decode(out, 22050)
    for c, mark in enumerate(marks):
        for u, start in enumerate(book.unit_starts(c)):
            # a marker made at the unit's own rate, found at the output rate
            expected = round((mark + start) * 22050 + MARKER_AT * 22050 / book.unit_rates[c][u])
            pattern = decode_marker(tmp_path, book.unit_rates[c][u], marker_key(c, u))
            found = locate(decoded, pattern, expected, 2205)
            assert abs(found - expected) <= 22050 * 0.002, (c, u, found - expected)


def decode_marker(folder, rate, key):
    """The unit marker as it sounds after resampling to 22 050 Hz."""
    import soundfile as sf

    path = folder / f"marker-{rate}-{key}.wav"
    sf.write(path, marker(rate, key), rate)
    return decode(path, 22050)


def test_chapters_from_encoders_with_other_settings_are_conformed(tmp_path):
    book = tone_book(tmp_path / "units", chapters=3, units=1, seed=19, min_s=0.8, max_s=1.2)
    first = ChapterEncoder(tmp_path / "a", sample_rate=22050).encode(book.chapters[0])
    second = ChapterEncoder(tmp_path / "b", sample_rate=24000).encode(book.chapters[1])
    third = ChapterEncoder(tmp_path / "c", fmt="mp3").encode(book.chapters[2])
    out = tmp_path / "conformed.m4b"
    finish_audiobook([first, second, third], book_meta(), out)
    info = ffprobe(out)
    assert int(_audio(info)["sample_rate"]) == 22050 and _audio(info)["codec_name"] == "aac"
    assert max(abs(m - t) for m, t in zip(chapter_starts(info), book.true_starts)) <= 0.050
    assert abs(float(info["format"]["duration"]) - book.total) <= 0.050


def test_a_fixed_rate_resamples_everything(tmp_path):
    book = tone_book(tmp_path / "units", chapters=2, units=2, seed=29, min_s=0.5, max_s=0.9)
    encoder = ChapterEncoder(tmp_path / "work", sample_rate=24000)
    out = tmp_path / "24k.m4b"
    finish_audiobook([encoder.encode(ch) for ch in book.chapters], book_meta(), out)
    info = ffprobe(out)
    assert int(_audio(info)["sample_rate"]) == 24000
    assert max(abs(m - t) for m, t in zip(chapter_starts(info), book.true_starts)) <= 0.050
