"""The join plan on its own: bounded error for any number of chapters, for each codec's framing."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tui.assembly.joinplan import plan_join
from tui.assembly.model import EncodedChapter

# (codec rate, samples per packet, priming the part exposes) as ffmpeg's encoders produce them
FRAMINGS = {"aac": (22050, 1024, 1024), "mp3": (22050, 576, 1105), "opus": (48000, 960, 312)}


def _chapters(lengths, codec):
    codec_rate, frame, priming = FRAMINGS[codec]
    out = []
    for i, n in enumerate(lengths):
        coded = n * codec_rate / 22050
        out.append(EncodedChapter(
            index=i, title="", fmt=codec, bitrate="64k", path=None, sample_rate=22050, samples=int(n),
            codec_rate=codec_rate, packets=math.ceil((coded + priming) / frame), frame_samples=frame, lead=priming,
        ))
    return out


@pytest.mark.parametrize("codec", sorted(FRAMINGS))
def test_every_chapter_lands_within_half_a_packet_however_many(codec):
    lengths = np.random.default_rng(2).integers(300, 22050 * 90, size=500)
    chapters = _chapters(lengths, codec)
    steps = plan_join(chapters)
    truth = np.concatenate([[0], np.cumsum([c.codec_samples for c in chapters])[:-1]])
    errors = np.array([s.content_start for s in steps]) - truth
    frame = FRAMINGS[codec][1]
    assert np.max(np.abs(errors)) <= frame / 2
    assert all(1 <= s.kept <= c.packets for s, c in zip(steps, chapters))
    assert steps[-1].kept == chapters[-1].packets
    # without the plan (every packet kept) the error grows with every join
    naive = np.concatenate([[0], np.cumsum([c.packets * frame for c in chapters])[:-1]]) - truth
    assert naive[-1] > 400 * frame


def test_measured_offsets_and_gaps_are_honoured():
    chapters = _chapters([30000, 45000, 50000], "aac")
    for c in chapters:
        c.content_offset, c.join_gap = 300, -100
    steps = plan_join(chapters)
    assert steps[0].content_start == 300
    assert steps[1].start == steps[0].kept * 1024 - 100
    truth = [0, 30000, 75000]
    assert all(abs(s.content_start - t) <= 512 for s, t in zip(steps[1:], truth[1:]))


def test_a_chapter_shorter_than_a_packet_keeps_one():
    chapters = _chapters([100, 30000, 30000], "aac")
    steps = plan_join(chapters)
    assert steps[0].kept == 1
    assert abs(steps[2].content_start - 30100) <= 512
