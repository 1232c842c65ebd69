"""A cheap per-sentence check that a take sounds like speech of about the right length.

Autoregressive engines (XTTS) now and then babble on long after the text, stop
after a word, or return near-silence. Speech runs at roughly 0.05-0.09 s per
character in the languages XTTS speaks, so a take far outside that band, or one
whose loudness is that of silence, is worth one more try.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

__all__ = ["MIN_CHARS", "SECONDS_PER_CHAR", "SILENCE_RMS", "judge_take"]

#: shorter texts ("Yes.", "Chapter 3") vary too much in length to judge
MIN_CHARS = 20
#: accepted band of audio seconds per spoken character at length_scale 1
SECONDS_PER_CHAR = (0.01, 0.35)
#: RMS below this (about -54 dBFS) is silence, whatever the length
SILENCE_RMS = 0.002


def judge_take(samples: np.ndarray, sample_rate: int, text: str, length_scale: Optional[float] = None) -> Optional[str]:
    """What is wrong with this take of ``text`` (one short phrase), or None when it looks like speech."""
    chars = sum(1 for c in text if c.isalnum())
    if samples.size == 0:
        return "no audio" if chars else None
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))
    if rms < SILENCE_RMS:
        return f"near-silence (rms {rms:.4f})"
    if chars < MIN_CHARS or sample_rate <= 0:
        return None
    scale = length_scale or 1.0
    low, high = SECONDS_PER_CHAR[0] * scale, SECONDS_PER_CHAR[1] * scale
    per_char = samples.size / sample_rate / chars
    if per_char < low:
        return f"too short for its text ({per_char:.3f} s per character, expected at least {low:.3f})"
    if per_char > high:
        return f"too long for its text ({per_char:.3f} s per character, expected at most {high:.3f})"
    return None
