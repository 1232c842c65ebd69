"""Per-sentence verdicts from a unit heard window by window, without word times.

Each window holds a few whole sentences (:mod:`.windows`), so a heard word can
only belong to one of them. The window's heard words are aligned with its
sentences' expected words: a matched word belongs to its expected word's
sentence. Words matched to nothing (misheard, inserted, babbled) between two
sentences fill, in order, the unmatched words at the end of the first, any
sentence between with nothing matched, and the unmatched words at the start of
the second; what is left over (a clause said twice, babble) goes to the
sentence whose words it repeats, else to the first. Each sentence is then
judged on its own words alone, as :func:`.unit.judge_unit` does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

from .align import align_words
from .normalize import TextNormalizer, same_word
from .pace import speech_length
from .unit import sentence_verdict
from .verdict import DEFAULT_THRESHOLDS, FUNCTION_WORDS, Thresholds, Verdict, unverified
from .windows import Window

__all__ = ["judge_windows"]


@dataclass(frozen=True)
class _Token:
    word: str
    source: int  # index of the raw heard word it came from


def _groups(windows: Sequence[Window], texts: Sequence[str]) -> list[tuple[range, str]]:
    """Windows with the pieces of one long sentence joined: (sentences, heard text)."""
    out: list[tuple[range, str]] = []
    for window, text in zip(windows, texts):
        if window.part and out and out[-1][0] == window.sentences:
            out[-1] = (out[-1][0], f"{out[-1][1]} {text}".strip())
        else:
            out.append((window.sentences, text.strip()))
    return out


#: how much a word's worth of characters (about six) of misfit costs against one heard word that sounds
#: like a word of the sentence
_FIT_WEIGHT = 1.0
_WORD_CHARS = 6.0


def _room(sentences: Sequence[str], expected: dict[int, list[str]], timings: Sequence[tuple[float, float]],
          voiced: Sequence[int]) -> dict[int, float]:
    """How much longer (+) or shorter (-) each sentence's audio is than its text needs, in characters' worth.

    An engine speaks at a steady pace, so the audio says where heard words can go: a
    sentence cut short has no room for more words, one said with a clause twice or
    babbled has room for what was said. The pace is the median over the unit's sentences.
    """
    lengths = {s: speech_length(sentences[s], expected[s]) for s in voiced}
    rates = sorted((timings[s][1] - timings[s][0]) / lengths[s] for s in voiced
                   if lengths[s] >= 20 and timings[s][1] > timings[s][0])
    if rates:
        pace = rates[(len(rates) - 1) // 2]  # the lower median: a cut take is rarer than a long one
    else:
        total = sum(lengths.values())
        pace = sum(max(0.0, timings[s][1] - timings[s][0]) for s in voiced) / total if total else 0.0
    if pace <= 0:
        return {s: 0.0 for s in voiced}
    return {s: max(0.0, timings[s][1] - timings[s][0]) / pace - lengths[s] for s in voiced}


def _stray(j: int, links: Sequence[Optional[int]], tokens: Sequence[_Token]) -> bool:
    """A short common word matched alone amid words that match nothing: an anchor not to trust ("the" of a
    clause said twice matched to a "the" of the sentence before a babbled one)."""
    word = tokens[j].word
    if len(word) > 3 and word not in FUNCTION_WORDS:
        return False
    lonely_before = j == 0 or links[j - 1] is None
    lonely_after = j == len(links) - 1 or links[j + 1] is None
    return lonely_before and lonely_after and len(links) > 1


def _split_run(run: Sequence[str], targets: Sequence[int], slots: Sequence[float],
               expected: dict[int, list[str]]) -> list[int]:
    """The sentence for each word of an unmatched run: the split into consecutive pieces, one per target in
    order, whose pieces best fill each target's room (``slots``, characters) and sound like its words."""
    n, k = len(run), len(targets)
    chars = [0]
    for word in run:
        chars.append(chars[-1] + len(word) + 1)
    alike = []
    for t in targets:
        row = [0]
        for word in run:
            row.append(row[-1] + (1 if any(same_word(word, e) for e in expected[t]) else 0))
        alike.append(row)
    inf = float("inf")
    best = [[inf] * (n + 1) for _ in range(k + 1)]
    cut = [[0] * (n + 1) for _ in range(k + 1)]
    best[0][0] = 0.0
    for t in range(k):
        for i in range(n + 1):
            for j in range(i + 1):
                if best[t][j] == inf:
                    continue
                size = chars[i] - chars[j]
                cost = _FIT_WEIGHT * abs(size - slots[t]) / _WORD_CHARS - (alike[t][i] - alike[t][j])
                if best[t][j] + cost < best[t + 1][i]:
                    best[t + 1][i] = best[t][j] + cost
                    cut[t + 1][i] = j
    owners = [0] * n
    i = n
    for t in range(k, 0, -1):
        j = cut[t][i]
        for x in range(j, i):
            owners[x] = targets[t - 1]
        i = j
    return owners


def _assign(tokens: list[_Token], owner: list[Optional[int]], expected: dict[int, list[str]],
            matched_at: dict[int, list[int]], voiced: list[int], extra: dict[int, float]) -> list[int]:
    """A sentence for every heard token of one window."""
    out = [s if s is not None else -1 for s in owner]
    j = 0
    while j < len(tokens):
        if owner[j] is not None:
            j += 1
            continue
        end = j
        while end < len(tokens) and owner[end] is None:
            end += 1
        before = next((owner[k] for k in range(j - 1, -1, -1) if owner[k] is not None), None)
        after = owner[end] if end < len(tokens) else None
        low = before if before is not None else voiced[0]
        high = after if after is not None else voiced[-1]
        targets = [s for s in voiced if low <= s <= high]
        slots = []
        for s in targets:
            words, hits = expected[s], matched_at.get(s, [])
            if not hits:
                region = words
            elif s == before and s == after:
                region = [w for i, w in enumerate(words) if i not in hits and min(hits) < i < max(hits)]
            elif s == before:
                region = words[max(hits) + 1:]
            elif s == after:
                region = words[:min(hits)]
            else:
                region = []
            unheard = sum(len(w) + 1 for w in region)
            slots.append(max(0.0, unheard + extra.get(s, 0.0)))
        for k, s in zip(range(j, end), _split_run([t.word for t in tokens[j:end]], targets, slots, expected)):
            out[k] = s
        j = end
    return out


def judge_windows(
    windows: Sequence[Window],
    texts: Sequence[str],
    sentences: Sequence[str],
    timings: Sequence[tuple[float, float]],
    *,
    normalizer: Optional[TextNormalizer] = None,
    limits: Thresholds = DEFAULT_THRESHOLDS,
    silent: Optional[Sequence[bool]] = None,
    set_aside_foreign: bool = True,
) -> list[Verdict]:
    """One verdict per sentence from what was heard in each window (``texts[k]`` in ``windows[k]``).

    ``timings`` are the sentences' (start, end) in seconds: how long each one's audio is
    tells where the words that match nothing were said.

    ``silent`` marks sentences whose own audio is silence: no heard word goes to them.
    A sentence that looks like another language than the normaliser's is *unverified*
    unless ``set_aside_foreign`` is False.
    """
    if len(texts) != len(windows):
        raise ValueError(f"{len(windows)} windows but {len(texts)} texts")
    if len(timings) != len(sentences):
        raise ValueError(f"{len(sentences)} sentences but {len(timings)} timings")
    normalizer = normalizer or TextNormalizer("en")
    expected = {s: normalizer.words(text) for s, text in enumerate(sentences)}
    quiet = [bool(silent[s]) if silent is not None else False for s in range(len(sentences))]
    extra = _room(sentences, expected, timings, [s for s in range(len(sentences)) if not quiet[s] and expected[s]])
    heard_words: list[list[str]] = [[] for _ in sentences]
    heard_text: list[list[str]] = [[] for _ in sentences]
    covered: set[int] = set()
    for members, text in _groups(windows, texts):
        covered.update(members)
        raw = text.split()
        tokens = [_Token(word, k) for k, piece in enumerate(raw) for word in normalizer.words(piece)]
        voiced = [s for s in members if not quiet[s]]
        if not tokens or not voiced:
            continue
        flat: list[str] = []
        sentence_of: list[int] = []
        for s in voiced:
            flat.extend(expected[s])
            sentence_of.extend([s] * len(expected[s]))
        alignment = align_words(flat, [t.word for t in tokens])
        offset = {s: sentence_of.index(s) for s in voiced if expected[s]}
        owner: list[Optional[int]] = []
        matched_at: dict[int, list[int]] = {}
        links = alignment.heard_to_expected
        for j, i in enumerate(links):
            if i is not None and _stray(j, links, tokens):
                i = None
            sentence = sentence_of[i] if i is not None else None
            owner.append(sentence)
            if sentence is not None:
                matched_at.setdefault(sentence, []).append(i - offset[sentence])
        last_source: dict[int, int] = {}
        for j, s in enumerate(_assign(tokens, owner, expected, matched_at, voiced, extra)):
            heard_words[s].append(tokens[j].word)
            if last_source.get(s) != tokens[j].source:
                heard_text[s].append(raw[tokens[j].source])
                last_source[s] = tokens[j].source
    verdicts: list[Verdict] = []
    for s in range(len(sentences)):
        verdict = sentence_verdict(expected[s], heard_words[s], " ".join(heard_text[s]), normalizer.language,
                                   limits, quiet[s], set_aside_foreign)
        if s not in covered and verdict.status != "unverified":
            verdict = unverified("no hearing window held this sentence", len(expected[s]))
        verdicts.append(verdict)
    return verdicts
