"""Per-sentence verdicts from one transcription of a whole unit.

The heard words are first aligned with the whole unit's expected words, so a
word whose timestamp drifts over a sentence boundary still lands in the sentence
whose text it matches. A match far outside its sentence's time span is not
trusted (a "yes" of the next sentence must not stand in for an unheard "Yes.").
Words matched to nothing go to the sentence their neighbours belong to, or,
between two sentences, to the one their time falls in. Each sentence is then
judged on its own words alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

from .align import align_words
from .language import foreign_language
from .normalize import TextNormalizer
from .transcript import HeardWord
from .verdict import DEFAULT_THRESHOLDS, Thresholds, Verdict, judge_sentence, unverified

__all__ = ["DEFAULT_TOLERANCE_S", "judge_unit", "sentence_verdict"]

#: how far (seconds) outside its sentence's span a matched word's middle may lie; on clean Piper units
#: heard by tiny.en no matched word lay more than 0.28 s outside (2,463 words)
DEFAULT_TOLERANCE_S = 0.5
#: a matched word this far outside its sentence and inside another sentence's speech goes to that one
_INSIDE_OTHER_S = 0.1


@dataclass(frozen=True)
class _Token:
    word: str
    source: int  # index of the HeardWord it came from
    middle: float


def _heard_tokens(words: Sequence[HeardWord], normalizer: TextNormalizer) -> list[_Token]:
    tokens: list[_Token] = []
    for index, heard in enumerate(words):
        for word in normalizer.words(heard.text):
            tokens.append(_Token(word, index, heard.middle))
    return tokens


def _distance(t: float, span: tuple[float, float]) -> float:
    start, end = span
    if t < start:
        return start - t
    if t > end:
        return t - end
    return 0.0


def _trusted(middle: float, sentence: int, spans: Sequence[tuple[float, float]], voiced: list[int],
             quiet: list[bool], tolerance_s: float) -> bool:
    """Whether a word matched to ``sentence`` may stay there, judged by its time.

    Recognised words drift a little into the pauses around their sentence, but a
    word heard inside another sentence's speech belongs to that one.
    """
    if quiet[sentence]:
        return False
    away = _distance(middle, spans[sentence])
    if away > tolerance_s:
        return False
    return away <= _INSIDE_OTHER_S or not any(s != sentence and _distance(middle, spans[s]) == 0.0 for s in voiced)


def _assign(tokens: list[_Token], owner: list[Optional[int]], spans: Sequence[tuple[float, float]],
            voiced: list[int]) -> list[int]:
    """A sentence for every heard token: its match's sentence, else one between its neighbours' by time."""
    out: list[int] = [-1] * len(tokens)
    previous: list[Optional[int]] = [None] * len(tokens)
    last: Optional[int] = None
    for j, sentence in enumerate(owner):
        previous[j] = last
        if sentence is not None:
            last = sentence
    following: Optional[int] = None
    for j in range(len(tokens) - 1, -1, -1):
        if owner[j] is not None:
            out[j] = owner[j]  # type: ignore[assignment]
            following = owner[j]
            continue
        low = previous[j] if previous[j] is not None else voiced[0]
        high = following if following is not None else voiced[-1]
        if high < low:
            low, high = high, low
        candidates = [s for s in voiced if low <= s <= high] or voiced
        out[j] = min(candidates, key=lambda s: (_distance(tokens[j].middle, spans[s]), abs(s - low)))
    return out


def judge_unit(
    words: Sequence[HeardWord],
    sentences: Sequence[str],
    timings: Sequence[tuple[float, float]],
    *,
    normalizer: Optional[TextNormalizer] = None,
    limits: Thresholds = DEFAULT_THRESHOLDS,
    silent: Optional[Sequence[bool]] = None,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
    set_aside_foreign: bool = True,
) -> list[Verdict]:
    """One verdict per sentence of the unit.

    ``timings`` are each sentence's (start, end) in seconds within the audio that
    ``words`` were heard in; ``silent`` marks sentences whose own audio is silence.
    A sentence that looks like another language than the normaliser's is
    *unverified* unless ``set_aside_foreign`` is False.
    """
    if len(timings) != len(sentences):
        raise ValueError(f"{len(sentences)} sentences but {len(timings)} timings")
    normalizer = normalizer or TextNormalizer("en")
    spans = [(float(a), float(b)) for a, b in timings]
    expected = [normalizer.words(s) for s in sentences]
    flat: list[str] = []
    sentence_of: list[int] = []
    for index, words_of_sentence in enumerate(expected):
        flat.extend(words_of_sentence)
        sentence_of.extend([index] * len(words_of_sentence))
    tokens = _heard_tokens(words, normalizer)
    alignment = align_words(flat, [t.word for t in tokens])

    quiet = [bool(silent[s]) if silent is not None else False for s in range(len(sentences))]
    # sentences with sound of their own; heard words never go to a silent one
    voiced = [s for s, (a, b) in enumerate(spans) if b > a and not quiet[s]]

    owner: list[Optional[int]] = []
    for j, token in enumerate(tokens):
        i = alignment.heard_to_expected[j]
        sentence = sentence_of[i] if i is not None else None
        if sentence is not None and not _trusted(token.middle, sentence, spans, voiced, quiet, tolerance_s):
            sentence = None
        owner.append(sentence)
    assigned = _assign(tokens, owner, spans, voiced) if tokens and voiced else [-1] * len(tokens)

    mine: list[list[int]] = [[] for _ in sentences]
    for j, sentence in enumerate(assigned):
        if sentence >= 0:
            mine[sentence].append(j)
    verdicts: list[Verdict] = []
    for index, expected_words in enumerate(expected):
        sources = sorted({tokens[j].source for j in mine[index]})
        text = " ".join(words[k].text.strip() for k in sources)
        heard = [tokens[j].word for j in mine[index]]
        verdicts.append(sentence_verdict(expected_words, heard, text, normalizer.language, limits, quiet[index],
                                         set_aside_foreign))
    return verdicts


def sentence_verdict(expected: Sequence[str], heard: Sequence[str], heard_text: str, language: str,
                     limits: Thresholds, silent: bool, set_aside_foreign: bool = True) -> Verdict:
    """A sentence's verdict from the words it was given, *unverified* if it looks like another language."""
    other = foreign_language(expected, language) if set_aside_foreign else None
    if other is not None:
        return unverified(f"the sentence looks like another language ({other})", len(expected), heard_text)
    return judge_sentence(expected, heard, heard_text, limits, silent)
