"""Failures become one-line AssemblyErrors; the imageio-ffmpeg fallback builds a real m4b."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

import tui.assembly.ffmpeg as ffmpeg_module
from tests.support.assembly_helpers import attached_pictures, audio_tags, book_meta, chapter_starts, ffprobe, jpeg_cover, tone_book
from tui.assembly import AssemblyError, ChapterAudio, ChapterEncoder, UnitAudio, assemble, find_ffmpeg, finish_audiobook
from tui.assembly.formats import FORMATS
from tui.assembly.parts import encode_part


def _one_line(err: pytest.ExceptionInfo) -> str:
    text = str(err.value)
    assert text and "\n" not in text and "Traceback" not in text
    return text


@pytest.fixture(scope="module")
def small_book(tmp_path_factory):
    root = tmp_path_factory.mktemp("errors")
    return root, tone_book(root / "units", chapters=2, units=2, seed=13, min_s=0.4, max_s=0.7)


def test_ffmpeg_failure_reports_its_last_stderr_line(small_book, tmp_path):
    root, book = small_book
    encoder = ChapterEncoder(tmp_path / "work")
    encoded = [encoder.encode(ch) for ch in book.chapters]
    encoded[1].path.write_bytes(b"this is not audio" * 100)  # a part damaged on disk
    out = tmp_path / "out" / "book.m4b"
    with pytest.raises(AssemblyError) as err:
        finish_audiobook(encoded, book_meta(), out)
    text = _one_line(err)
    assert text.startswith("ffmpeg failed while writing book.m4b")
    assert "Invalid data found when processing input" in text
    assert list(out.parent.iterdir()) == []  # no partial file, no temp files


def test_encoder_failure_is_reported_and_leaves_nothing(tmp_path):
    broken = replace(FORMATS["m4b"], codec="no_such_encoder")
    dest = tmp_path / "part.m4a"
    with pytest.raises(AssemblyError) as err:
        encode_part(find_ffmpeg(), broken, 22050, "64k", [np.zeros(22050, np.float32)], dest, what="encoding chapter 1")
    text = _one_line(err)
    assert text.startswith("ffmpeg failed while encoding chapter 1")
    assert "no_such_encoder" in text
    assert list(tmp_path.iterdir()) == []


def test_unreadable_or_missing_unit_audio(tmp_path):
    bad = tmp_path / "bad.flac"
    bad.write_text("not a flac file")
    encoder = ChapterEncoder(tmp_path / "work")
    with pytest.raises(AssemblyError) as err:
        encoder.encode(ChapterAudio(0, "One", [UnitAudio(bad, [])]))
    assert _one_line(err).startswith("cannot read unit audio bad.flac")
    with pytest.raises(AssemblyError) as err:
        encoder.encode(ChapterAudio(0, "One", [UnitAudio(tmp_path / "gone.flac", [])]))
    assert _one_line(err).startswith("cannot read unit audio gone.flac")


def test_bad_settings_are_refused(tmp_path, small_book):
    root, book = small_book
    for call in (
        lambda: ChapterEncoder(tmp_path, fmt="wma"),
        lambda: ChapterEncoder(tmp_path, bitrate="fast"),
        lambda: ChapterEncoder(tmp_path, sample_rate=100),
        lambda: assemble(book.chapters, book_meta(), tmp_path / "x.m4b", subtitles="ass"),
    ):
        with pytest.raises(AssemblyError) as err:
            call()
        _one_line(err)


def test_nothing_to_assemble(tmp_path):
    encoder = ChapterEncoder(tmp_path / "work")
    empty = [encoder.encode(ChapterAudio(i, f"Empty {i}", [])) for i in range(2)]
    assert all(e.is_empty for e in empty)
    with pytest.raises(AssemblyError) as err:
        finish_audiobook(empty, book_meta(), tmp_path / "book.m4b")
    assert _one_line(err) == "nothing to assemble: no chapter has any audio"


def test_missing_ffmpeg_is_a_clear_error(monkeypatch):
    import imageio_ffmpeg

    monkeypatch.setattr(ffmpeg_module.shutil, "which", lambda *a, **k: None)

    def no_binary():
        raise RuntimeError("No ffmpeg exe could be found")

    monkeypatch.setattr(imageio_ffmpeg, "get_ffmpeg_exe", no_binary)
    with pytest.raises(AssemblyError) as err:
        find_ffmpeg()
    assert _one_line(err) == "ffmpeg not found: install ffmpeg or the imageio-ffmpeg package"


def test_imageio_ffmpeg_fallback_builds_an_m4b(monkeypatch, small_book, tmp_path):
    import imageio_ffmpeg

    root, book = small_book
    monkeypatch.setattr(ffmpeg_module.shutil, "which", lambda *a, **k: None)
    assert find_ffmpeg() == imageio_ffmpeg.get_ffmpeg_exe()
    out = tmp_path / "fallback.m4b"
    paths = assemble(book.chapters, book_meta(jpeg_cover(tmp_path)), out, subtitles="vtt")
    assert paths == [out, out.with_suffix(".vtt")]
    info = ffprobe(out)
    assert max(abs(m - t) for m, t in zip(chapter_starts(info), book.true_starts)) <= 0.050
    assert abs(float(info["format"]["duration"]) - book.total) <= 0.050
    assert audio_tags(info)["genre"] == "Audiobook"
    assert len(attached_pictures(info)) == 1
