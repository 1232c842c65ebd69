"""Band-limited resampling of one unit's PCM to the recogniser's rate, with numpy alone.

Whisper listens at 16 kHz while engines speak at 22.05 or 24 kHz. A whole unit is
resampled at once in the frequency domain: exact band limiting, no extra package,
and a few milliseconds for minutes of audio.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["ASR_SAMPLE_RATE", "resample"]

#: the rate every Whisper model expects
ASR_SAMPLE_RATE = 16000


def resample(samples: np.ndarray, sample_rate: int, target_rate: int = ASR_SAMPLE_RATE) -> np.ndarray:
    """``samples`` (mono) at ``target_rate`` as float32; the same array when the rates already agree."""
    audio = np.asarray(samples, dtype=np.float32).reshape(-1)
    if sample_rate <= 0 or target_rate <= 0:
        raise ValueError(f"sample rates must be positive, got {sample_rate} and {target_rate}")
    if sample_rate == target_rate or audio.size == 0:
        return audio
    size = audio.size
    out_size = max(1, round(size * target_rate / sample_rate))
    # Zero padding keeps the edges from wrapping into each other. The padded length is a power of two
    # times the reduced input step, so both transform lengths are exact and have only small factors.
    common = math.gcd(sample_rate, target_rate)
    step_in, step_out = sample_rate // common, target_rate // common
    blocks = 1 << max(0, int(np.ceil(np.log2((size + 2 * max(64, size // 64)) / step_in))))
    padded, out_padded = blocks * step_in, blocks * step_out
    spectrum = np.fft.rfft(audio.astype(np.float64), padded)
    kept = np.zeros(out_padded // 2 + 1, dtype=np.complex128)
    bins = min(kept.size, spectrum.size)
    kept[:bins] = spectrum[:bins]
    if target_rate < sample_rate and out_padded % 2 == 0:
        kept[-1] = kept[-1].real  # the new Nyquist bin of a real signal has no imaginary part
    resampled = np.fft.irfft(kept, out_padded) * (out_padded / padded)
    return resampled[:out_size].astype(np.float32)
