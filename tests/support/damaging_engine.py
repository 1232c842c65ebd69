"""A speaker that misbehaves on purpose: real Piper speech, damaged on the first take(s) of chosen sentences.

It reproduces what autoregressive engines are known to do (XTTS above all): stop
before the end of a sentence, say a clause twice, babble unrelated words, return
silence, or drop a one-word sentence altogether. Later takes are spoken cleanly,
each with a slightly different length scale, as a real retake would be.
"""

from __future__ import annotations

import random
import re
from enum import Enum
from typing import Mapping, Optional, Sequence

import numpy as np

from remote_worker.engines.base import Engine
from remote_worker.protocol import TTSConfig

__all__ = ["TAKE_LENGTH_SCALES", "Damage", "DamagingSpeaker", "damaged_text"]


class Damage(str, Enum):
    DROP_END = "drop_end"   # the second half of the sentence is not spoken
    REPEAT = "repeat"       # a clause is spoken twice
    BABBLE = "babble"       # unrelated words of about the same length
    SILENCE = "silence"     # silence as long as the sentence would take
    DROP = "drop"           # nothing at all (what engines do to "Yes." or "Huh!")


#: Piper's take-to-take variation: a slightly different pace on each retake
TAKE_LENGTH_SCALES = (1.0, 1.08, 0.94, 1.12, 0.9)

_BABBLE_WORDS = (
    "orange piano yesterday window seven bicycle mountain purple kitchen engine blanket river "
    "telephone garden thunder pencil marble carpet lemon rocket ladder copper meadow violin"
).split()
_CLAUSE = re.compile(r"[,;:]\s+")


def _babble(text: str, seed: int) -> str:
    rng = random.Random(seed)
    own = {w.strip(".,;:!?\"'").lower() for w in text.split()}
    pool = [w for w in _BABBLE_WORDS if w not in own]
    count = max(2, len(text.split()))
    return " ".join(rng.choice(pool) for _ in range(count)).capitalize() + "."


def _repeat(text: str) -> str:
    """The first clause (up to a comma) said twice, or the first half of the words when there is none."""
    parts = _CLAUSE.split(text, maxsplit=1)
    words = text.split()
    if len(parts) == 2 and len(parts[0].split()) >= 2:
        clause = parts[0]
    else:
        clause = " ".join(words[: max(1, (len(words) + 1) // 2)]).rstrip(".,;:!?")
    return f"{clause}, {clause[:1].lower() + clause[1:]}, {text[len(clause):].lstrip(' ,;:')}".rstrip(", ")


def damaged_text(text: str, damage: Damage, seed: int = 0) -> Optional[str]:
    """What the damaged take says instead of ``text`` (None: no speech at all)."""
    if damage is Damage.DROP_END:
        words = text.split()
        keep = max(0, len(words) // 2 - 1) if len(words) >= 6 else len(words) // 2
        return " ".join(words[:keep]) + "." if keep else None
    if damage is Damage.REPEAT:
        return _repeat(text)
    if damage is Damage.BABBLE:
        return _babble(text, seed)
    return None


class DamagingSpeaker:
    """``speaker(index, take_index)`` → audio of sentence ``index``; damaged while ``take_index < damaged_takes``.

    ``damage`` maps sentence indices to the damage done to them. Every call is
    logged in ``calls`` as (index, take_index, text actually spoken or None).
    """

    def __init__(
        self,
        engine: Engine,
        sentences: Sequence[str],
        damage: Mapping[int, Damage],
        *,
        damaged_takes: int = 1,
        config: Optional[TTSConfig] = None,
    ) -> None:
        self.engine = engine
        self.sentences = list(sentences)
        self.damage = dict(damage)
        self.damaged_takes = damaged_takes
        self.config = config or TTSConfig()
        self.calls: list[tuple[int, int, Optional[str]]] = []

    def _speak(self, text: str, take_index: int) -> np.ndarray:
        base = self.config.length_scale or 1.0
        scale = base * TAKE_LENGTH_SCALES[take_index % len(TAKE_LENGTH_SCALES)]
        config = self.config.model_copy(update={"length_scale": scale})
        return np.asarray(self.engine.synthesize(text, config), dtype=np.float32).reshape(-1)

    def __call__(self, index: int, take_index: int) -> np.ndarray:
        text = self.sentences[index]
        damage = self.damage.get(index) if take_index < self.damaged_takes else None
        if damage is None:
            self.calls.append((index, take_index, text))
            return self._speak(text, take_index)
        said = damaged_text(text, damage, seed=index)
        self.calls.append((index, take_index, said))
        if damage is Damage.DROP:
            return np.zeros(0, dtype=np.float32)
        if said is None:  # silence as long as the sentence would have lasted (about 15 characters a second)
            seconds = max(0.4, len(text) / 15.0)
            return np.zeros(int(seconds * self.engine.sample_rate), dtype=np.float32)
        return self._speak(said, take_index)
