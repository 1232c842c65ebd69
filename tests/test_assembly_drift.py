"""Twenty chapters: marks stay on the true boundaries and on the audio, with no drift.

As a control, the same encoded parts joined as they are (concat + stream copy)
are measured the same way and do drift, which is what the join plan prevents.
"""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

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

RATE = 22050
HALF_PACKET = 512 / RATE


@pytest.fixture(scope="module")
def twenty(tmp_path_factory):
    root = tmp_path_factory.mktemp("drift")
    book = tone_book(root / "units", chapters=20, units=2, seed=5, min_s=0.5, max_s=1.3)
    encoder = ChapterEncoder(root / "work", fmt="m4b")
    encoded = [encoder.encode(ch) for ch in book.chapters]
    out = root / "twenty.m4b"
    finish_audiobook(encoded, book_meta(), out)
    return root, book, encoded, out


def _marker_offsets(path, starts):
    """For each chapter: where its first marker really is, minus where ``starts`` says."""
    decoded = decode(path, RATE)
    out = []
    for c, start in enumerate(starts):
        expected = round(start * RATE) + MARKER_AT
        found = locate(decoded, marker(RATE, marker_key(c, 0)), expected, 3 * RATE)
        out.append((found - expected) / RATE)
    return np.array(out)


def test_twenty_marks_stay_within_half_a_packet_of_the_truth(twenty):
    root, book, encoded, out = twenty
    marks = np.array(chapter_starts(ffprobe(out)))
    errors = marks - np.array(book.true_starts)
    assert len(marks) == 20
    assert np.max(np.abs(errors)) <= HALF_PACKET + 0.001, errors
    # no accumulation: the last five chapters are no worse than the bound either
    assert np.max(np.abs(errors[-5:])) <= HALF_PACKET + 0.001


def test_twenty_marks_sit_on_the_audio(twenty):
    root, book, encoded, out = twenty
    offsets = _marker_offsets(out, chapter_starts(ffprobe(out)))
    assert np.max(np.abs(offsets)) <= 0.002, offsets
    # and the audio itself is where the unit sample counts say it belongs
    truth = _marker_offsets(out, book.true_starts)
    assert np.max(np.abs(truth)) <= HALF_PACKET + 0.002, truth


def test_control_naive_copy_join_drifts(twenty):
    root, book, encoded, out = twenty
    listing = root / "naive.ffconcat"
    listing.write_text("ffconcat version 1.0\n" + "".join(f"file '{e.path}'\n" for e in encoded))
    naive = root / "naive.m4b"
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "concat", "-safe", "0", "-i", str(listing),
         "-c", "copy", "-f", "ipod", str(naive)],
        check=True,
    )
    drift = _marker_offsets(naive, book.true_starts)
    assert drift[-1] > 0.5, drift  # ~1 packet or more per join, accumulating
    assert drift[-1] > drift[1] + 0.4
