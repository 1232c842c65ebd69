"""Where each chapter goes when separately encoded parts are joined by stream copy.

Each part starts with the encoder's priming (silence the decoder must output
before the content) and ends padded to a whole packet, so parts joined as they
are drift later at every join. Packets cannot be split, but whole packets can
be left out of a chapter's padded tail: keeping, for every chapter but the
last, the packet count that brings the next chapter's content closest to its
true start (the sum of exact sample counts before it) keeps every chapter
within half a packet of where it belongs, with no drift however many chapters
there are. What is left out is the tail's last few dozen milliseconds, where
speech synthesis leaves silence.

All positions are in samples at the codec's rate and describe the decoded
output of the joined file, as measured for the encoder in use
(``content_offset``, ``join_gap``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from tui.assembly.model import EncodedChapter

__all__ = ["JoinStep", "plan_join"]


@dataclass(frozen=True)
class JoinStep:
    kept: int  # packets of the chapter's part written to the joined file
    start: int  # where its first packet lands in the joined timeline
    content_start: int  # where its first content sample lands in the decoded output


def plan_join(chapters: Sequence[EncodedChapter]) -> list[JoinStep]:
    steps: list[JoinStep] = []
    start = 0
    true_start = 0.0
    for i, ch in enumerate(chapters):
        frame, offset, gap = ch.frame_samples, ch.content_offset, ch.join_gap
        content_start = start + offset
        true_start += ch.codec_samples
        if i == len(chapters) - 1:
            kept = ch.packets
        else:
            want = (true_start - offset - gap - start) / frame
            kept = min(max(1, round(want)), ch.packets)
        steps.append(JoinStep(kept=kept, start=start, content_start=content_start))
        start += kept * frame + gap
    return steps
